//! Random worlds, manifests and requests for the core's differential test and properties, and
//! the store's import → export round trip.
//!
//! Everything is generated against the Sentry policy. References are generated as raw
//! indexes and mapped onto what exists (modulo), so every world is valid and shrinks well;
//! requests also name things that do not exist (unknown users, organizations, projects,
//! teams, integrations, endpoints) on purpose.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{json, Value};

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::{Policy, WorldDoc};

use crate::reference::{RefClass, RefEndpoint, RefManifest};

mod request;

pub use request::{request_spec, RequestSpec};

/// The Sentry policy's org roles, lowest first.
pub const ORG_ROLES: [&str; 4] = ["member", "admin", "manager", "owner"];
/// The Sentry policy's team roles.
pub const TEAM_ROLES: [&str; 2] = ["contributor", "admin"];
const FEATURES: [&str; 3] = [
    "organizations:team-roles",
    "organizations:granular-replay-permissions",
    "organizations:session-replay",
];
const OPTION_KEYS: [&str; 3] = [
    "sentry:granular-replay-permissions",
    "sentry:events_member_admin",
    "sentry:alerts_member_write",
];
/// Every method a request may use.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const OBJECTS: [&str; 4] = ["organization", "project", "team", "none"];
/// A user id no world has.
pub const UNKNOWN_USER: u64 = 9_999;

/// The policy of a generated case: Sentry's own for `which % 4` 0 and 1. With Sentry's
/// roles the minimum team roles are invisible (every org role holds its minimum team role's
/// scopes), so 2 and 3 weaken the non-top org roles to the read-only scopes plus
/// `org:write`, leaving project, team and event writes to team roles; and 3 makes team
/// admin the minimum for `manager` instead of `admin`. The scope names are Sentry's in
/// every variant. When `which & 4` is set, the granular resources do not require their
/// feature (`require_feature = false`: today's Sentry, where the option alone enforces).
pub fn policy_variant(which: u8) -> Policy {
    let mut policy = Policy::sentry();
    if which & 4 != 0 {
        for g in &mut policy.granular_resources {
            g.require_feature = false;
        }
    }
    if which % 4 < 2 {
        return policy;
    }
    let keep = policy.readonly.union(
        policy
            .scopes
            .parse_set(["org:write"])
            .expect("a Sentry scope"),
    );
    let top = policy.org_roles.len() - 1;
    for role in &mut policy.org_roles[..top] {
        role.scopes = role.scopes.intersection(keep);
    }
    if which % 4 == 3 {
        policy.team_roles[1].minimum_for = policy.org_role("manager").map(|(i, _)| i);
    }
    policy
}

/// The Sentry policy's scope names, in declaration order.
pub fn scope_names() -> Vec<String> {
    Policy::sentry()
        .scopes
        .names()
        .map(str::to_string)
        .collect()
}

fn scopes(max: usize) -> impl Strategy<Value = Vec<String>> {
    subsequence(scope_names(), 0..=max)
}

/// Scope lists shaped like Sentry's scope maps and token scope sets.
const FAMILIES: [&[&str]; 12] = [
    &["org:read", "org:write", "org:admin"],
    &["org:write", "org:admin"],
    &["org:admin"],
    &["project:read", "project:write", "project:admin"],
    &["project:write", "project:admin"],
    &["project:admin", "project:releases", "org:ci"],
    &["team:read", "team:write", "team:admin"],
    &["team:write", "team:admin"],
    &["event:read", "event:write", "event:admin"],
    &["event:admin"],
    &["alerts:write"],
    &["member:read", "member:write", "member:admin"],
];

fn family() -> impl Strategy<Value = Vec<String>> {
    prop::sample::select(FAMILIES.to_vec()).prop_map(|f| f.iter().map(|s| s.to_string()).collect())
}

/// A scope map entry: a Sentry-shaped list, or any few scopes.
fn map_scopes() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![3 => family(), 2 => scopes(4)]
}

/// Token scopes: a few, a Sentry-shaped set (or two), or every scope.
fn token_scopes() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        2 => scopes(6),
        2 => scopes(16),
        2 => family(),
        2 => (family(), family()).prop_map(|(mut a, b)| {
            a.extend(b.into_iter().filter(|s| !a.contains(s)).collect::<Vec<_>>());
            a
        }),
        2 => Just(scope_names()),
    ]
}

fn option_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some(json!(true))),
        2 => Just(Some(json!(false))),
        1 => Just(Some(json!(0))),
        1 => Just(Some(json!(1))),
        1 => Just(Some(json!(""))),
        1 => Just(Some(json!("yes"))),
        1 => Just(Some(Value::Null)),
    ]
}

#[derive(Debug, Clone)]
struct OrgSpec {
    features: Vec<&'static str>,
    options: Vec<Option<Value>>,
    open_membership: bool,
    require_2fa: bool,
    require_sso: bool,
}

fn org_spec() -> impl Strategy<Value = OrgSpec> {
    (
        subsequence(FEATURES.to_vec(), 0..=3),
        vec(option_value(), 3),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(features, options, open_membership, require_2fa, require_sso)| OrgSpec {
                features,
                options,
                open_membership,
                require_2fa,
                require_sso,
            },
        )
}

#[derive(Debug, Clone)]
struct MemberSpec {
    org: usize,
    user: Option<usize>,
    role: usize,
    teams: Vec<(usize, Option<usize>)>,
    limit: bool,
    sso_linked: bool,
}

fn member_spec() -> impl Strategy<Value = MemberSpec> {
    (
        0..3usize,
        prop::option::weighted(0.85, 0..8usize),
        prop_oneof![3 => Just(0usize), 1 => 1..4usize],
        vec((0..6usize, prop::option::weighted(0.5, 0..2usize)), 0..=3),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.7),
    )
        .prop_map(|(org, user, role, teams, limit, sso_linked)| MemberSpec {
            org,
            user,
            role,
            teams,
            limit,
            sso_linked,
        })
}

/// A generated world, in its wire form.
pub fn world() -> impl Strategy<Value = WorldDoc> {
    (
        vec(org_spec(), 1..=3),
        vec(prop::bool::weighted(0.8), 1..=6),
        vec(member_spec(), 0..=10),
        vec(0..3usize, 0..=5),
        vec(
            (0..3usize, vec(0..6usize, 0..=2), prop::bool::weighted(0.85)),
            0..=5,
        ),
        vec(
            (token_scopes(), subsequence(vec![0usize, 1, 2], 0..=3)),
            0..=3,
        ),
        vec((any::<bool>(), 0..10usize), 0..=6),
    )
        .prop_map(
            |(orgs, users, members, teams, projects, integrations, grants)| {
                build_world(orgs, users, members, teams, projects, integrations, grants)
            },
        )
}

fn build_world(
    orgs: Vec<OrgSpec>,
    users: Vec<bool>,
    members: Vec<MemberSpec>,
    teams: Vec<usize>,
    projects: Vec<(usize, Vec<usize>, bool)>,
    integrations: Vec<(Vec<String>, Vec<usize>)>,
    grants: Vec<(bool, usize)>,
) -> WorldDoc {
    let mut w = WorldDoc::default();
    for (i, o) in orgs.iter().enumerate() {
        let mut options = serde_json::Map::new();
        for (key, value) in OPTION_KEYS.iter().zip(&o.options) {
            if let Some(v) = value {
                options.insert((*key).to_string(), v.clone());
            }
        }
        w.organizations.push(OrganizationDoc {
            id: i as u64 + 1,
            slug: format!("org{i}"),
            features: o.features.iter().map(|f| f.to_string()).collect(),
            options,
            open_membership: o.open_membership,
            require_2fa: o.require_2fa,
            require_sso: o.require_sso,
        });
    }
    let org_id = |ix: usize| (ix % orgs.len()) as u64 + 1;
    for (i, has_2fa) in users.iter().enumerate() {
        w.users.push(UserDoc {
            id: 10 + i as u64,
            has_2fa: *has_2fa,
        });
    }
    for (i, org_ix) in teams.iter().enumerate() {
        let organization = org_id(*org_ix);
        let n = w
            .teams
            .iter()
            .filter(|t| t.organization == organization)
            .count();
        w.teams.push(TeamDoc {
            id: 500 + i as u64,
            organization,
            slug: format!("t{n}"),
        });
    }
    let team_in = |ix: usize, org: u64, w: &WorldDoc| -> Option<u64> {
        let t = w.teams.get(ix % w.teams.len().max(1))?;
        (t.organization == org).then_some(t.id)
    };
    for (i, m) in members.iter().enumerate() {
        let organization = org_id(m.org);
        let user = m.user.map(|u| 10 + (u % users.len()) as u64).filter(|u| {
            !w.members
                .iter()
                .any(|x| x.organization == organization && x.user == Some(*u))
        });
        let mut member_teams: Vec<MemberTeamDoc> = Vec::new();
        for (t, role) in &m.teams {
            if let Some(team) = team_in(*t, organization, &w) {
                if !member_teams.iter().any(|x| x.team == team) {
                    member_teams.push(MemberTeamDoc {
                        team,
                        role: role.map(|r| TEAM_ROLES[r].to_string()),
                    });
                }
            }
        }
        w.members.push(MemberDoc {
            id: 100 + i as u64,
            organization,
            user,
            role: ORG_ROLES[m.role].to_string(),
            teams: member_teams,
            flags: MemberFlagsDoc {
                member_limit_restricted: m.limit,
                sso_linked: m.sso_linked,
            },
        });
    }
    for (i, (org_ix, team_ixs, active)) in projects.iter().enumerate() {
        let organization = org_id(*org_ix);
        let n = w
            .projects
            .iter()
            .filter(|p| p.organization == organization)
            .count();
        let mut project_teams = Vec::new();
        for t in team_ixs {
            if let Some(team) = team_in(*t, organization, &w) {
                if !project_teams.contains(&team) {
                    project_teams.push(team);
                }
            }
        }
        w.projects.push(ProjectDoc {
            id: 5_000 + i as u64,
            organization,
            slug: format!("p{n}"),
            teams: project_teams,
            active: *active,
        });
    }
    for (i, (scopes, installed)) in integrations.into_iter().enumerate() {
        let mut installed_on: Vec<u64> = installed.iter().map(|o| org_id(*o)).collect();
        installed_on.sort_unstable();
        installed_on.dedup();
        w.integrations.push(IntegrationDoc {
            id: 70 + i as u64,
            scopes,
            installed_on,
        });
    }
    for (by_member, ix) in grants {
        let grant = if by_member && !w.members.is_empty() {
            let m = &w.members[ix % w.members.len()];
            GrantDoc {
                organization: m.organization,
                kind: "replay".into(),
                member: Some(m.id),
                team: None,
            }
        } else if !w.teams.is_empty() {
            let t = &w.teams[ix % w.teams.len()];
            GrantDoc {
                organization: t.organization,
                kind: "replay".into(),
                member: None,
                team: Some(t.id),
            }
        } else {
            continue;
        };
        if !w.granular_grants.contains(&grant) {
            w.granular_grants.push(grant);
        }
    }
    w
}

/// A generated manifest: its JSON text (with `extends` chains) and the same classes
/// resolved by hand for the reference.
#[derive(Debug, Clone)]
pub struct GenManifest {
    /// The manifest document, as the engine reads it.
    pub json: Value,
    /// The same manifest, resolved, for the reference.
    pub model: RefManifest,
}

#[derive(Debug, Clone)]
struct ClassSpec {
    parent: Option<usize>,
    object: Option<usize>,
    scope_map: Option<Vec<Option<Vec<String>>>>,
    allow_staff: Option<bool>,
}

fn class_spec() -> impl Strategy<Value = ClassSpec> {
    (
        prop::option::weighted(0.3, 0..6usize),
        prop::option::weighted(0.8, 0..4usize),
        prop::option::weighted(0.85, vec(prop::option::weighted(0.85, map_scopes()), 7)),
        prop::option::weighted(0.4, prop::bool::weighted(0.5)),
    )
        .prop_map(|(parent, object, scope_map, allow_staff)| ClassSpec {
            parent,
            object,
            scope_map,
            allow_staff,
        })
}

/// A generated manifest: 1 to 6 classes (some extending earlier ones, some methods
/// missing from their maps), 1 to 5 endpoints with one or two classes, some guarded by the
/// replay resource.
pub fn manifest() -> impl Strategy<Value = GenManifest> {
    (
        vec(class_spec(), 1..=6),
        vec((vec(0..6usize, 1..=2), prop::bool::weighted(0.35)), 1..=5),
    )
        .prop_map(|(classes, endpoints)| build_manifest(classes, endpoints))
}

fn build_manifest(classes: Vec<ClassSpec>, endpoints: Vec<(Vec<usize>, bool)>) -> GenManifest {
    let mut permissions = serde_json::Map::new();
    let mut model = RefManifest::default();
    for (i, c) in classes.iter().enumerate() {
        let name = format!("C{i}");
        let parent = if i == 0 {
            None
        } else {
            c.parent.map(|p| p % i)
        };
        let mut doc = serde_json::Map::new();
        let inherited = parent.map(|p| model.classes[p].clone());
        if let Some(p) = parent {
            doc.insert("extends".into(), json!(format!("C{p}")));
        }
        // A class without a parent must give its object.
        let object = match (c.object, &inherited) {
            (Some(o), _) => {
                doc.insert("object".into(), json!(OBJECTS[o]));
                OBJECTS[o].to_string()
            }
            (None, Some(parent)) => parent.object.clone(),
            (None, None) => {
                doc.insert("object".into(), json!("organization"));
                "organization".to_string()
            }
        };
        let scope_map: BTreeMap<String, _> = match (&c.scope_map, &inherited) {
            (Some(entries), _) => {
                let mut map = serde_json::Map::new();
                let mut model_map = BTreeMap::new();
                for (method, scopes) in METHODS.iter().zip(entries) {
                    if let Some(scopes) = scopes {
                        map.insert((*method).to_string(), json!(scopes));
                        model_map.insert((*method).to_string(), scopes.iter().cloned().collect());
                    }
                }
                doc.insert("scope_map".into(), Value::Object(map));
                model_map
            }
            (None, Some(parent)) => parent.scope_map.clone(),
            (None, None) => BTreeMap::new(),
        };
        let allow_staff = match (c.allow_staff, &inherited) {
            (Some(b), _) => {
                doc.insert("allow_staff".into(), json!(b));
                b
            }
            (None, Some(parent)) => parent.allow_staff,
            (None, None) => false,
        };
        permissions.insert(name.clone(), Value::Object(doc));
        model.classes.push(RefClass {
            name,
            object,
            scope_map,
            allow_staff,
        });
    }
    let mut endpoint_docs = Vec::new();
    for (i, (class_ixs, replay)) in endpoints.iter().enumerate() {
        let names: Vec<String> = class_ixs
            .iter()
            .map(|c| format!("C{}", c % classes.len()))
            .collect();
        let mut doc = json!({"name": format!("E{i}"), "permissions": names});
        if *replay {
            doc["granular_resource"] = json!("replay");
        }
        endpoint_docs.push(doc);
        model.endpoints.push(RefEndpoint {
            name: format!("E{i}"),
            classes: names,
            granular: replay.then(|| "replay".to_string()),
        });
    }
    GenManifest {
        json: json!({"permissions": permissions, "endpoints": endpoint_docs}),
        model,
    }
}
