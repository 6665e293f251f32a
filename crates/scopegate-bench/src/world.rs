//! A deterministic Sentry-shaped world, manifest and request set.
//!
//! One organization with the team-roles and granular-replay features (enforcement on, one
//! option trimming member scopes), a few hundred members across the four org roles, tens of
//! teams, about a hundred projects owned by teams, an integration and replay grants (members
//! and teams). Requests mix sessions and user tokens of members and non-members with org
//! tokens, API keys, the integration, superusers and anonymous callers, over every endpoint
//! and method of the manifest.

use anyhow::Context;
use scopegate_core::manifest::ObjectKind;
use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::{Manifest, Method, Policy, PrincipalDoc, RequestDoc, Source, WorldDoc};

/// The organization slug of the generated world.
pub const ORG: &str = "acme";
/// The replay feature of the Sentry policy.
pub const REPLAY_FEATURE: &str = "organizations:granular-replay-permissions";
/// The replay toggle option of the Sentry policy.
pub const REPLAY_TOGGLE: &str = "sentry:granular-replay-permissions";
/// The team-roles feature of the Sentry policy.
pub const TEAM_ROLES_FEATURE: &str = "organizations:team-roles";

/// The built-in manifest: a copy of `shared/corpora/sentry/sentry-manifest.json`.
const BUILTIN_MANIFEST: &str = include_str!("../data/sentry-manifest.json");

/// How big a world to generate.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Members of the organization.
    pub members: u64,
    /// Users that are not members.
    pub outsiders: u64,
    /// Teams.
    pub teams: u64,
    /// Projects.
    pub projects: u64,
    /// Requests.
    pub requests: usize,
}

impl Size {
    /// The benchmark's size: a Sentry-shaped organization and a few thousand requests.
    pub const BENCH: Size = Size {
        members: 400,
        outsiders: 40,
        teams: 40,
        projects: 120,
        requests: 4000,
    };
    /// A smaller world for the agreement test in debug builds.
    pub const TEST: Size = Size {
        members: 80,
        outsiders: 8,
        teams: 10,
        projects: 20,
        requests: 1500,
    };
}

/// A small deterministic generator (SplitMix64): the same seed gives the same world on every
/// machine and every version, which a general-purpose RNG crate does not promise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is `0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// Member ids start here; user ids start at 1.
const MEMBER_BASE: u64 = 100_000;
/// Team ids start here.
const TEAM_BASE: u64 = 5_000;
/// Project ids start here.
const PROJECT_BASE: u64 = 50_000;
/// The integration's id.
pub const INTEGRATION: u64 = 7;

/// The user id of member number `i`.
fn member_user(i: u64) -> u64 {
    i + 1
}

/// Generates the world.
pub fn world(size: Size, seed: u64) -> WorldDoc {
    let mut rng = Rng::new(seed);
    let mut options = serde_json::Map::new();
    options.insert(REPLAY_TOGGLE.into(), serde_json::Value::Bool(true));
    // Members lose event:admin: the option trimming of the Sentry policy is exercised.
    options.insert(
        "sentry:events_member_admin".into(),
        serde_json::Value::Bool(false),
    );
    let org = OrganizationDoc {
        id: 1,
        slug: ORG.into(),
        features: vec![REPLAY_FEATURE.into(), TEAM_ROLES_FEATURE.into()],
        options,
        open_membership: false,
        require_2fa: false,
        require_sso: false,
    };
    let teams: Vec<TeamDoc> = (0..size.teams)
        .map(|t| TeamDoc {
            id: TEAM_BASE + t,
            organization: 1,
            slug: format!("team-{t}"),
        })
        .collect();
    let users: Vec<UserDoc> = (0..size.members + size.outsiders)
        .map(|i| UserDoc {
            id: member_user(i),
            has_2fa: true,
        })
        .collect();
    let members: Vec<MemberDoc> = (0..size.members)
        .map(|i| {
            let role = match rng.below(100) {
                0..=69 => "member",
                70..=79 => "admin",
                80..=91 => "manager",
                _ => "owner",
            };
            let n_teams = rng.below(4);
            let mut my_teams: Vec<MemberTeamDoc> = Vec::new();
            for _ in 0..n_teams {
                let team = TEAM_BASE + rng.below(size.teams);
                if my_teams.iter().any(|t| t.team == team) {
                    continue;
                }
                let role = rng
                    .chance(15)
                    .then(|| {
                        if rng.chance(50) {
                            "admin"
                        } else {
                            "contributor"
                        }
                    })
                    .map(String::from);
                my_teams.push(MemberTeamDoc { team, role });
            }
            MemberDoc {
                id: MEMBER_BASE + i,
                organization: 1,
                user: Some(member_user(i)),
                role: role.into(),
                teams: my_teams,
                flags: MemberFlagsDoc {
                    member_limit_restricted: rng.chance(3),
                    sso_linked: true,
                },
            }
        })
        .collect();
    let projects: Vec<ProjectDoc> = (0..size.projects)
        .map(|p| {
            let first = TEAM_BASE + rng.below(size.teams);
            let mut owners = vec![first];
            if rng.chance(25) {
                let second = TEAM_BASE + rng.below(size.teams);
                if second != first {
                    owners.push(second);
                }
            }
            ProjectDoc {
                id: PROJECT_BASE + p,
                organization: 1,
                slug: format!("project-{p}"),
                teams: owners,
                active: true,
            }
        })
        .collect();
    let mut grants: Vec<GrantDoc> = (0..size.members)
        .filter(|_| rng.chance(5))
        .map(|i| GrantDoc {
            organization: 1,
            kind: "replay".into(),
            member: Some(MEMBER_BASE + i),
            team: None,
        })
        .collect();
    for t in [0, size.teams / 2] {
        grants.push(GrantDoc {
            organization: 1,
            kind: "replay".into(),
            member: None,
            team: Some(TEAM_BASE + t),
        });
    }
    WorldDoc {
        organizations: vec![org],
        users,
        members,
        teams,
        projects,
        integrations: vec![IntegrationDoc {
            id: INTEGRATION,
            scopes: vec![
                "org:read".into(),
                "project:read".into(),
                "event:read".into(),
            ],
            installed_on: vec![1],
        }],
        granular_grants: grants,
    }
}

/// The manifest text and where it came from: `shared/corpora/sentry/sentry-manifest.json`
/// when the workspace has it beside it, else the built-in copy; see [`augment_manifest`].
pub fn manifest_json() -> anyhow::Result<(String, String)> {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sentry/sentry-manifest.json");
    let (origin, text) = match std::fs::read_to_string(&shared) {
        Ok(text) => (
            "shared/corpora/sentry/sentry-manifest.json".to_string(),
            text,
        ),
        Err(_) => (
            "built-in copy of the Sentry manifest".to_string(),
            BUILTIN_MANIFEST.to_string(),
        ),
    };
    let augmented = augment_manifest(&text).with_context(|| format!("cannot parse {origin}"))?;
    Ok((origin, augmented))
}

/// The built-in copy of the Sentry manifest, as shipped with this crate.
pub fn builtin_manifest_json() -> &'static str {
    BUILTIN_MANIFEST
}

/// Adds the replay guard to a Sentry manifest (JSON form): the corpus marks no endpoint with
/// the granular replay resource, so the replay details endpoint gets it (as Sentry's
/// `has_replay_permission` guards it) and three endpoints are added: project keys
/// (`ProjectSettingPermission`), a project replay endpoint and an organization replay
/// endpoint, both replay-guarded.
pub fn augment_manifest(text: &str) -> anyhow::Result<String> {
    let mut doc: serde_json::Value = serde_json::from_str(text)?;
    let extra: serde_json::Value = serde_json::json!({
        "permissions": {
            "sentry.api.bases.project.ProjectSettingPermission": {
                "object": "project",
                "scope_map": {
                    "GET": ["project:read", "project:write", "project:admin"],
                    "POST": ["project:write", "project:admin"],
                    "PUT": ["project:write", "project:admin"],
                    "DELETE": ["project:admin"]
                }
            },
            "sentry.api.bases.project.ProjectEventPermission": {
                "object": "project",
                "scope_map": {
                    "GET": ["event:read", "event:write", "event:admin"],
                    "POST": ["event:write", "event:admin"],
                    "PUT": ["event:write", "event:admin"],
                    "DELETE": ["event:admin"]
                }
            }
        },
        "endpoints": [
            {
                "name": "sentry.api.endpoints.project_keys.ProjectKeysEndpoint",
                "permissions": ["sentry.api.bases.project.ProjectSettingPermission"],
                "publish_status": {"GET": "public", "POST": "public"},
                "owner": "ingest"
            },
            {
                "name": "sentry.replays.endpoints.project_replay_recording_segment_index.ProjectReplayRecordingSegmentIndexEndpoint",
                "permissions": ["sentry.api.bases.project.ProjectEventPermission"],
                "publish_status": {"GET": "public", "DELETE": "public"},
                "owner": "replay",
                "granular_resource": "replay"
            },
            {
                "name": "sentry.replays.endpoints.organization_replay_index.OrganizationReplayIndexEndpoint",
                "permissions": ["sentry.replays.endpoints.project_replay_details.ReplayDetailsPermission"],
                "publish_status": {"GET": "public"},
                "owner": "replay",
                "granular_resource": "replay"
            }
        ]
    });
    if let (Some(perms), Some(extra_perms)) = (
        doc.get_mut("permissions").and_then(|p| p.as_object_mut()),
        extra.get("permissions").and_then(|p| p.as_object()),
    ) {
        for (k, v) in extra_perms {
            perms.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let (Some(eps), Some(extra_eps)) = (
        doc.get_mut("endpoints").and_then(|e| e.as_array_mut()),
        extra.get("endpoints").and_then(|e| e.as_array()),
    ) {
        for e in eps.iter_mut() {
            let replay = e
                .get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.ends_with("ProjectReplayDetailsEndpoint"));
            if let (true, Some(obj)) = (replay, e.as_object_mut()) {
                obj.entry("granular_resource")
                    .or_insert_with(|| serde_json::Value::String("replay".into()));
            }
        }
        for extra in extra_eps {
            let name = extra.get("name");
            if !eps.iter().any(|e| e.get("name") == name) {
                eps.push(extra.clone());
            }
        }
    }
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// Compiles the manifest against `policy`.
pub fn manifest(policy: &Policy) -> anyhow::Result<(String, Manifest)> {
    let (origin, text) = manifest_json()?;
    let m = Manifest::load(&Source::new("sentry-manifest.json", text), policy)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    Ok((origin, m))
}

/// Generates `size.requests` requests over every (endpoint, method) of `manifest`.
///
/// About three quarters are sessions and unbound user tokens of users (members and
/// non-members): the subset every peer decides. The rest are org tokens, API keys, the
/// integration, superuser and staff sessions, bound user tokens and anonymous callers.
pub fn requests(
    world: &WorldDoc,
    manifest: &Manifest,
    policy: &Policy,
    size: Size,
    seed: u64,
) -> Vec<RequestDoc> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let ops: Vec<(String, Method, bool)> = manifest
        .endpoints
        .iter()
        .flat_map(|e| {
            let project = e
                .classes
                .iter()
                .filter_map(|c| manifest.classes.get(*c))
                .any(|c| c.object == ObjectKind::Project);
            Method::ALL
                .iter()
                .filter(|m| {
                    **m != Method::Options
                        && e.classes
                            .iter()
                            .filter_map(|c| manifest.classes.get(*c))
                            .any(|c| c.scope_map.get(m.index()).is_some_and(Option::is_some))
                })
                .map(|m| (e.name.clone(), *m, project))
                .collect::<Vec<_>>()
        })
        .collect();
    let scopes: Vec<String> = policy.scopes.names().map(String::from).collect();
    let user_ids: Vec<u64> = world.users.iter().map(|u| u.id).collect();
    let projects: Vec<String> = world.projects.iter().map(|p| p.slug.clone()).collect();
    // Users mostly call their own teams' projects.
    let own_projects = |user: u64| -> Vec<String> {
        let teams: Vec<u64> = world
            .members
            .iter()
            .filter(|m| m.user == Some(user))
            .flat_map(|m| m.teams.iter().map(|t| t.team))
            .collect();
        world
            .projects
            .iter()
            .filter(|p| p.teams.iter().any(|t| teams.contains(t)))
            .map(|p| p.slug.clone())
            .collect()
    };
    let token_scopes = |rng: &mut Rng| -> Vec<String> {
        // Realistic tokens: a handful of scopes, often read-only ones.
        let n = 1 + rng.below(5);
        let mut out: Vec<String> = Vec::new();
        for _ in 0..n {
            if let Some(s) = rng.pick(&scopes) {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    };
    // Most of Sentry's traffic is about projects: two in five requests pick a project
    // endpoint.
    let project_ops: Vec<(String, Method, bool)> =
        ops.iter().filter(|(_, _, p)| *p).cloned().collect();
    let mut out = Vec::with_capacity(size.requests);
    while out.len() < size.requests {
        let pool = if rng.chance(40) && !project_ops.is_empty() {
            &project_ops
        } else {
            &ops
        };
        let Some((endpoint, method, project)) = rng.pick(pool).cloned() else {
            break;
        };
        let user = rng.pick(&user_ids).copied().unwrap_or(1);
        let principal = match rng.below(100) {
            0..=44 => PrincipalDoc::Session {
                user,
                superuser: scopegate_core::wire::SuperuserDoc::None,
                staff: false,
                sso_ok: true,
            },
            45..=74 => PrincipalDoc::UserToken {
                user,
                scopes: token_scopes(&mut rng),
                organization: None,
            },
            75..=79 => PrincipalDoc::UserToken {
                user,
                scopes: token_scopes(&mut rng),
                organization: Some(if rng.chance(80) { ORG } else { "other" }.into()),
            },
            80..=86 => PrincipalDoc::OrgToken {
                organization: if rng.chance(90) { ORG } else { "other" }.into(),
                scopes: token_scopes(&mut rng),
            },
            87..=89 => PrincipalDoc::ApiKey {
                organization: ORG.into(),
                scopes: token_scopes(&mut rng),
            },
            90..=93 => PrincipalDoc::Integration {
                integration: INTEGRATION,
            },
            94..=97 => PrincipalDoc::Session {
                user,
                superuser: if rng.chance(50) {
                    scopegate_core::wire::SuperuserDoc::Read
                } else {
                    scopegate_core::wire::SuperuserDoc::Write
                },
                staff: rng.chance(50),
                sso_ok: true,
            },
            98 => PrincipalDoc::System,
            _ => PrincipalDoc::Anonymous,
        };
        out.push(RequestDoc {
            principal,
            endpoint,
            method: method.as_str().into(),
            organization: Some(ORG.into()),
            project: if project {
                let own = own_projects(user);
                if !own.is_empty() && rng.chance(60) {
                    rng.pick(&own).cloned()
                } else {
                    rng.pick(&projects).cloned()
                }
            } else {
                None
            },
            team: None,
        });
    }
    out
}
