//! `scopegate matrix`: which principal classes may call each endpoint method, computed by
//! asking the engine itself about a synthetic world.
//!
//! The world has one organization (`acme`) with one team (`team`) and one project (`proj`)
//! owned by the team, and one principal per class:
//! - every org role, as a member on the team with the team role the org role implies;
//! - every team role, held by a member of the lowest org role;
//! - per read-only scope, a user token holding exactly that scope (its user has the highest
//!   org role, so only the token bounds it);
//! - an organization token (with `org:ci` when the policy declares it);
//! - a superuser in read-only mode who is not a member.
//!
//! The organization has the policy's team-roles feature (so team roles count) and no
//! granular toggle. Every request names the organization, the team and the project, so each class is asked
//! about the object its permission classes check.

use serde::Serialize;
use serde_json::json;

pub mod diff;
mod render;

pub use render::render;

use scopegate_core::{
    Engine, Manifest, Method, Policy, Principal, Request, ScopeSet, Superuser, World, WorldDoc,
};

/// The organization slug of the synthetic world.
pub const ORG: &str = "acme";
/// The team slug of the synthetic world.
pub const TEAM: &str = "team";
/// The project slug of the synthetic world.
pub const PROJECT: &str = "proj";

/// One principal class: a column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Stable id (`role:member`, `team:admin`, `token:org:read`, `org_token`,
    /// `superuser:read`): how `diff` matches columns.
    pub id: String,
    /// What the class is, for people.
    pub label: String,
    #[serde(skip)]
    principal: Principal,
}

/// One endpoint method: a row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The endpoint name.
    pub endpoint: String,
    /// The URL path, when the manifest gives it.
    pub path: Option<String>,
    /// The method.
    pub method: String,
    /// Per column (same order), whether the class may call it.
    pub allowed: Vec<bool>,
}

/// The matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// The principal classes.
    pub columns: Vec<Column>,
    /// Endpoint methods, in manifest order.
    pub rows: Vec<Row>,
}

/// Output formats of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixFormat {
    /// An aligned text table.
    Text,
    /// A Markdown table.
    Markdown,
    /// CSV (RFC 4180).
    Csv,
    /// JSON (`columns`, `rows`).
    Json,
}

/// The principal classes of `policy` and the synthetic world that holds them.
fn world(policy: &Policy) -> Result<(Vec<Column>, World), String> {
    let mut columns = Vec::new();
    let mut users = Vec::new();
    let mut members = Vec::new();
    let mut next_id = 1u64;
    let mut member = |role: &str, team_role: Option<&str>, users: &mut Vec<_>| {
        let id = next_id;
        next_id += 1;
        users.push(json!({"id": id}));
        members.push(json!({
            "id": id, "organization": 1, "user": id, "role": role,
            "teams": [{"team": 1, "role": team_role}],
        }));
        id
    };
    let session = |user: u64| Principal::Session {
        user,
        superuser: Superuser::None,
        staff: false,
        sso_ok: true,
    };
    for role in &policy.org_roles {
        let user = member(&role.id, None, &mut users);
        columns.push(Column {
            id: format!("role:{}", role.id),
            label: format!("{} (org role, on the team)", role.name),
            principal: session(user),
        });
    }
    if let Some(lowest) = policy.org_roles.first() {
        for team_role in &policy.team_roles {
            let user = member(&lowest.id, Some(&team_role.id), &mut users);
            columns.push(Column {
                id: format!("team:{}", team_role.id),
                label: format!("{} (team role, org role {})", team_role.name, lowest.id),
                principal: session(user),
            });
        }
    }
    if let Some(highest) = policy.org_roles.last() {
        for name in policy.scopes.sorted_names(policy.readonly) {
            let Some(id) = policy.scopes.id(name) else {
                continue;
            };
            let user = member(&highest.id, None, &mut users);
            columns.push(Column {
                id: format!("token:{name}"),
                label: format!("user token with only {name} (user: {})", highest.id),
                principal: Principal::UserToken {
                    user,
                    scopes: ScopeSet::single(id),
                    organization: None,
                },
            });
        }
    }
    let ci = policy
        .scopes
        .id("org:ci")
        .map_or(ScopeSet::EMPTY, ScopeSet::single);
    columns.push(Column {
        id: "org_token".into(),
        label: format!(
            "organization token ({})",
            policy.scopes.sorted_names(ci).join(", ")
        ),
        principal: Principal::OrgToken {
            organization: ORG.into(),
            scopes: ci,
            creator: None,
        },
    });
    let su = next_id;
    users.push(json!({"id": su}));
    columns.push(Column {
        id: "superuser:read".into(),
        label: "read-only superuser (not a member)".into(),
        principal: Principal::Session {
            user: su,
            superuser: Superuser::Read,
            staff: false,
            sso_ok: true,
        },
    });
    let features: Vec<&str> = [policy.team_roles_feature.as_str()]
        .into_iter()
        .filter(|f| !f.is_empty())
        .collect();
    let doc = json!({
        "organizations": [{"id": 1, "slug": ORG, "features": features}],
        "users": users,
        "members": members,
        "teams": [{"id": 1, "organization": 1, "slug": TEAM}],
        "projects": [{"id": 1, "organization": 1, "slug": PROJECT, "teams": [1]}],
    });
    let doc: WorldDoc = serde_json::from_value(doc).map_err(|e| format!("synthetic world: {e}"))?;
    let world = World::build(&doc, policy).map_err(|e| {
        let lines: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        format!("synthetic world: {}", lines.join("; "))
    })?;
    Ok((columns, world))
}

/// The methods of an endpoint: those in its publish status, else every method its classes
/// map.
fn methods(manifest: &Manifest, endpoint: &scopegate_core::manifest::Endpoint) -> Vec<Method> {
    let mut out: Vec<Method> = endpoint.publish_status.iter().map(|(m, _)| *m).collect();
    if out.is_empty() {
        for c in endpoint.classes.iter().filter_map(|&c| manifest.class(c)) {
            for m in Method::ALL {
                if c.scope_map.get(m.index()).is_some_and(Option::is_some) && !out.contains(&m) {
                    out.push(m);
                }
            }
        }
    }
    out.sort();
    out
}

/// Computes the matrix of `manifest` under `policy`.
pub fn compute(policy: &Policy, manifest: &Manifest) -> Result<Matrix, String> {
    let (columns, world) = world(policy)?;
    let engine = Engine::new(policy, manifest, &world);
    let mut rows = Vec::new();
    for endpoint in &manifest.endpoints {
        for method in methods(manifest, endpoint) {
            let allowed = columns
                .iter()
                .map(|c| {
                    engine
                        .decide(&Request {
                            principal: c.principal.clone(),
                            endpoint: endpoint.name.clone(),
                            method,
                            organization: Some(ORG.into()),
                            project: Some(PROJECT.into()),
                            team: Some(TEAM.into()),
                        })
                        .allowed()
                })
                .collect();
            rows.push(Row {
                endpoint: endpoint.name.clone(),
                path: endpoint.path.clone(),
                method: method.as_str().into(),
                allowed,
            });
        }
    }
    Ok(Matrix { columns, rows })
}
