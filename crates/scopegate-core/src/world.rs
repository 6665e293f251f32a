//! The world index: the data a decision reads, built once from a [`WorldDoc`] so that a
//! decision is a handful of hash lookups and bit operations.
//!
//! Everything that depends only on the world and the policy is computed here, not per
//! request: each member's role scopes after option trimming, its effective team-role scopes
//! per team (empty when the organization lacks the team-roles feature), its global reach,
//! and for each granular resource kind whether it is listed (directly or through a team)
//! and whether the organization's allowlist is empty.

use std::fmt;

use rustc_hash::FxHashMap;

use crate::policy::Policy;
use crate::scope::ScopeSet;
use crate::wire::WorldDoc;

/// Index of an organization in a [`World`].
pub type OrgIdx = u32;
/// Index of a team in a [`World`].
pub type TeamIdx = u32;
/// Index of a project in a [`World`].
pub type ProjectIdx = u32;
/// Index of a member in a [`World`].
pub type MemberIdx = u32;

/// The state of one granular resource kind in one organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GranularState {
    /// The resource's feature is enabled.
    pub feature: bool,
    /// The toggle option is on (enforcement active).
    pub toggle: bool,
    /// The allowlist has at least one entry (a member or a team).
    pub nonempty: bool,
}

/// An organization.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id.
    pub id: u64,
    /// Slug.
    pub slug: String,
    /// Open membership: every member reaches every team and project.
    pub open_membership: bool,
    /// 2FA required.
    pub require_2fa: bool,
    /// SSO required.
    pub require_sso: bool,
    /// The team-roles feature is on: team-role scopes count.
    pub team_roles: bool,
    /// Per granular resource kind of the policy, by index.
    pub granular: Vec<GranularState>,
    teams: FxHashMap<String, TeamIdx>,
    projects: FxHashMap<String, ProjectIdx>,
}

/// A member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Id.
    pub id: u64,
    /// The user; `None` for a pending invite.
    pub user: Option<u64>,
    /// The organization.
    pub org: OrgIdx,
    /// The org role (index into the policy's org roles).
    pub role: usize,
    /// The role's scopes after the organization's options trimmed them.
    pub scopes: ScopeSet,
    /// Reaches every team and project (global role or open membership).
    pub global: bool,
    /// Team memberships with the effective team-role scopes (empty without the feature).
    pub teams: Vec<(TeamIdx, ScopeSet)>,
    /// Disabled over the member limit.
    pub member_limit_restricted: bool,
    /// SSO identity linked.
    pub sso_linked: bool,
    /// Bit `k` set: listed for granular resource kind `k` (directly or through a team).
    pub granular_listed: u64,
}

impl Member {
    /// The team-role scopes of this member's membership of `team`, if a member of it.
    pub fn team_scopes(&self, team: TeamIdx) -> Option<ScopeSet> {
        self.teams.iter().find(|(t, _)| *t == team).map(|(_, s)| *s)
    }

    /// Whether the member is listed for granular kind `kind`.
    pub fn is_listed(&self, kind: usize) -> bool {
        kind < 64 && self.granular_listed & (1u64 << kind) != 0
    }
}

/// A team.
#[derive(Debug, Clone)]
pub struct Team {
    /// Id.
    pub id: u64,
    /// The organization.
    pub org: OrgIdx,
    /// Slug.
    pub slug: String,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: u64,
    /// The organization.
    pub org: OrgIdx,
    /// Slug.
    pub slug: String,
    /// Owning teams.
    pub teams: Vec<TeamIdx>,
    /// Active.
    pub active: bool,
}

/// An integration.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Id.
    pub id: u64,
    /// The app's scopes.
    pub scopes: ScopeSet,
    /// Organizations it is installed on.
    pub installed_on: Vec<OrgIdx>,
}

/// A user.
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Has two-factor authentication.
    pub has_2fa: bool,
}

/// A world index, built against one policy.
#[derive(Debug, Clone, Default)]
pub struct World {
    orgs: Vec<Org>,
    org_by_slug: FxHashMap<String, OrgIdx>,
    users: FxHashMap<u64, User>,
    members: Vec<Member>,
    member_by_user: FxHashMap<(OrgIdx, u64), MemberIdx>,
    teams: Vec<Team>,
    projects: Vec<Project>,
    integrations: FxHashMap<u64, Integration>,
}

/// A problem in a world document: where (a path such as `members[3]`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldError {
    /// Path of the offending entry, e.g. `members[3].role`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of a world document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct WorldErrors(pub Vec<WorldError>);

impl WorldErrors {
    /// One line for a log or an error message: the count, then the first `limit` problems
    /// (each `path: message`), then how many more there are:
    /// `2 problem(s): members[0].role: unknown org role `ghost`; teams[1].id: …`.
    pub fn summary(&self, limit: usize) -> String {
        let listed: Vec<String> = self.0.iter().take(limit).map(ToString::to_string).collect();
        let mut text = format!("{} problem(s): {}", self.0.len(), listed.join("; "));
        if self.0.len() > limit {
            text.push_str(&format!("; … and {} more", self.0.len() - limit));
        }
        text
    }
}

/// Python-style truthiness of a JSON option value (`null`, `false`, `0`, `""`, `[]`, `{}`
/// are false).
pub fn truthy(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl World {
    /// Builds the index, validating every reference; reports every problem.
    pub fn build(doc: &WorldDoc, policy: &Policy) -> Result<World, WorldErrors> {
        let mut errors = Vec::new();
        let mut err = |path: String, message: String| errors.push(WorldError { path, message });
        let mut w = World::default();
        let mut org_by_id: FxHashMap<u64, OrgIdx> = FxHashMap::default();

        for (i, o) in doc.organizations.iter().enumerate() {
            let idx = w.orgs.len() as OrgIdx;
            if org_by_id.insert(o.id, idx).is_some() {
                err(
                    format!("organizations[{i}].id"),
                    format!("duplicate organization id {}", o.id),
                );
            }
            if w.org_by_slug.insert(o.slug.clone(), idx).is_some() {
                err(
                    format!("organizations[{i}].slug"),
                    format!("duplicate organization slug `{}`", o.slug),
                );
            }
            let has = |f: &str| o.features.iter().any(|x| x == f);
            let granular = policy
                .granular_resources
                .iter()
                .map(|g| GranularState {
                    feature: g.enabled_by(&o.features),
                    toggle: o.options.get(&g.toggle_option).is_some_and(truthy),
                    nonempty: false,
                })
                .collect();
            w.orgs.push(Org {
                id: o.id,
                slug: o.slug.clone(),
                open_membership: o.open_membership,
                require_2fa: o.require_2fa,
                require_sso: o.require_sso,
                team_roles: has(&policy.team_roles_feature),
                granular,
                teams: FxHashMap::default(),
                projects: FxHashMap::default(),
            });
        }

        for (i, u) in doc.users.iter().enumerate() {
            if w.users
                .insert(
                    u.id,
                    User {
                        id: u.id,
                        has_2fa: u.has_2fa,
                    },
                )
                .is_some()
            {
                err(
                    format!("users[{i}].id"),
                    format!("duplicate user id {}", u.id),
                );
            }
        }

        let mut team_by_id: FxHashMap<u64, TeamIdx> = FxHashMap::default();
        for (i, t) in doc.teams.iter().enumerate() {
            let Some(&org) = org_by_id.get(&t.organization) else {
                err(
                    format!("teams[{i}].organization"),
                    format!("unknown organization id {}", t.organization),
                );
                continue;
            };
            let idx = w.teams.len() as TeamIdx;
            if team_by_id.insert(t.id, idx).is_some() {
                err(
                    format!("teams[{i}].id"),
                    format!("duplicate team id {}", t.id),
                );
            }
            if let Some(o) = w.orgs.get_mut(org as usize) {
                if o.teams.insert(t.slug.clone(), idx).is_some() {
                    err(
                        format!("teams[{i}].slug"),
                        format!(
                            "duplicate team slug `{}` in organization `{}`",
                            t.slug, o.slug
                        ),
                    );
                }
            }
            w.teams.push(Team {
                id: t.id,
                org,
                slug: t.slug.clone(),
            });
        }

        let mut project_ids: FxHashMap<u64, ProjectIdx> = FxHashMap::default();
        for (i, p) in doc.projects.iter().enumerate() {
            let Some(&org) = org_by_id.get(&p.organization) else {
                err(
                    format!("projects[{i}].organization"),
                    format!("unknown organization id {}", p.organization),
                );
                continue;
            };
            let idx = w.projects.len() as ProjectIdx;
            if project_ids.insert(p.id, idx).is_some() {
                err(
                    format!("projects[{i}].id"),
                    format!("duplicate project id {}", p.id),
                );
            }
            let mut teams = Vec::new();
            for (j, t) in p.teams.iter().enumerate() {
                match team_by_id.get(t) {
                    Some(&ti) if w.teams.get(ti as usize).is_some_and(|x| x.org == org) => {
                        teams.push(ti)
                    }
                    Some(_) => err(
                        format!("projects[{i}].teams[{j}]"),
                        format!("team {t} belongs to another organization"),
                    ),
                    None => err(
                        format!("projects[{i}].teams[{j}]"),
                        format!("unknown team id {t}"),
                    ),
                }
            }
            if let Some(o) = w.orgs.get_mut(org as usize) {
                if o.projects.insert(p.slug.clone(), idx).is_some() {
                    err(
                        format!("projects[{i}].slug"),
                        format!(
                            "duplicate project slug `{}` in organization `{}`",
                            p.slug, o.slug
                        ),
                    );
                }
            }
            w.projects.push(Project {
                id: p.id,
                org,
                slug: p.slug.clone(),
                teams,
                active: p.active,
            });
        }

        let mut member_by_id: FxHashMap<u64, MemberIdx> = FxHashMap::default();
        for (i, m) in doc.members.iter().enumerate() {
            let Some(&org_idx) = org_by_id.get(&m.organization) else {
                err(
                    format!("members[{i}].organization"),
                    format!("unknown organization id {}", m.organization),
                );
                continue;
            };
            let Some((role, role_def)) = policy.org_role(&m.role) else {
                err(
                    format!("members[{i}].role"),
                    format!("unknown org role `{}`", m.role),
                );
                continue;
            };
            // Organizations are indexed in document order, so `org_idx` is also the doc's index.
            let org_doc = doc.organizations.get(org_idx as usize);
            let option = |key: &str| org_doc.and_then(|o| o.options.get(key)).map(truthy);
            let scopes = policy.trim_scopes(role_def.scopes, option);
            let org = w.orgs.get(org_idx as usize);
            let team_roles_on = org.is_some_and(|o| o.team_roles);
            let minimum = policy.minimum_team_role(role);
            let mut teams = Vec::new();
            for (j, mt) in m.teams.iter().enumerate() {
                let Some(&ti) = team_by_id.get(&mt.team) else {
                    err(
                        format!("members[{i}].teams[{j}].team"),
                        format!("unknown team id {}", mt.team),
                    );
                    continue;
                };
                if w.teams.get(ti as usize).is_some_and(|t| t.org != org_idx) {
                    err(
                        format!("members[{i}].teams[{j}].team"),
                        format!("team {} belongs to another organization", mt.team),
                    );
                    continue;
                }
                let explicit = match &mt.role {
                    Some(r) => match policy.team_role(r) {
                        Some((idx, _)) => Some(idx),
                        None => {
                            err(
                                format!("members[{i}].teams[{j}].role"),
                                format!("unknown team role `{r}`"),
                            );
                            continue;
                        }
                    },
                    None => None,
                };
                // Effective team role: the minimum for the org role, raised to the explicit
                // role only when the team-roles feature is on and the explicit one is higher.
                let effective = match (minimum, explicit) {
                    (Some(min), Some(ex)) if team_roles_on && ex > min => Some(ex),
                    (min, _) => min,
                };
                let team_scopes = match effective.and_then(|e| policy.team_roles.get(e)) {
                    Some(tr) if team_roles_on => policy.trim_scopes(tr.scopes, option),
                    _ => ScopeSet::EMPTY,
                };
                if teams.iter().any(|(t, _)| *t == ti) {
                    err(
                        format!("members[{i}].teams[{j}].team"),
                        format!("duplicate membership of team {}", mt.team),
                    );
                    continue;
                }
                teams.push((ti, team_scopes));
            }
            let idx = w.members.len() as MemberIdx;
            if member_by_id.insert(m.id, idx).is_some() {
                err(
                    format!("members[{i}].id"),
                    format!("duplicate member id {}", m.id),
                );
            }
            if let Some(u) = m.user {
                if !w.users.contains_key(&u) {
                    err(format!("members[{i}].user"), format!("unknown user id {u}"));
                }
                if w.member_by_user.insert((org_idx, u), idx).is_some() {
                    err(
                        format!("members[{i}].user"),
                        format!("user {u} is already a member of this organization"),
                    );
                }
            }
            w.members.push(Member {
                id: m.id,
                user: m.user,
                org: org_idx,
                role,
                scopes,
                global: role_def.global || org.is_some_and(|o| o.open_membership),
                teams,
                member_limit_restricted: m.flags.member_limit_restricted,
                sso_linked: m.flags.sso_linked,
                granular_listed: 0,
            });
        }

        for (i, it) in doc.integrations.iter().enumerate() {
            let scopes = match policy
                .scopes
                .parse_set(it.scopes.iter().map(String::as_str))
            {
                Ok(s) => s,
                Err(bad) => {
                    err(
                        format!("integrations[{i}].scopes"),
                        format!("unknown scope `{bad}`"),
                    );
                    continue;
                }
            };
            let mut installed_on = Vec::new();
            for (j, o) in it.installed_on.iter().enumerate() {
                match org_by_id.get(o) {
                    Some(&oi) => installed_on.push(oi),
                    None => err(
                        format!("integrations[{i}].installed_on[{j}]"),
                        format!("unknown organization id {o}"),
                    ),
                }
            }
            if w.integrations
                .insert(
                    it.id,
                    Integration {
                        id: it.id,
                        scopes,
                        installed_on,
                    },
                )
                .is_some()
            {
                err(
                    format!("integrations[{i}].id"),
                    format!("duplicate integration id {}", it.id),
                );
            }
        }

        if policy.granular_resources.len() > 64 {
            err(
                "granular_resources".into(),
                "at most 64 granular resource kinds are supported".into(),
            );
        }
        for (i, g) in doc.granular_grants.iter().enumerate() {
            let path = format!("granular_grants[{i}]");
            let Some(&org) = org_by_id.get(&g.organization) else {
                err(
                    format!("{path}.organization"),
                    format!("unknown organization id {}", g.organization),
                );
                continue;
            };
            let Some((kind, _)) = policy.granular(&g.kind) else {
                err(
                    format!("{path}.kind"),
                    format!("unknown granular resource kind `{}`", g.kind),
                );
                continue;
            };
            if kind >= 64 {
                continue;
            }
            let bit = 1u64 << kind;
            match (g.member, g.team) {
                (Some(m), None) => match member_by_id
                    .get(&m)
                    .and_then(|&mi| w.members.get_mut(mi as usize))
                {
                    Some(member) if member.org == org => member.granular_listed |= bit,
                    Some(_) => {
                        err(
                            format!("{path}.member"),
                            format!("member {m} belongs to another organization"),
                        );
                        continue;
                    }
                    None => {
                        err(format!("{path}.member"), format!("unknown member id {m}"));
                        continue;
                    }
                },
                (None, Some(t)) => match team_by_id.get(&t) {
                    Some(&ti) if w.teams.get(ti as usize).is_some_and(|x| x.org == org) => {
                        for member in w.members.iter_mut().filter(|m| m.org == org) {
                            if member.teams.iter().any(|(x, _)| *x == ti) {
                                member.granular_listed |= bit;
                            }
                        }
                    }
                    Some(_) => {
                        err(
                            format!("{path}.team"),
                            format!("team {t} belongs to another organization"),
                        );
                        continue;
                    }
                    None => {
                        err(format!("{path}.team"), format!("unknown team id {t}"));
                        continue;
                    }
                },
                _ => {
                    err(
                        path,
                        "a grant names exactly one of `member` and `team`".into(),
                    );
                    continue;
                }
            }
            if let Some(state) = w
                .orgs
                .get_mut(org as usize)
                .and_then(|o| o.granular.get_mut(kind))
            {
                state.nonempty = true;
            }
        }

        if errors.is_empty() {
            Ok(w)
        } else {
            Err(WorldErrors(errors))
        }
    }

    /// The organization with slug `slug`.
    #[inline]
    pub fn org_by_slug(&self, slug: &str) -> Option<(OrgIdx, &Org)> {
        let idx = *self.org_by_slug.get(slug)?;
        self.orgs.get(idx as usize).map(|o| (idx, o))
    }

    /// The organization at `idx`.
    pub fn org(&self, idx: OrgIdx) -> Option<&Org> {
        self.orgs.get(idx as usize)
    }

    /// The user with id `id`.
    #[inline]
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// The membership of user `user` in organization `org`.
    #[inline]
    pub fn member(&self, org: OrgIdx, user: u64) -> Option<&Member> {
        let idx = *self.member_by_user.get(&(org, user))?;
        self.members.get(idx as usize)
    }

    /// The team of `org` with slug `slug`.
    #[inline]
    pub fn team_by_slug(&self, org: &Org, slug: &str) -> Option<(TeamIdx, &Team)> {
        let idx = *org.teams.get(slug)?;
        self.teams.get(idx as usize).map(|t| (idx, t))
    }

    /// The team of organization `org` with id `id` (a URL may name a team by id).
    pub fn team_by_id(&self, org: OrgIdx, id: u64) -> Option<(TeamIdx, &Team)> {
        self.orgs
            .get(org as usize)?
            .teams
            .values()
            .filter_map(|&idx| self.teams.get(idx as usize).map(|t| (idx, t)))
            .find(|(_, t)| t.id == id)
    }

    /// The project of `org` with slug `slug`.
    #[inline]
    pub fn project_by_slug(&self, org: &Org, slug: &str) -> Option<(ProjectIdx, &Project)> {
        let idx = *org.projects.get(slug)?;
        self.projects.get(idx as usize).map(|p| (idx, p))
    }

    /// The integration with id `id`.
    #[inline]
    pub fn integration(&self, id: u64) -> Option<&Integration> {
        self.integrations.get(&id)
    }

    /// Every member, in document order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The team at `idx`.
    pub fn team(&self, idx: TeamIdx) -> Option<&Team> {
        self.teams.get(idx as usize)
    }
}
