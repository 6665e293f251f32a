//! The floor: the fastest code we could write that decides exactly the compared requests,
//! with no generality (one manifest shape, one policy, one organization model, fixed at
//! build time), to show how close the engine is to the limit.
//!
//! Built from the same plain facts as the peers ([`Facts`]), not from scopegate's index.
//! Everything that does not depend on the request is computed once: scopes are bits of a
//! `u64`, each organization keeps its roles' and team roles' scopes after option trimming
//! as arrays indexed by role number, a member is one small record with its teams inline
//! and its replay listing (direct or through a team) folded into one flag, a project is
//! its owning teams inline. A request is resolved once to dense ids ([`FloorRequest`]);
//! [`Floor::decide`] then reads one member record, one organization record, one project
//! record and one action record. [`Floor::resolve`] is the slug → id step (hash maps),
//! timed separately so that both "decide from resolved ids" and "resolve + decide" can be
//! compared with scopegate.

use std::collections::HashMap;

use anyhow::Context as _;

use crate::facts::{Facts, Object, PeerRequest};

/// A decision of the floor, in scopegate's reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorReason {
    /// Allowed.
    Allowed,
    /// Token gate.
    InsufficientScope,
    /// Not a member of the organization called.
    NotAMember,
    /// Disabled over the member limit.
    MemberDisabledOverLimit,
    /// No mapped scope held.
    MissingScope,
    /// Scopes held, project out of reach.
    NoProjectAccess,
    /// The replay allowlist.
    GranularAccessDenied,
}

impl FloorReason {
    /// scopegate's code for the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            FloorReason::Allowed => "allowed",
            FloorReason::InsufficientScope => "insufficient_scope",
            FloorReason::NotAMember => "not_a_member",
            FloorReason::MemberDisabledOverLimit => "member_disabled_over_limit",
            FloorReason::MissingScope => "missing_scope",
            FloorReason::NoProjectAccess => "no_project_access",
            FloorReason::GranularAccessDenied => "granular_access_denied",
        }
    }
}

/// No team role (team-roles feature off), or no member.
const NONE: u32 = u32::MAX;
/// At most this many teams per member and owning teams per project, inline.
const INLINE: usize = 4;

#[derive(Debug, Clone)]
struct FloorOrg {
    roles: Vec<u64>,
    team_roles: Vec<u64>,
    replay_enforced: bool,
    replay_nonempty: bool,
}

#[derive(Debug, Clone, Copy)]
struct FloorMember {
    role: u32,
    global: bool,
    restricted: bool,
    replay_listed: bool,
    n_teams: u8,
    teams: [u32; INLINE],
    team_roles: [u32; INLINE],
}

#[derive(Debug, Clone, Copy)]
struct FloorProject {
    n_owners: u8,
    owners: [u32; INLINE],
}

#[derive(Debug, Clone, Copy)]
struct FloorAction {
    scopes: u64,
    project: bool,
    granular: bool,
}

/// A request resolved to dense ids.
#[derive(Debug, Clone, Copy)]
pub struct FloorRequest {
    org: u32,
    member: u32,
    action: u32,
    project: u32,
    /// The token's scopes; `None` for a session.
    token: Option<u64>,
}

/// The floor's data.
#[derive(Debug, Clone)]
pub struct Floor {
    orgs: Vec<FloorOrg>,
    members: Vec<FloorMember>,
    projects: Vec<FloorProject>,
    actions: Vec<FloorAction>,
    scope_bit: HashMap<String, u64>,
    org_ids: HashMap<String, u32>,
    member_ids: HashMap<(u32, u64), u32>,
    project_ids: HashMap<(u32, String), u32>,
    action_ids: HashMap<String, u32>,
}

fn inline<const N: usize>(items: &[u32]) -> anyhow::Result<[u32; N]> {
    let mut out = [NONE; N];
    anyhow::ensure!(items.len() <= N, "more than {N} inline items");
    for (slot, v) in out.iter_mut().zip(items) {
        *slot = *v;
    }
    Ok(out)
}

impl Floor {
    /// Builds the floor's tables from `facts`.
    pub fn new(facts: &Facts) -> anyhow::Result<Floor> {
        anyhow::ensure!(facts.all_scopes.len() <= 64, "more than 64 scopes");
        let scope_bit: HashMap<String, u64> = facts
            .all_scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), 1u64 << i))
            .collect();
        let bits = |scopes: &[String]| {
            scopes
                .iter()
                .filter_map(|s| scope_bit.get(s))
                .fold(0u64, |a, b| a | b)
        };
        let mut role_ids: HashMap<String, u32> = HashMap::new();
        let mut team_role_ids: HashMap<String, u32> = HashMap::new();
        for o in facts.orgs.values() {
            for r in o.roles.keys() {
                let n = role_ids.len() as u32;
                role_ids.entry(r.clone()).or_insert(n);
            }
            for r in o.team_roles.keys() {
                let n = team_role_ids.len() as u32;
                team_role_ids.entry(r.clone()).or_insert(n);
            }
        }
        let mut floor = Floor {
            orgs: Vec::new(),
            members: Vec::new(),
            projects: Vec::new(),
            actions: Vec::new(),
            scope_bit: HashMap::new(),
            org_ids: HashMap::new(),
            member_ids: HashMap::new(),
            project_ids: HashMap::new(),
            action_ids: HashMap::new(),
        };
        let mut team_ids: HashMap<(u32, &str), u32> = HashMap::new();
        for (slug, o) in &facts.orgs {
            let org = floor.orgs.len() as u32;
            floor.org_ids.insert(slug.clone(), org);
            let mut roles = vec![0u64; role_ids.len()];
            for (r, s) in &o.roles {
                if let Some(slot) = role_ids.get(r).and_then(|i| roles.get_mut(*i as usize)) {
                    *slot = bits(s);
                }
            }
            let mut team_roles = vec![0u64; team_role_ids.len()];
            for (r, s) in &o.team_roles {
                if let Some(slot) = team_role_ids
                    .get(r)
                    .and_then(|i| team_roles.get_mut(*i as usize))
                {
                    *slot = bits(s);
                }
            }
            floor.orgs.push(FloorOrg {
                roles,
                team_roles,
                replay_enforced: o.replay.enforced,
                replay_nonempty: o.replay.nonempty,
            });
            for t in &o.teams {
                let n = team_ids.len() as u32;
                team_ids.insert((org, t.as_str()), n);
            }
            for (p, owners) in &o.projects {
                let owners: Vec<u32> = owners
                    .iter()
                    .filter_map(|t| team_ids.get(&(org, t.as_str())).copied())
                    .collect();
                floor
                    .project_ids
                    .insert((org, p.clone()), floor.projects.len() as u32);
                floor.projects.push(FloorProject {
                    n_owners: owners.len() as u8,
                    owners: inline(&owners).context("project owners")?,
                });
            }
            for (user, m) in &o.members {
                let teams: Vec<u32> = m
                    .teams
                    .iter()
                    .filter_map(|(t, _)| team_ids.get(&(org, t.as_str())).copied())
                    .collect();
                let roles: Vec<u32> = m
                    .teams
                    .iter()
                    .map(|(_, r)| {
                        r.as_ref()
                            .and_then(|r| team_role_ids.get(r).copied())
                            .unwrap_or(NONE)
                    })
                    .collect();
                let listed_by_team = m.teams.iter().any(|(t, _)| o.replay.teams.contains(t));
                floor
                    .member_ids
                    .insert((org, *user), floor.members.len() as u32);
                floor.members.push(FloorMember {
                    role: *role_ids.get(&m.role).context("member role")?,
                    global: m.global,
                    restricted: m.restricted,
                    replay_listed: m.replay_listed || listed_by_team,
                    n_teams: teams.len() as u8,
                    teams: inline(&teams).context("member teams")?,
                    team_roles: inline(&roles).context("member team roles")?,
                });
            }
        }
        for a in facts.actions.values() {
            floor
                .action_ids
                .insert(a.id.clone(), floor.actions.len() as u32);
            floor.actions.push(FloorAction {
                scopes: bits(&a.scopes),
                project: a.object == Object::Project,
                granular: a.granular,
            });
        }
        floor.scope_bit = scope_bit;
        Ok(floor)
    }

    /// Resolves a request's slugs to dense ids (hash lookups; `None` for an unknown
    /// organization, action or project).
    pub fn resolve(&self, r: &PeerRequest) -> Option<FloorRequest> {
        let org = *self.org_ids.get(&r.org)?;
        let member = self.member_ids.get(&(org, r.user)).copied().unwrap_or(NONE);
        let action = *self.action_ids.get(&r.action)?;
        let project = match &r.project {
            Some(p) => *self.project_ids.get(&(org, p.clone()))?,
            None => NONE,
        };
        let token = r.token.as_ref().map(|t| {
            t.iter()
                .filter_map(|s| self.scope_bit.get(s))
                .fold(0u64, |a, b| a | b)
        });
        Some(FloorRequest {
            org,
            member,
            action,
            project,
            token,
        })
    }

    /// Decides a resolved request.
    #[inline]
    pub fn decide(&self, r: &FloorRequest) -> FloorReason {
        let Some(a) = self.actions.get(r.action as usize) else {
            return FloorReason::MissingScope;
        };
        let bound = match r.token {
            Some(t) if t & a.scopes == 0 => return FloorReason::InsufficientScope,
            Some(t) => t,
            None => u64::MAX,
        };
        let Some(m) = self.members.get(r.member as usize) else {
            return FloorReason::NotAMember;
        };
        if m.restricted {
            return FloorReason::MemberDisabledOverLimit;
        }
        let Some(o) = self.orgs.get(r.org as usize) else {
            return FloorReason::NotAMember;
        };
        let held = o.roles.get(m.role as usize).copied().unwrap_or(0) & bound & a.scopes;
        if a.project {
            let Some(p) = self.projects.get(r.project as usize) else {
                return FloorReason::MissingScope;
            };
            let mut reach = m.global;
            let mut team = 0u64;
            for (t, tr) in m
                .teams
                .iter()
                .zip(&m.team_roles)
                .take(usize::from(m.n_teams))
            {
                if p.owners
                    .iter()
                    .take(usize::from(p.n_owners))
                    .any(|o| o == t)
                {
                    reach = true;
                    team |= o.team_roles.get(*tr as usize).copied().unwrap_or(0);
                }
            }
            if !(reach && held != 0) && team & bound & a.scopes == 0 {
                return if held != 0 {
                    FloorReason::NoProjectAccess
                } else {
                    FloorReason::MissingScope
                };
            }
        } else if held == 0 {
            return FloorReason::MissingScope;
        }
        if a.granular && o.replay_enforced && !(o.replay_nonempty && m.replay_listed) {
            return FloorReason::GranularAccessDenied;
        }
        FloorReason::Allowed
    }
}
