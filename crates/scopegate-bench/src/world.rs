//! A deterministic Sentry-shaped world of many organizations, manifest and request set.
//!
//! Organization sizes are skewed (Zipf-like: a few large organizations, many small ones);
//! features (team roles, granular replay), the replay toggle, the scope-trimming options and
//! open membership vary by organization; members take the four org roles in a realistic mix,
//! with pending invites and members over the member limit; teams and team-owned projects are
//! apportioned by organization size; some users belong to several organizations; integrations
//! are installed on several organizations; replay grants (members and teams) exist where the
//! feature or the toggle is on. Requests mix sessions and user tokens of members and
//! non-members with org tokens, API keys, integrations, superusers and anonymous callers,
//! over every endpoint and method of the manifest and across organizations (cross-organization
//! calls included, which must be denied).

use std::collections::{HashMap, HashSet};

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::WorldDoc;

/// The replay feature of the Sentry policy.
pub const REPLAY_FEATURE: &str = "organizations:granular-replay-permissions";
/// The replay toggle option of the Sentry policy.
pub const REPLAY_TOGGLE: &str = "sentry:granular-replay-permissions";
/// The team-roles feature of the Sentry policy.
pub const TEAM_ROLES_FEATURE: &str = "organizations:team-roles";
/// The two scope-trimming options of the Sentry policy.
pub const TRIMMING_OPTIONS: [&str; 2] =
    ["sentry:events_member_admin", "sentry:alerts_member_write"];

mod sentry_manifest;
mod traffic;
pub mod writers;

pub use sentry_manifest::{augment_manifest, builtin_manifest_json, manifest, manifest_json};
pub use traffic::requests;

/// How big a world to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Organizations.
    pub orgs: u64,
    /// Members over all organizations (pending invites included).
    pub members: u64,
    /// Teams over all organizations.
    pub teams: u64,
    /// Projects over all organizations.
    pub projects: u64,
    /// Integrations (Sentry apps), each installed on one or more organizations.
    pub integrations: u64,
    /// Requests.
    pub requests: usize,
}

impl Size {
    /// The benchmark's size (the world): 1,000 organizations, 100,000 members,
    /// 10,000 teams, 20,000 projects, and 8,000 requests.
    pub const BENCH: Size = Size {
        orgs: 1_000,
        members: 100_000,
        teams: 10_000,
        projects: 20_000,
        integrations: 40,
        requests: 8_000,
    };
    /// A world of `orgs` organizations and `members` members with the benchmark's
    /// proportions (10 teams and 20 projects per organization, 40 integrations, 8,000
    /// requests): `Size::scaled(1_000, 100_000)` is [`Size::BENCH`]; the write-path
    /// benchmark also uses `Size::scaled(10_000, 1_000_000)`.
    pub fn scaled(orgs: u64, members: u64) -> Size {
        Size {
            orgs,
            members,
            teams: orgs.saturating_mul(10),
            projects: orgs.saturating_mul(20),
            integrations: 40,
            requests: 8_000,
        }
    }

    /// A smaller world of the same shape for the agreement test in debug builds.
    pub const TEST: Size = Size {
        orgs: 12,
        members: 600,
        teams: 60,
        projects: 120,
        integrations: 4,
        requests: 3_000,
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
const MEMBER_BASE: u64 = 1_000_000;
/// Team ids start here.
const TEAM_BASE: u64 = 5_000_000;
/// Project ids start here.
const PROJECT_BASE: u64 = 8_000_000;
/// Integration ids start here.
const INTEGRATION_BASE: u64 = 7;

/// The slug of organization number `i` (id `i + 1`).
pub fn org_slug(i: usize) -> String {
    format!("org-{i}")
}

/// Splits `total` over `weights` in proportion, each part at least `min` (when `total`
/// allows), by the largest-remainder method in integers (no floating point: the same on
/// every machine).
pub fn apportion(total: u64, weights: &[u64], min: u64) -> Vec<u64> {
    let n = weights.len() as u64;
    let base = if min.saturating_mul(n) <= total {
        min
    } else {
        0
    };
    let rest = u128::from(total - base * n);
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum::<u128>().max(1);
    let mut parts: Vec<u64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let q = rest * u128::from(w);
        parts.push(base + u64::try_from(q / sum).unwrap_or(0));
        remainders.push((q % sum, i));
    }
    let given: u64 = parts.iter().sum();
    // Largest remainders first; ties to the lower index.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .into_iter()
        .take(usize::try_from(total.saturating_sub(given)).unwrap_or(0))
    {
        if let Some(p) = parts.get_mut(i) {
            *p += 1;
        }
    }
    parts
}

/// Organization `i`'s settings, drawn once. Organization 0 (the largest) has everything on,
/// so that every path of the model is exercised whatever the seed.
struct OrgShape {
    team_roles: bool,
    replay_feature: bool,
    replay_toggle: bool,
    /// Replay grants exist (members and teams).
    grants: bool,
    /// `false` values of the trimming options.
    trimmed: [bool; 2],
    open_membership: bool,
}

fn org_shape(i: usize, rng: &mut Rng) -> OrgShape {
    if i == 0 {
        return OrgShape {
            team_roles: true,
            replay_feature: true,
            replay_toggle: true,
            grants: true,
            trimmed: [true, false],
            open_membership: false,
        };
    }
    let replay_feature = rng.chance(30);
    let replay_toggle = rng.chance(if replay_feature { 70 } else { 10 });
    OrgShape {
        team_roles: rng.chance(40),
        replay_feature,
        replay_toggle,
        // Some organizations enforce an empty allowlist (everyone denied).
        grants: (replay_feature || replay_toggle) && rng.chance(80),
        trimmed: [rng.chance(25), rng.chance(15)],
        open_membership: rng.chance(35),
    }
}

/// Generates the world.
pub fn world(size: Size, seed: u64) -> WorldDoc {
    let mut rng = Rng::new(seed);
    let n_orgs = usize::try_from(size.orgs.max(1)).unwrap_or(1);
    // Zipf-like sizes: organization i weighs 1 / (i + 1).
    let zipf: Vec<u64> = (0..n_orgs as u64).map(|i| 1_000_000 / (i + 1)).collect();
    let member_counts = apportion(size.members, &zipf, 2);
    // Teams and projects grow more slowly than members: small organizations have
    // relatively more of them per member.
    let avg = size.members / size.orgs.max(1);
    let flat: Vec<u64> = member_counts.iter().map(|&m| m + avg).collect();
    let team_counts = apportion(size.teams, &flat, 1);
    let project_counts = apportion(size.projects, &flat, 1);

    let mut doc = WorldDoc::default();
    let mut next_user = 1u64;
    // Users created so far (candidates for membership of several organizations).
    let mut known_users: Vec<u64> = Vec::new();
    let mut memberships: HashSet<(usize, u64)> = HashSet::new();
    for (i, ((&n_members, &n_teams), &n_projects)) in member_counts
        .iter()
        .zip(&team_counts)
        .zip(&project_counts)
        .enumerate()
    {
        let shape = org_shape(i, &mut rng);
        let org_id = i as u64 + 1;
        let mut options = serde_json::Map::new();
        if shape.replay_toggle {
            options.insert(REPLAY_TOGGLE.into(), serde_json::Value::Bool(true));
        }
        for (key, off) in TRIMMING_OPTIONS.iter().zip(shape.trimmed) {
            if off {
                options.insert((*key).into(), serde_json::Value::Bool(false));
            }
        }
        let mut features = Vec::new();
        if shape.replay_feature {
            features.push(REPLAY_FEATURE.to_string());
        }
        if shape.team_roles {
            features.push(TEAM_ROLES_FEATURE.to_string());
        }
        doc.organizations.push(OrganizationDoc {
            id: org_id,
            slug: org_slug(i),
            features,
            options,
            open_membership: shape.open_membership,
            require_2fa: false,
            require_sso: false,
        });
        let first_team = TEAM_BASE + doc.teams.len() as u64;
        for t in 0..n_teams {
            doc.teams.push(TeamDoc {
                id: first_team + t,
                organization: org_id,
                // Slugs are unique within an organization only: the same slugs recur.
                slug: format!("team-{t}"),
            });
        }
        for p in 0..n_projects {
            let first = first_team + rng.below(n_teams);
            let mut owners = vec![first];
            if rng.chance(25) {
                let second = first_team + rng.below(n_teams);
                if second != first {
                    owners.push(second);
                }
            }
            doc.projects.push(ProjectDoc {
                id: PROJECT_BASE + doc.projects.len() as u64,
                organization: org_id,
                slug: format!("project-{p}"),
                teams: owners,
                active: !rng.chance(1),
            });
        }
        let first_member = doc.members.len();
        for k in 0..n_members {
            let role = if k == 0 {
                "owner"
            } else {
                match rng.below(100) {
                    0..=69 => "member",
                    70..=79 => "admin",
                    80..=91 => "manager",
                    _ => "owner",
                }
            };
            let user = if k > 0 && rng.chance(2) {
                // A pending invite.
                None
            } else {
                let mut reused = None;
                if rng.chance(12) {
                    for _ in 0..4 {
                        if let Some(&u) = rng.pick(&known_users) {
                            if !memberships.contains(&(i, u)) {
                                reused = Some(u);
                                break;
                            }
                        }
                    }
                }
                let u = reused.unwrap_or_else(|| {
                    let u = next_user;
                    next_user += 1;
                    known_users.push(u);
                    u
                });
                memberships.insert((i, u));
                Some(u)
            };
            let mut teams: Vec<MemberTeamDoc> = Vec::new();
            for _ in 0..rng.below(4) {
                let team = first_team + rng.below(n_teams);
                if teams.iter().any(|t| t.team == team) {
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
                teams.push(MemberTeamDoc { team, role });
            }
            doc.members.push(MemberDoc {
                id: MEMBER_BASE + doc.members.len() as u64,
                organization: org_id,
                user,
                role: role.into(),
                teams,
                flags: MemberFlagsDoc {
                    member_limit_restricted: k > 0 && rng.chance(3),
                    sso_linked: true,
                },
            });
        }
        if shape.grants {
            for m in doc.members.iter().skip(first_member) {
                if rng.chance(5) {
                    doc.granular_grants.push(GrantDoc {
                        organization: org_id,
                        kind: "replay".into(),
                        member: Some(m.id),
                        team: None,
                    });
                }
            }
            for _ in 0..1 + rng.below(2) {
                doc.granular_grants.push(GrantDoc {
                    organization: org_id,
                    kind: "replay".into(),
                    member: None,
                    team: Some(first_team + rng.below(n_teams)),
                });
            }
            doc.granular_grants.dedup();
        }
    }
    // Users who belong to no organization.
    let outsiders = (size.members / 100).max(4);
    let n_users = next_user - 1 + outsiders;
    doc.users = (1..=n_users)
        .map(|id| UserDoc { id, has_2fa: true })
        .collect();

    let integration_scopes = [
        "org:read",
        "project:read",
        "event:read",
        "event:write",
        "project:write",
        "team:read",
        "member:read",
        "alerts:read",
        "project:releases",
    ];
    for k in 0..size.integrations {
        let mut scopes: Vec<String> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            if let Some(s) = rng.pick(&integration_scopes) {
                if !scopes.iter().any(|x| x == s) {
                    scopes.push((*s).to_string());
                }
            }
        }
        let mut installed_on: Vec<u64> = if k == 0 { vec![1] } else { Vec::new() };
        for _ in 0..1 + rng.below(size.orgs / 10 + 1) {
            let o = 1 + rng.below(size.orgs.max(1));
            if !installed_on.contains(&o) {
                installed_on.push(o);
            }
        }
        doc.integrations.push(IntegrationDoc {
            id: INTEGRATION_BASE + k,
            scopes,
            installed_on,
        });
    }
    doc
}

/// A one-line description of the shape of `world`: organization sizes and settings, users
/// in several organizations, invites, members over the limit, integrations.
pub fn summary(world: &WorldDoc) -> String {
    let mut per_org: HashMap<u64, u64> = HashMap::new();
    let mut orgs_of: HashMap<u64, u64> = HashMap::new();
    let mut roles: std::collections::BTreeMap<&str, u64> = Default::default();
    let (mut invites, mut restricted, mut team_memberships) = (0u64, 0u64, 0u64);
    for m in &world.members {
        *per_org.entry(m.organization).or_default() += 1;
        *roles.entry(m.role.as_str()).or_default() += 1;
        match m.user {
            Some(u) => *orgs_of.entry(u).or_default() += 1,
            None => invites += 1,
        }
        restricted += u64::from(m.flags.member_limit_restricted);
        team_memberships += m.teams.len() as u64;
    }
    let mut sizes: Vec<u64> = per_org.values().copied().collect();
    sizes.sort_unstable();
    let at = |q: usize| -> u64 {
        sizes
            .get((sizes.len().saturating_sub(1)) * q / 100)
            .copied()
            .unwrap_or(0)
    };
    let top10: u64 = sizes.iter().rev().take(10).sum();
    let count = |f: &dyn Fn(&OrganizationDoc) -> bool| -> usize {
        world.organizations.iter().filter(|o| f(o)).count()
    };
    let option_off = |o: &OrganizationDoc, k: &str| o.options.get(k).is_some_and(|v| v == false);
    let enforced = count(&|o| {
        o.features.iter().any(|f| f == REPLAY_FEATURE)
            && o.options.get(REPLAY_TOGGLE).is_some_and(|v| v == true)
    });
    let grant_orgs: HashSet<u64> = world
        .granular_grants
        .iter()
        .map(|g| g.organization)
        .collect();
    let [events, alerts] = TRIMMING_OPTIONS;
    let installs: usize = world
        .integrations
        .iter()
        .map(|i| i.installed_on.len())
        .sum();
    format!(
        "members per organization: min {}, median {}, p90 {}, p99 {}, max {} (largest 10 hold {}); \
         roles {:?}; {} pending invites, {} over the member limit, {} team memberships; \
         {} users in 2+ organizations; organizations with team roles {}, replay feature {}, \
         replay toggle {}, replay enforced {}, replay grants {}, events_member_admin off {}, \
         alerts_member_write off {}, open membership {}; {} integrations on {} organizations in all",
        at(0),
        at(50),
        at(90),
        at(99),
        at(100),
        top10,
        roles,
        invites,
        restricted,
        team_memberships,
        orgs_of.values().filter(|&&n| n > 1).count(),
        count(&|o| o.features.iter().any(|f| f == TEAM_ROLES_FEATURE)),
        count(&|o| o.features.iter().any(|f| f == REPLAY_FEATURE)),
        count(&|o| o.options.get(REPLAY_TOGGLE).is_some_and(|v| v == true)),
        enforced,
        grant_orgs.len(),
        count(&|o| option_off(o, events)),
        count(&|o| option_off(o, alerts)),
        count(&|o| o.open_membership),
        world.integrations.len(),
        installs,
    )
}
