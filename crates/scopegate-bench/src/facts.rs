//! The model as plain facts, for the peers: what a deployment of Cedar, casbin or OPA would
//! be given by the application that owns the data.
//!
//! These facts are derived from the world document and the policy's role definitions here,
//! independently of scopegate's world index (`scopegate_core::World`), so that an indexing
//! bug in scopegate shows up as a disagreement rather than being copied into the peers.
//! Derived: each member's org-role scopes after option trimming, global reach, each team
//! membership's effective team role, each project's owning teams, the replay state.

use std::collections::{BTreeMap, BTreeSet};

use scopegate_core::manifest::ObjectKind;
use scopegate_core::world::truthy;
use scopegate_core::{Manifest, Method, Policy, PrincipalDoc, RequestDoc, ScopeSet, WorldDoc};

use crate::world::{ORG, REPLAY_FEATURE, REPLAY_TOGGLE};

/// The object kind a peer action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// The organization named by the URL.
    Organization,
    /// The project named by the URL.
    Project,
}

/// One (endpoint, method) as a peer action.
#[derive(Debug, Clone)]
pub struct Action {
    /// `"<METHOD> <endpoint>"`.
    pub id: String,
    /// What the endpoint's permission class is about.
    pub object: Object,
    /// The class's scope map for the method.
    pub scopes: Vec<String>,
    /// Whether the granular replay guard applies.
    pub granular: bool,
}

/// A member of the organization, by user.
#[derive(Debug, Clone)]
pub struct MemberFacts {
    /// Org-role scopes after the organization's options trimmed them.
    pub role_scopes: Vec<String>,
    /// Reaches every project (global role or open membership).
    pub global: bool,
    /// Disabled over the member limit.
    pub restricted: bool,
    /// Directly on the replay allowlist.
    pub replay_listed: bool,
    /// Team memberships: team slug and the effective team role id (`None` when the
    /// organization lacks the team-roles feature: team-role scopes do not count).
    pub teams: Vec<(String, Option<String>)>,
}

/// The replay state of the organization.
#[derive(Debug, Clone, Default)]
pub struct ReplayFacts {
    /// Feature on and toggle on: the allowlist is enforced.
    pub enforced: bool,
    /// The allowlist has at least one entry.
    pub nonempty: bool,
    /// Teams on the allowlist (their members are listed).
    pub teams: Vec<String>,
}

/// Everything a peer needs.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Every scope of the policy.
    pub all_scopes: Vec<String>,
    /// Organization slug.
    pub org: String,
    /// Replay state.
    pub replay: ReplayFacts,
    /// Users (every id).
    pub users: Vec<u64>,
    /// Members by user id.
    pub members: BTreeMap<u64, MemberFacts>,
    /// Projects: slug → owning team slugs.
    pub projects: BTreeMap<String, Vec<String>>,
    /// Teams (slugs).
    pub teams: Vec<String>,
    /// Team roles: id → scopes after option trimming.
    pub team_roles: BTreeMap<String, Vec<String>>,
    /// Actions by id.
    pub actions: BTreeMap<String, Action>,
}

/// A request in the subset the peers decide.
#[derive(Debug, Clone)]
pub struct PeerRequest {
    /// Index into the full request list.
    pub index: usize,
    /// The user.
    pub user: u64,
    /// The action id.
    pub action: String,
    /// The action's object kind.
    pub object: Object,
    /// The project slug, for project actions.
    pub project: Option<String>,
    /// The token's scopes; `None` for a session.
    pub token: Option<Vec<String>>,
}

impl PeerRequest {
    /// The resource the request is about, as `org:<slug>` or `project:<slug>`.
    pub fn resource(&self, org: &str) -> String {
        match (&self.project, self.object) {
            (Some(p), Object::Project) => format!("project:{p}"),
            _ => format!("org:{org}"),
        }
    }
}

fn names(policy: &Policy, set: ScopeSet) -> Vec<String> {
    policy
        .scopes
        .sorted_names(set)
        .into_iter()
        .map(String::from)
        .collect()
}

impl Facts {
    /// Derives the facts of organization [`ORG`] from the world, policy and manifest.
    pub fn derive(world: &WorldDoc, policy: &Policy, manifest: &Manifest) -> anyhow::Result<Facts> {
        let org = world
            .organizations
            .iter()
            .find(|o| o.slug == ORG)
            .ok_or_else(|| anyhow::anyhow!("the world has no organization `{ORG}`"))?;
        let option = |key: &str| org.options.get(key).map(truthy);
        // Sentry's Organization.get_scopes, written out again from docs/decision.md §4.
        let trim = |scopes: ScopeSet| {
            let mut out = scopes;
            for opt in &policy.org_options {
                if !scopes.intersects(opt.unless_role_has_any)
                    && !option(&opt.key).unwrap_or(opt.default)
                {
                    out = out.difference(opt.when_false_remove);
                }
            }
            out
        };
        let team_roles_on = org.features.contains(&policy.team_roles_feature);
        let team_slug: BTreeMap<u64, String> = world
            .teams
            .iter()
            .filter(|t| t.organization == org.id)
            .map(|t| (t.id, t.slug.clone()))
            .collect();
        let listed_members: BTreeSet<u64> = world
            .granular_grants
            .iter()
            .filter(|g| g.organization == org.id && g.kind == "replay")
            .filter_map(|g| g.member)
            .collect();
        let listed_teams: Vec<String> = world
            .granular_grants
            .iter()
            .filter(|g| g.organization == org.id && g.kind == "replay")
            .filter_map(|g| g.team.and_then(|t| team_slug.get(&t).cloned()))
            .collect();
        let has_grant = world
            .granular_grants
            .iter()
            .any(|g| g.organization == org.id && g.kind == "replay");
        let replay = ReplayFacts {
            enforced: org.features.iter().any(|f| f == REPLAY_FEATURE)
                && option(REPLAY_TOGGLE).unwrap_or(false),
            nonempty: has_grant,
            teams: listed_teams,
        };

        let top_org_role = policy.org_roles.len().saturating_sub(1);
        let mut members = BTreeMap::new();
        for m in world.members.iter().filter(|m| m.organization == org.id) {
            let Some(user) = m.user else { continue };
            let (role_idx, role) = policy
                .org_role(&m.role)
                .ok_or_else(|| anyhow::anyhow!("unknown org role `{}`", m.role))?;
            // The minimum team role of the org role (docs/decision.md §4).
            let minimum = if role_idx == top_org_role {
                policy.team_roles.len().saturating_sub(1)
            } else {
                policy
                    .team_roles
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.minimum_for.is_some_and(|f| f <= role_idx))
                    .map(|(i, _)| i)
                    .max()
                    .unwrap_or(0)
            };
            let mut teams = Vec::new();
            for mt in &m.teams {
                let Some(slug) = team_slug.get(&mt.team) else {
                    continue;
                };
                let explicit = mt
                    .role
                    .as_deref()
                    .and_then(|r| policy.team_role(r))
                    .map(|(i, _)| i);
                let effective = match explicit {
                    Some(e) if team_roles_on && e > minimum => e,
                    _ => minimum,
                };
                let role_id = policy.team_roles.get(effective).map(|t| t.id.clone());
                teams.push((slug.clone(), role_id.filter(|_| team_roles_on)));
            }
            members.insert(
                user,
                MemberFacts {
                    role_scopes: names(policy, trim(role.scopes)),
                    global: role.global || org.open_membership,
                    restricted: m.flags.member_limit_restricted,
                    replay_listed: listed_members.contains(&m.id),
                    teams,
                },
            );
        }

        let projects = world
            .projects
            .iter()
            .filter(|p| p.organization == org.id && p.active)
            .map(|p| {
                let owners = p
                    .teams
                    .iter()
                    .filter_map(|t| team_slug.get(t).cloned())
                    .collect();
                (p.slug.clone(), owners)
            })
            .collect();
        let team_roles = policy
            .team_roles
            .iter()
            .map(|t| (t.id.clone(), names(policy, trim(t.scopes))))
            .collect();

        let mut actions = BTreeMap::new();
        for e in &manifest.endpoints {
            let [class_id] = e.classes.as_slice() else {
                continue;
            };
            let Some(class) = manifest.classes.get(*class_id) else {
                continue;
            };
            let object = match class.object {
                ObjectKind::Organization => Object::Organization,
                ObjectKind::Project => Object::Project,
                ObjectKind::Team | ObjectKind::None => continue,
            };
            let granular = match e.granular {
                None => false,
                Some(k)
                    if policy
                        .granular_resources
                        .get(k)
                        .is_some_and(|g| g.kind == "replay") =>
                {
                    true
                }
                Some(_) => continue,
            };
            for method in Method::ALL {
                if method == Method::Options {
                    continue;
                }
                let id = format!("{} {}", method.as_str(), e.name);
                actions.insert(
                    id.clone(),
                    Action {
                        id,
                        object,
                        scopes: names(policy, class.scopes_for(method)),
                        granular,
                    },
                );
            }
        }

        Ok(Facts {
            all_scopes: policy.scopes.names().map(String::from).collect(),
            org: org.slug.clone(),
            replay,
            users: world.users.iter().map(|u| u.id).collect(),
            members,
            projects,
            teams: team_slug.into_values().collect(),
            team_roles,
            actions,
        })
    }

    /// Every scope that some action's scope map names.
    pub fn used_scopes(&self) -> BTreeSet<&str> {
        self.actions
            .values()
            .flat_map(|a| a.scopes.iter().map(String::as_str))
            .collect()
    }

    /// The requests the peers decide: sessions (no superuser, no staff, SSO done) and user
    /// tokens not bound to an organization, of known users, on organization and project
    /// endpoints of organization [`ORG`] (with and without the replay guard), naming an
    /// active project when the endpoint is about a project.
    pub fn peer_requests(&self, requests: &[RequestDoc]) -> Vec<PeerRequest> {
        requests
            .iter()
            .enumerate()
            .filter_map(|(index, r)| {
                let (user, token) = match &r.principal {
                    PrincipalDoc::Session {
                        user,
                        superuser: scopegate_core::wire::SuperuserDoc::None,
                        staff: false,
                        sso_ok: true,
                    } => (*user, None),
                    PrincipalDoc::UserToken {
                        user,
                        scopes,
                        organization: None,
                    } => (*user, Some(scopes.clone())),
                    _ => return None,
                };
                if !self.users.contains(&user) || r.organization.as_deref() != Some(&self.org) {
                    return None;
                }
                let action = self.actions.get(&format!("{} {}", r.method, r.endpoint))?;
                let project = match action.object {
                    Object::Project => {
                        let p = r.project.clone()?;
                        self.projects.contains_key(&p).then_some(p)?
                    }
                    Object::Organization => {
                        if r.project.is_some() {
                            return None;
                        }
                        return Some(PeerRequest {
                            index,
                            user,
                            action: action.id.clone(),
                            object: action.object,
                            project: None,
                            token,
                        });
                    }
                };
                Some(PeerRequest {
                    index,
                    user,
                    action: action.id.clone(),
                    object: action.object,
                    project: Some(project),
                    token,
                })
            })
            .collect()
    }
}
