//! The resolved-request API: [`Engine::resolve`] makes every world and manifest lookup of a
//! request once ([`Resolved`]); [`Engine::decide_resolved`] then decides it from what it
//! holds, as often as asked, with exactly the decision [`Engine::decide`] gives the request
//! (the same algorithm runs over either, `docs/decision.md` "Resolved requests").
//!
//! A [`Resolved`] borrows the world, manifest and policy it was resolved against, so it
//! cannot outlive them; and it remembers them, so that deciding it with an engine over
//! another world (a later snapshot of the index, say) never answers from stale lookups: that
//! engine decides the request's slugs again ([`Resolved::is_for`]).

use super::lookup::{Lookups, Membership, Named, Slugs, Who};
use super::{Engine, NoTrace};
use crate::decision::Decision;
use crate::manifest::Endpoint;
use crate::request::{Principal, Request};
use crate::scope::ScopeSet;
use crate::world::{GranularState, Integration, Org, Project, TeamIdx, User};

/// A request with its lookups made ([`Engine::resolve`]): its endpoint, its principal's
/// user record or integration, the organization, project and team it names, the
/// principal's membership there, and for an org token with a creator the creator's user
/// record and membership. A name the world does not hold is kept as such (an unknown
/// organization, say), so the decision is the one the slugs would give.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The engine it was resolved by (its world, manifest and policy).
    engine: Engine<'a>,
    /// The request.
    request: &'a Request,
    endpoint: Option<&'a Endpoint>,
    integration: Option<&'a Integration>,
    org: Named<&'a Org>,
    project: Named<&'a Project>,
    team: Named<TeamIdx>,
    /// The organization's state of the endpoint's granular kind.
    granular: GranularState,
    /// The user the decision reads: the principal's (sessions and user tokens) or the
    /// creator's (an org token with a creator); never both (`Who` tells which is asked).
    person: Person<'a>,
}

/// A user's record and membership in the organization the request names, and what the
/// membership holds on the project and team the request names.
#[derive(Debug, Clone, Copy, Default)]
struct Person<'a> {
    user: Option<User>,
    member: Option<Membership<'a>>,
    /// [`project_teams`](super::lookup::project_teams) of the membership and the project.
    project_teams: (bool, ScopeSet),
    /// The membership's team-role scopes of the team, if a member of it.
    team_scopes: Option<ScopeSet>,
}

impl<'a> Resolved<'a> {
    /// The request it resolves.
    pub fn request(&self) -> &'a Request {
        self.request
    }

    /// Whether `engine` decides over the world, manifest and policy this was resolved
    /// against (the same values, by address): only then does
    /// [`Engine::decide_resolved`] read its lookups.
    pub fn is_for(&self, engine: &Engine<'_>) -> bool {
        std::ptr::eq(self.engine.world, engine.world)
            && std::ptr::eq(self.engine.manifest, engine.manifest)
            && std::ptr::eq(self.engine.policy, engine.policy)
    }

    /// The user `who` names: a request has a principal user or a creator, never both.
    #[inline]
    fn person(&self, _: Who) -> &Person<'a> {
        &self.person
    }
}

impl<'a> Lookups<'a> for Resolved<'a> {
    #[inline]
    fn endpoint(&self) -> Option<&'a Endpoint> {
        self.endpoint
    }

    #[inline]
    fn user(&self, who: Who, _: u64) -> Option<User> {
        self.person(who).user
    }

    #[inline]
    fn integration(&self, _: u64) -> Option<&'a Integration> {
        self.integration
    }

    #[inline]
    fn org(&self) -> Named<&'a Org> {
        self.org
    }

    #[inline]
    fn project(&self, _: &'a Org) -> Named<&'a Project> {
        self.project
    }

    #[inline]
    fn team(&self, _: &'a Org) -> Named<TeamIdx> {
        self.team
    }

    #[inline]
    fn member(&self, who: Who, _: &'a Org, _: u64) -> Option<Membership<'a>> {
        self.person(who).member
    }

    #[inline]
    fn project_teams(&self, who: Who, _: &Membership<'a>, _: &'a Project) -> (bool, ScopeSet) {
        self.person(who).project_teams
    }

    #[inline]
    fn team_scopes(&self, who: Who, _: &Membership<'a>, _: TeamIdx) -> Option<ScopeSet> {
        self.person(who).team_scopes
    }

    #[inline]
    fn granular(&self, _: &'a Org, _: usize) -> GranularState {
        self.granular
    }
}

impl<'a> Engine<'a> {
    /// Makes every lookup `request` can need, once: deciding the result
    /// ([`Engine::decide_resolved`]) gives exactly [`Engine::decide`]'s decision, without
    /// a hash lookup. For callers that decide one request repeatedly; a request decided once
    /// is cheaper through [`Engine::decide`], which looks up only what its steps reach.
    pub fn resolve<'r>(&self, request: &'r Request) -> Resolved<'r>
    where
        'a: 'r,
    {
        let engine: Engine<'r> = *self;
        let slugs = Slugs {
            engine: &engine,
            request,
        };
        let org = slugs.org();
        let found = match org {
            Named::Found(o) => Some(o),
            Named::Absent | Named::Unknown => None,
        };
        let project = found.map_or(Named::Absent, |o| slugs.project(o));
        let team = found.map_or(Named::Absent, |o| slugs.team(o));
        let endpoint = slugs.endpoint();
        let person = |who: Who, id: u64| {
            let member = found.and_then(|o| slugs.member(who, o, id));
            Person {
                user: slugs.user(who, id),
                member,
                project_teams: match (&member, project) {
                    (Some(m), Named::Found(p)) => slugs.project_teams(who, m, p),
                    _ => (false, ScopeSet::EMPTY),
                },
                team_scopes: match (&member, team) {
                    (Some(m), Named::Found(t)) => slugs.team_scopes(who, m, t),
                    _ => None,
                },
            }
        };
        let (person, integration) = match &request.principal {
            Principal::Session { user, .. } | Principal::UserToken { user, .. } => {
                (person(Who::Principal, *user), None)
            }
            Principal::OrgToken {
                creator: Some(user),
                ..
            } => (person(Who::Creator, *user), None),
            Principal::Integration { integration } => {
                (Person::default(), slugs.integration(*integration))
            }
            Principal::Anonymous
            | Principal::OrgToken { creator: None, .. }
            | Principal::ApiKey { .. }
            | Principal::System => (Person::default(), None),
        };
        Resolved {
            engine,
            request,
            endpoint,
            integration,
            org,
            project,
            team,
            granular: match (found, endpoint.and_then(|e| e.granular)) {
                (Some(o), Some(kind)) => slugs.granular(o, kind),
                _ => GranularState::default(),
            },
            person,
        }
    }

    /// Decides a request resolved by [`Engine::resolve`]: exactly the decision
    /// [`Engine::decide`] gives [`Resolved::request`]. A `resolved` made against another
    /// world, manifest or policy ([`Resolved::is_for`] false) is not read: its request is
    /// decided from its slugs over this engine's world.
    #[inline]
    pub fn decide_resolved<'r>(&self, resolved: &Resolved<'r>) -> Decision
    where
        'a: 'r,
    {
        if !resolved.is_for(self) {
            return self.decide(resolved.request);
        }
        let engine: Engine<'r> = *self;
        engine.decide_with(resolved.request, resolved, &mut NoTrace)
    }
}
