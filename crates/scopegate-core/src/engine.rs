//! The decision algorithm (docs/decision.md).
//!
//! # What this module guarantees
//!
//! - **Deny by default.** Every path that does not end in an explicit allow denies; an
//!   unknown endpoint, organization, project, team, user or integration never grants.
//! - **Steps in order.** `OPTIONS`, authentication, the token gate (every class), object
//!   lookup, access and member state, the object check (every class), the granular guard.
//!   The first step that stops decides the reason.
//! - **No allocation on the decision path.** Scopes are bit sets; the world index was built
//!   beforehand. The explain trace is produced only through a [`Tracer`] that records.
//!
//! - **One algorithm, two ways in.** [`Engine::decide`] looks the request's slugs up as its
//!   steps need them; [`Engine::resolve`] makes every lookup once and
//!   [`Engine::decide_resolved`] decides the [`Resolved`] request from what it holds, for
//!   callers that decide one request repeatedly. Both run the same steps over the
//!   `lookup::Lookups` interface, so they give the same decision; a `Resolved` decided over
//!   another world is decided from its slugs again (`engine/resolved.rs`).
//!
//! The semantics are pinned, step by step, in `docs/decision.md`; the test suite holds a
//! naive reference implementation written from that page and compares the two on random
//! worlds.
//!
//! - `engine/lookup.rs` — the lookups a decision makes, from slugs.
//! - `engine/resolved.rs` — [`Resolved`], [`Engine::resolve`], [`Engine::decide_resolved`].
//! - `engine/access.rs` — step 4, access and member state.
//! - `engine/guard.rs` — step 6, the granular guard.

use crate::decision::{Decision, Grant, GrantPath, Reason, TraceStep};
use crate::manifest::{Class, Manifest, ObjectKind};
use crate::method::Method;
use crate::policy::Policy;
use crate::request::{Principal, Request};
use crate::scope::ScopeSet;
use crate::world::{Member, Org, Project, TeamIdx, World};

mod access;
mod guard;
mod lookup;
mod resolved;

use lookup::{Lookups, Membership, Named, Slugs, Who};
pub use resolved::Resolved;

/// Receives the steps of a decision. The no-op [`NoTrace`] compiles away.
pub trait Tracer {
    /// Whether details should be computed at all.
    const ENABLED: bool;
    /// Records a step; `detail` is called only when enabled.
    fn step(&mut self, step: &'static str, pass: bool, detail: impl FnOnce() -> String);
}

/// A tracer that records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn step(&mut self, _: &'static str, _: bool, _: impl FnOnce() -> String) {}
}

/// A tracer that records every step, for `explain`.
#[derive(Debug, Default, Clone)]
pub struct Trace(pub Vec<TraceStep>);

impl Tracer for Trace {
    const ENABLED: bool = true;
    fn step(&mut self, step: &'static str, pass: bool, detail: impl FnOnce() -> String) {
        self.0.push(TraceStep {
            step: step.to_string(),
            outcome: if pass { "pass" } else { "stop" }.to_string(),
            detail: detail(),
        });
    }
}

/// Decides requests against one policy, manifest and world.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The endpoint manifest, compiled against the policy.
    pub manifest: &'a Manifest,
    /// The world index, built against the policy.
    pub world: &'a World,
}

/// What the caller holds in the target organization (step 4).
struct Access<'w> {
    /// Scopes valid everywhere in the organization (global reach): tokens, integrations,
    /// superusers, the system.
    global_scopes: ScopeSet,
    /// The grant path of `global_scopes`.
    global_path: GrantPath,
    /// The membership, for sessions and user tokens.
    member: Option<Membership<'w>>,
    /// Upper bound on the member's scopes (a user token's scopes; all otherwise).
    bound: ScopeSet,
    /// Active staff.
    staff: bool,
    /// A read-only superuser on an unsafe method.
    superuser_read_only_unsafe: bool,
    /// Whether the principal is user-backed (session or user token).
    user_backed: bool,
}

/// The result of one class's object check.
enum ClassOutcome {
    Pass(Option<GrantPath>),
    Fail(Reason, ScopeSet),
}

impl<'a> Engine<'a> {
    /// Creates an engine over compiled parts (all built against `policy`).
    pub fn new(policy: &'a Policy, manifest: &'a Manifest, world: &'a World) -> Self {
        Self {
            policy,
            manifest,
            world,
        }
    }

    /// Decides `request`.
    #[inline]
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_traced(request, &mut NoTrace)
    }

    /// Decides `request` and returns the steps taken.
    pub fn explain(&self, request: &Request) -> (Decision, Vec<TraceStep>) {
        let mut trace = Trace::default();
        let d = self.decide_traced(request, &mut trace);
        let reason = d.reason.as_str();
        trace.step("decision", d.allowed(), || {
            format!("{reason} ({})", d.status())
        });
        (d, trace.0)
    }

    /// Decides `request`, reporting each step to `t`.
    pub fn decide_traced<T: Tracer>(&self, request: &Request, t: &mut T) -> Decision {
        let slugs = Slugs {
            engine: self,
            request,
        };
        self.decide_with(request, &slugs, t)
    }

    /// Decides `request` with its lookups answered by `l` (the slugs, or a [`Resolved`]
    /// request: the one algorithm for both).
    #[inline]
    fn decide_with<T: Tracer, L: Lookups<'a>>(
        &self,
        request: &Request,
        l: &L,
        t: &mut T,
    ) -> Decision {
        let decision = self.decide_as(request, &request.principal, Who::Principal, l, t);
        let Principal::OrgToken {
            creator: Some(user),
            ..
        } = &request.principal
        else {
            return decision;
        };
        if !decision.allowed() || request.method == Method::Options {
            return decision;
        }
        // 7. Creator bound: the creator's own access, on the personal-token path with every
        // scope (no allocation: the organization binding is `None`).
        let creator = Principal::UserToken {
            user: *user,
            scopes: self.policy.scopes.all(),
            organization: None,
        };
        let bound = self.decide_as(request, &creator, Who::Creator, l, &mut NoTrace);
        if bound.allowed() {
            t.step("creator_bound", true, || {
                format!("the token's creator, user {user}, is allowed the same request")
            });
            decision
        } else {
            t.step("creator_bound", false, || {
                format!(
                    "the token's creator, user {user}, is denied the same request: {}",
                    bound.reason.as_str()
                )
            });
            Decision::deny(Reason::CreatorDenied)
        }
    }

    /// Steps 0–6 and the allow of `docs/decision.md` for `principal` (the request's own, or
    /// an org token's creator: `who`), its lookups answered by `l`.
    fn decide_as<T: Tracer, L: Lookups<'a>>(
        &self,
        request: &Request,
        principal: &Principal,
        who: Who,
        l: &L,
        t: &mut T,
    ) -> Decision {
        let names = |set: ScopeSet| self.policy.scopes.sorted_names(set).join(", ");
        let method = request.method;

        // The endpoint.
        let Some(endpoint) = l.endpoint() else {
            t.step("endpoint", false, || {
                format!("no endpoint `{}` in the manifest", request.endpoint)
            });
            return Decision::deny(Reason::NotFound);
        };
        t.step("endpoint", true, || {
            format!(
                "`{}` guarded by {} permission class(es)",
                endpoint.name,
                endpoint.classes.len()
            )
        });

        // 1. OPTIONS is allowed before any check.
        if method == Method::Options {
            t.step("preflight", true, || {
                "OPTIONS is allowed before any check".into()
            });
            return Decision::allow(Grant {
                path: GrantPath::Preflight,
                granular: None,
            });
        }

        // 2. Authentication.
        let authenticated = match principal {
            Principal::Anonymous => false,
            Principal::Session { user, .. } | Principal::UserToken { user, .. } => {
                l.user(who, *user).is_some()
            }
            Principal::Integration { integration } => l.integration(*integration).is_some(),
            Principal::OrgToken { .. } | Principal::ApiKey { .. } | Principal::System => true,
        };
        if !authenticated {
            t.step("authentication", false, || {
                "no credential, or one naming an unknown user or integration".into()
            });
            return Decision::deny(Reason::Unauthenticated);
        }
        if let Principal::UserToken {
            organization: Some(bound),
            ..
        } = principal
        {
            if request.organization.as_deref() != Some(bound.as_str()) {
                t.step("authentication", false, || {
                    format!(
                        "the token is bound to organization `{bound}`, the request names {:?}",
                        request.organization
                    )
                });
                return Decision::deny(Reason::TokenOrganizationMismatch);
            }
        }
        t.step("authentication", true, || "credential accepted".into());

        // 3. Token gate, per class.
        let token_scopes = match principal {
            Principal::UserToken { scopes, .. }
            | Principal::OrgToken { scopes, .. }
            | Principal::ApiKey { scopes, .. } => Some(*scopes),
            Principal::Integration { integration } => l.integration(*integration).map(|i| i.scopes),
            _ => None,
        };
        let classes = || {
            endpoint
                .classes
                .iter()
                .filter_map(|c| self.manifest.class(*c))
        };
        if let Some(held) = token_scopes {
            for class in classes() {
                let map = class.scopes_for(method);
                if !held.intersects(map) {
                    t.step("token_gate", false, || {
                        format!(
                            "`{}` maps {method} to [{}]; the token holds none of them",
                            class.name,
                            names(map)
                        )
                    });
                    return Decision {
                        reason: Reason::InsufficientScope,
                        grant: None,
                        missing_scopes: map,
                        challenge: Some(map),
                    };
                }
            }
            t.step("token_gate", true, || {
                "a token scope is in every class's scope map".into()
            });
        } else {
            t.step("token_gate", true, || {
                "no token: the gate admits authenticated callers".into()
            });
        }

        // Objects named by the request, resolved after the gate.
        let needs_org =
            endpoint.granular.is_some() || classes().any(|c| c.object != ObjectKind::None);
        let org = match l.org() {
            Named::Found(o) => Some(o),
            Named::Unknown => {
                t.step("objects", false, || {
                    format!(
                        "no organization `{}`",
                        request.organization.as_deref().unwrap_or_default()
                    )
                });
                return Decision::deny(Reason::NotFound);
            }
            Named::Absent if needs_org => {
                t.step("objects", false, || {
                    "the endpoint needs an organization and the request names none".into()
                });
                return Decision::deny(Reason::NotFound);
            }
            Named::Absent => None,
        };
        let project = match self.lookup_project(
            request,
            org,
            l,
            classes().any(|c| c.object == ObjectKind::Project),
        ) {
            Ok(p) => p,
            Err(why) => {
                t.step("objects", false, || why);
                return Decision::deny(Reason::NotFound);
            }
        };
        let team = match (request.team.as_deref(), org) {
            (Some(slug), Some(o)) => match l.team(o) {
                Named::Found(idx) => Some(idx),
                Named::Absent | Named::Unknown => {
                    t.step("objects", false, || {
                        format!("no team `{slug}` in `{}`", o.slug)
                    });
                    return Decision::deny(Reason::NotFound);
                }
            },
            (Some(slug), None) => {
                t.step("objects", false, || {
                    format!("team `{slug}` named without an organization")
                });
                return Decision::deny(Reason::NotFound);
            }
            (None, _) if classes().any(|c| c.object == ObjectKind::Team) => {
                t.step("objects", false, || {
                    "a team class guards the endpoint and the request names no team".into()
                });
                return Decision::deny(Reason::NotFound);
            }
            (None, _) => None,
        };
        t.step("objects", true, || "every named object exists".into());

        // 4. Access.
        let access = match self.access(principal, who, method, org, l, t) {
            Ok(a) => a,
            Err(reason) => return Decision::deny(reason),
        };

        // 5. Object check per class.
        let mut grant_path: Option<GrantPath> = None;
        for class in classes() {
            match self.check_class(class, method, &access, who, l, org, project, team) {
                ClassOutcome::Pass(path) => {
                    t.step("object_check", true, || {
                        format!(
                            "`{}` ({}) admits via {}",
                            class.name,
                            class.object.as_str(),
                            path.map_or("authentication", GrantPath::as_str)
                        )
                    });
                    grant_path = grant_path.max(path);
                }
                ClassOutcome::Fail(reason, missing) => {
                    t.step("object_check", false, || {
                        format!(
                            "`{}` ({}) maps {method} to [{}]: {}",
                            class.name,
                            class.object.as_str(),
                            names(class.scopes_for(method)),
                            reason.as_str()
                        )
                    });
                    return Decision {
                        reason,
                        grant: None,
                        missing_scopes: missing,
                        challenge: None,
                    };
                }
            }
        }
        let path = grant_path.unwrap_or(match principal {
            Principal::OrgToken { .. } => GrantPath::OrgToken,
            Principal::ApiKey { .. } => GrantPath::ApiKey,
            Principal::Integration { .. } => GrantPath::Integration,
            Principal::System => GrantPath::System,
            _ => GrantPath::Authenticated,
        });

        // 6. Granular guard.
        let granular = match (endpoint.granular, org) {
            (Some(kind), Some(o)) => match self.granular(kind, principal, method, o, &access, l, t)
            {
                Some(g) => Some(g),
                None => return Decision::deny(Reason::GranularAccessDenied),
            },
            _ => None,
        };

        // 7. Allow.
        Decision::allow(Grant { path, granular })
    }

    fn lookup_project<L: Lookups<'a>>(
        &self,
        request: &Request,
        org: Option<&'a Org>,
        l: &L,
        required: bool,
    ) -> Result<Option<&'a Project>, String> {
        match (request.project.as_deref(), org) {
            (Some(slug), Some(o)) => match l.project(o) {
                Named::Found(p) if p.active => Ok(Some(p)),
                Named::Found(_) => Err(format!("project `{slug}` is inactive")),
                Named::Absent | Named::Unknown => {
                    Err(format!("no project `{slug}` in `{}`", o.slug))
                }
            },
            (Some(slug), None) => Err(format!("project `{slug}` named without an organization")),
            (None, _) if required => {
                Err("a project class guards the endpoint and the request names no project".into())
            }
            (None, _) => Ok(None),
        }
    }

    fn role_id(&self, m: &Member) -> &str {
        self.policy
            .org_roles
            .get(m.role)
            .map_or("?", |r| r.id.as_str())
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the decision's state, passed down"
    )]
    fn check_class<L: Lookups<'a>>(
        &self,
        class: &Class,
        method: Method,
        a: &Access<'a>,
        who: Who,
        l: &L,
        org: Option<&Org>,
        project: Option<&'a Project>,
        team: Option<TeamIdx>,
    ) -> ClassOutcome {
        let map = class.scopes_for(method);
        if class.object == ObjectKind::None {
            return ClassOutcome::Pass(None);
        }
        let member_scopes = a
            .member
            .map_or(ScopeSet::EMPTY, |m| m.scopes.intersection(a.bound));
        let member_reach = |reachable: bool| a.member.is_some() && reachable;
        let open = org.is_some_and(|o| o.open_membership);
        let outcome = match class.object {
            ObjectKind::Organization => {
                if member_scopes.intersects(map) {
                    Some(GrantPath::RoleScope)
                } else {
                    None
                }
            }
            ObjectKind::Project => {
                let (by_team, team_scopes) = match (&a.member, project) {
                    (Some(m), Some(p)) => l.project_teams(who, m, p),
                    _ => (false, ScopeSet::EMPTY),
                };
                let reachable = match (&a.member, project) {
                    (Some(m), Some(_)) => m.global || open || by_team,
                    _ => false,
                };
                if member_reach(reachable) && member_scopes.intersects(map) {
                    Some(GrantPath::RoleScope)
                } else if a.member.is_some() && project.is_some() {
                    team_scopes
                        .intersection(a.bound)
                        .intersects(map)
                        .then_some(GrantPath::TeamRoleScope)
                } else {
                    None
                }
            }
            ObjectKind::Team => {
                let membership = match (&a.member, team) {
                    (Some(m), Some(t)) => l.team_scopes(who, m, t),
                    _ => None,
                };
                let reachable = a.member.is_some_and(|m| m.global || open) || membership.is_some();
                if member_reach(reachable) && member_scopes.intersects(map) {
                    Some(GrantPath::RoleScope)
                } else if membership.is_some_and(|s| s.intersection(a.bound).intersects(map)) {
                    Some(GrantPath::TeamRoleScope)
                } else {
                    None
                }
            }
            ObjectKind::None => None,
        };
        if let Some(path) = outcome {
            return ClassOutcome::Pass(Some(path));
        }
        if a.global_scopes.intersects(map) {
            return ClassOutcome::Pass(Some(a.global_path));
        }
        if class.allow_staff && a.staff {
            return ClassOutcome::Pass(Some(GrantPath::Staff));
        }
        let reason = if a.superuser_read_only_unsafe {
            Reason::SuperuserReadOnly
        } else if a.user_backed && a.member.is_none() {
            Reason::NotAMember
        } else if member_scopes.intersects(map) && class.object == ObjectKind::Project {
            Reason::NoProjectAccess
        } else if member_scopes.intersects(map) && class.object == ObjectKind::Team {
            Reason::NoTeamAccess
        } else {
            Reason::MissingScope
        };
        let missing = if reason == Reason::MissingScope {
            map
        } else {
            ScopeSet::EMPTY
        };
        ClassOutcome::Fail(reason, missing)
    }
}
