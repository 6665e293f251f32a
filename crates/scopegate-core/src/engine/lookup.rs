//! The world and manifest lookups of a decision, behind one trait ([`Lookups`]) so that the
//! one algorithm of `engine.rs` decides both from slugs ([`Slugs`]: each lookup made when
//! its step needs it, so a request stopped at the token gate never touches the world) and
//! from a [`Resolved`](super::Resolved) request (every lookup made beforehand by
//! [`Engine::resolve`](super::Engine::resolve)). Both answer every lookup with the same value
//! for the same request and world, so both decide alike (`tests/it/resolved.rs`).

use super::Engine;
use crate::manifest::Endpoint;
use crate::request::Request;
use crate::scope::ScopeSet;
use crate::world::{GranularState, Integration, Member, Org, Project, TeamIdx, User};

/// An object a request may name (organization, project, team), looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<T> {
    /// The request names none.
    Absent,
    /// The request names one that does not exist (in its organization).
    Unknown,
    /// The object.
    Found(T),
}

/// A membership as a decision reads it: the member's fields that decide, copied (a resolved
/// request holds them inline, not behind a pointer into the world), and the record itself,
/// read only by the trace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Membership<'a> {
    /// The member's record (the trace names its id and role).
    pub(crate) record: &'a Member,
    /// [`Member::scopes`].
    pub(crate) scopes: ScopeSet,
    /// [`Member::global`].
    pub(crate) global: bool,
    /// [`Member::member_limit_restricted`].
    pub(crate) restricted: bool,
    /// [`Member::sso_linked`].
    pub(crate) sso_linked: bool,
    /// [`Member::granular_listed`].
    pub(crate) listed: u64,
}

impl<'a> Membership<'a> {
    /// The membership of `m`.
    #[inline]
    pub(crate) fn of(m: &'a Member) -> Self {
        Membership {
            record: m,
            scopes: m.scopes,
            global: m.global,
            restricted: m.member_limit_restricted,
            sso_linked: m.sso_linked,
            listed: m.granular_listed,
        }
    }

    /// Whether the member is listed for granular kind `kind` ([`Member::is_listed`]).
    #[inline]
    pub(crate) fn is_listed(&self, kind: usize) -> bool {
        kind < 64 && self.listed & (1u64 << kind) != 0
    }
}

/// What member `m` holds on project `p` through its teams: whether one of its teams owns the
/// project, and the union of the team-role scopes of those teams.
#[inline]
pub(crate) fn project_teams(m: &Member, p: &Project) -> (bool, ScopeSet) {
    m.teams
        .iter()
        .filter(|(t, _)| p.teams.contains(t))
        .fold((false, ScopeSet::EMPTY), |(_, acc), (_, s)| {
            (true, acc.union(*s))
        })
}

/// Whose user record or membership a lookup is for: the request's principal, or an org
/// token's creator (the creator bound, `docs/decision.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// The request's principal.
    Principal,
    /// The creator of the request's org token.
    Creator,
}

/// The lookups a decision makes. Every method answers exactly what the world and manifest
/// hold for the request: [`Slugs`] asks them, a `Resolved` request answers from what it
/// holds.
pub(crate) trait Lookups<'a> {
    /// The request's endpoint.
    fn endpoint(&self) -> Option<&'a Endpoint>;
    /// The user record of `who` (user id `id`).
    fn user(&self, who: Who, id: u64) -> Option<User>;
    /// The integration with id `id` (the principal's).
    fn integration(&self, id: u64) -> Option<&'a Integration>;
    /// The organization the request names.
    fn org(&self) -> Named<&'a Org>;
    /// The project the request names, in `org` (the one [`Lookups::org`] found).
    fn project(&self, org: &'a Org) -> Named<&'a Project>;
    /// The team the request names, in `org` (the one [`Lookups::org`] found).
    fn team(&self, org: &'a Org) -> Named<TeamIdx>;
    /// The membership of `who` (user id `user`) in `org` (the one [`Lookups::org`] found).
    fn member(&self, who: Who, org: &'a Org, user: u64) -> Option<Membership<'a>>;
    /// [`project_teams`] of `who`'s membership `m` (the one [`Lookups::member`] gave) and
    /// the project [`Lookups::project`] found.
    fn project_teams(&self, who: Who, m: &Membership<'a>, p: &'a Project) -> (bool, ScopeSet);
    /// The team-role scopes of `who`'s membership `m` (the one [`Lookups::member`] gave) of
    /// the team [`Lookups::team`] found, if a member of it.
    fn team_scopes(&self, who: Who, m: &Membership<'a>, team: TeamIdx) -> Option<ScopeSet>;
    /// The state of granular kind `kind` (the endpoint's) in `org` (the one
    /// [`Lookups::org`] found).
    fn granular(&self, org: &'a Org, kind: usize) -> GranularState;
}

/// Lookups by the request's slugs and ids, each made when asked.
pub(crate) struct Slugs<'a, 'r> {
    pub(crate) engine: &'r Engine<'a>,
    pub(crate) request: &'r Request,
}

/// `slug` looked up with `find` when the request names it.
#[inline]
fn named<T>(slug: Option<&str>, find: impl FnOnce(&str) -> Option<T>) -> Named<T> {
    match slug {
        None => Named::Absent,
        Some(s) => find(s).map_or(Named::Unknown, Named::Found),
    }
}

impl<'a> Lookups<'a> for Slugs<'a, '_> {
    #[inline]
    fn endpoint(&self) -> Option<&'a Endpoint> {
        let manifest = self.engine.manifest;
        manifest
            .endpoint_id(&self.request.endpoint)
            .and_then(|id| manifest.endpoint(id))
    }

    #[inline]
    fn user(&self, _: Who, id: u64) -> Option<User> {
        self.engine.world.user(id).copied()
    }

    #[inline]
    fn integration(&self, id: u64) -> Option<&'a Integration> {
        self.engine.world.integration(id)
    }

    #[inline]
    fn org(&self) -> Named<&'a Org> {
        let world = self.engine.world;
        named(self.request.organization.as_deref(), |s| {
            world.org_by_slug(s)
        })
    }

    #[inline]
    fn project(&self, org: &'a Org) -> Named<&'a Project> {
        let world = self.engine.world;
        named(self.request.project.as_deref(), |s| {
            world.project_by_slug(org, s).map(|(_, p)| p)
        })
    }

    #[inline]
    fn team(&self, org: &'a Org) -> Named<TeamIdx> {
        let world = self.engine.world;
        named(self.request.team.as_deref(), |s| {
            world.team_by_slug(org, s).map(|(idx, _)| idx)
        })
    }

    #[inline]
    fn member(&self, _: Who, org: &'a Org, user: u64) -> Option<Membership<'a>> {
        self.engine.world.member(org, user).map(Membership::of)
    }

    #[inline]
    fn project_teams(&self, _: Who, m: &Membership<'a>, p: &'a Project) -> (bool, ScopeSet) {
        project_teams(m.record, p)
    }

    #[inline]
    fn team_scopes(&self, _: Who, m: &Membership<'a>, team: TeamIdx) -> Option<ScopeSet> {
        m.record.team_scopes(team)
    }

    #[inline]
    fn granular(&self, org: &'a Org, kind: usize) -> GranularState {
        org.granular.get(kind).copied().unwrap_or_default()
    }
}
