//! The model as plain facts, for the peers: what a deployment of Cedar, casbin or OPA would
//! be given by the application that owns the data.
//!
//! These facts are derived from the world document and the policy's role definitions here,
//! independently of scopegate's world index (`scopegate_core::World`), so that an indexing
//! bug in scopegate shows up as a disagreement rather than being copied into the peers.
//! Derived per organization: each org and team role's scopes after the organization's option
//! trimming, each member's org role, global reach, restricted flag and direct replay listing,
//! each team membership's effective team role, each project's owning teams, the replay
//! state.

use std::collections::{BTreeMap, BTreeSet};

use scopegate_core::manifest::ObjectKind;
use scopegate_core::world::truthy;
use scopegate_core::{Manifest, Method, Policy, PrincipalDoc, RequestDoc, ScopeSet, WorldDoc};

use crate::world::{REPLAY_FEATURE, REPLAY_TOGGLE};

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

/// A member of an organization, by user.
#[derive(Debug, Clone)]
pub struct MemberFacts {
    /// The org role id (its scopes after trimming are in [`OrgFacts::roles`]).
    pub role: String,
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

/// The replay state of an organization.
#[derive(Debug, Clone, Default)]
pub struct ReplayFacts {
    /// Feature on and toggle on: the allowlist is enforced.
    pub enforced: bool,
    /// The allowlist has at least one entry.
    pub nonempty: bool,
    /// Teams on the allowlist (their members are listed).
    pub teams: Vec<String>,
}

/// One organization.
#[derive(Debug, Clone, Default)]
pub struct OrgFacts {
    /// Replay state.
    pub replay: ReplayFacts,
    /// Org roles: id → scopes after this organization's options trimmed them.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Team roles: id → scopes after this organization's options trimmed them.
    pub team_roles: BTreeMap<String, Vec<String>>,
    /// Members by user id (pending invites have no user and are left out).
    pub members: BTreeMap<u64, MemberFacts>,
    /// Active projects: slug → owning team slugs.
    pub projects: BTreeMap<String, Vec<String>>,
    /// Teams (slugs).
    pub teams: Vec<String>,
}

/// Everything a peer needs.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Every scope of the policy.
    pub all_scopes: Vec<String>,
    /// Organizations by slug.
    pub orgs: BTreeMap<String, OrgFacts>,
    /// Users (every id).
    pub users: BTreeSet<u64>,
    /// Actions by id.
    pub actions: BTreeMap<String, Action>,
}

/// A request in the subset the peers decide.
#[derive(Debug, Clone)]
pub struct PeerRequest {
    /// Index into the full request list.
    pub index: usize,
    /// The organization slug named by the request.
    pub org: String,
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
    /// The resource the request is about, as `org:<org>` or `project:<org>/<project>`.
    pub fn resource(&self) -> String {
        match (&self.project, self.object) {
            (Some(p), Object::Project) => format!("project:{}/{p}", self.org),
            _ => format!("org:{}", self.org),
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
    /// Derives the facts of every organization from the world, policy and manifest.
    pub fn derive(world: &WorldDoc, policy: &Policy, manifest: &Manifest) -> anyhow::Result<Facts> {
        let top_org_role = policy.org_roles.len().saturating_sub(1);
        // The minimum team role of each org role (docs/decision.md §4).
        let minimum = |role_idx: usize| {
            if role_idx == top_org_role {
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
            }
        };

        // Per organization (by id): its facts under construction, and whether team-role
        // scopes count there.
        let mut orgs: BTreeMap<u64, (String, OrgFacts, bool)> = BTreeMap::new();
        for org in &world.organizations {
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
            let facts = OrgFacts {
                replay: ReplayFacts {
                    enforced: org.features.iter().any(|f| f == REPLAY_FEATURE)
                        && option(REPLAY_TOGGLE).unwrap_or(false),
                    nonempty: false,
                    teams: Vec::new(),
                },
                roles: policy
                    .org_roles
                    .iter()
                    .map(|r| (r.id.clone(), names(policy, trim(r.scopes))))
                    .collect(),
                team_roles: policy
                    .team_roles
                    .iter()
                    .map(|t| (t.id.clone(), names(policy, trim(t.scopes))))
                    .collect(),
                ..OrgFacts::default()
            };
            let team_roles_on = org.features.contains(&policy.team_roles_feature);
            orgs.insert(org.id, (org.slug.clone(), facts, team_roles_on));
        }
        let open_membership: BTreeMap<u64, bool> = world
            .organizations
            .iter()
            .map(|o| (o.id, o.open_membership))
            .collect();

        let mut team_slug: BTreeMap<u64, String> = BTreeMap::new();
        for t in &world.teams {
            if let Some((_, o, _)) = orgs.get_mut(&t.organization) {
                o.teams.push(t.slug.clone());
                team_slug.insert(t.id, t.slug.clone());
            }
        }
        let mut listed_members: BTreeSet<u64> = BTreeSet::new();
        for g in world.granular_grants.iter().filter(|g| g.kind == "replay") {
            let Some((_, o, _)) = orgs.get_mut(&g.organization) else {
                continue;
            };
            o.replay.nonempty = true;
            if let Some(m) = g.member {
                listed_members.insert(m);
            }
            if let Some(slug) = g.team.and_then(|t| team_slug.get(&t)) {
                o.replay.teams.push(slug.clone());
            }
        }

        for m in &world.members {
            let Some(user) = m.user else { continue };
            let Some((_, org, team_roles_on)) = orgs.get_mut(&m.organization) else {
                continue;
            };
            let (role_idx, role) = policy
                .org_role(&m.role)
                .ok_or_else(|| anyhow::anyhow!("unknown org role `{}`", m.role))?;
            let minimum = minimum(role_idx);
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
                    Some(e) if *team_roles_on && e > minimum => e,
                    _ => minimum,
                };
                let role_id = policy.team_roles.get(effective).map(|t| t.id.clone());
                teams.push((slug.clone(), role_id.filter(|_| *team_roles_on)));
            }
            org.members.insert(
                user,
                MemberFacts {
                    role: role.id.clone(),
                    global: role.global
                        || open_membership
                            .get(&m.organization)
                            .copied()
                            .unwrap_or(false),
                    restricted: m.flags.member_limit_restricted,
                    replay_listed: listed_members.contains(&m.id),
                    teams,
                },
            );
        }

        for p in world.projects.iter().filter(|p| p.active) {
            let Some((_, org, _)) = orgs.get_mut(&p.organization) else {
                continue;
            };
            let owners = p
                .teams
                .iter()
                .filter_map(|t| team_slug.get(t).cloned())
                .collect();
            org.projects.insert(p.slug.clone(), owners);
        }

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
            orgs: orgs
                .into_values()
                .map(|(slug, facts, _)| (slug, facts))
                .collect(),
            users: world.users.iter().map(|u| u.id).collect(),
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
    /// tokens not bound to an organization, of known users (members of the organization
    /// called or not), on organization and project endpoints of a known organization (with
    /// and without the replay guard), naming an active project of that organization when
    /// the endpoint is about a project.
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
                if !self.users.contains(&user) {
                    return None;
                }
                let org_slug = r.organization.as_deref()?;
                let org = self.orgs.get(org_slug)?;
                let action = self.actions.get(&format!("{} {}", r.method, r.endpoint))?;
                let project = match action.object {
                    Object::Project => {
                        let p = r.project.as_deref()?;
                        Some(org.projects.get_key_value(p)?.0.clone())
                    }
                    Object::Organization if r.project.is_some() => return None,
                    Object::Organization => None,
                };
                Some(PeerRequest {
                    index,
                    org: org_slug.to_string(),
                    user,
                    action: action.id.clone(),
                    object: action.object,
                    project,
                    token,
                })
            })
            .collect()
    }
}
