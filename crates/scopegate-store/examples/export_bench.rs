//! Benchmark (not a test) of the export the decision API's index is rebuilt from, for
//! `BENCHMARKS.md`: a deterministic world of 1,000 organizations, 100,000 members (50,000
//! users, each a member of two organizations), 10,000 teams, 20,000 projects, 20
//! integrations and 5,000 granular grants is imported (`Store::import_world`, timed once),
//! then `Store::full_world` + `World::build` are timed, five runs, median and extremes. For
//! comparison, the per-organization export that `full_world` replaced (the same queries:
//! per organization its row, members, teams, each team's memberships, projects, each
//! project's teams, grants and users) is replayed once with plain SQL.
//!
//! ```text
//! cargo run --release -p scopegate-store --example export_bench [DATABASE_URL]
//! ```
//!
//! Without a URL it uses a fresh SQLite file; with a `postgres://` URL it creates and drops
//! a fresh database on that server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "a benchmark program: a failure should stop it"
)]

use std::time::{Duration, Instant};

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::{Policy, World, WorldDoc};
use scopegate_store::Actor;

const ORGS: u64 = 1_000;
const USERS: u64 = 50_000;
const MEMBERS_PER_ORG: u64 = 100;
const TEAMS_PER_ORG: u64 = 10;
const PROJECTS_PER_ORG: u64 = 20;
const INTEGRATIONS: u64 = 20;
const RUNS: usize = 5;

/// A world of the sizes above; every id and choice derived from its index.
fn world() -> WorldDoc {
    let roles = ["member", "member", "member", "admin", "manager", "owner"];
    let mut w = WorldDoc::default();
    for u in 0..USERS {
        w.users.push(UserDoc {
            id: 1 + u,
            has_2fa: u % 7 != 0,
        });
    }
    for o in 0..ORGS {
        let org = 1 + o;
        let mut options = serde_json::Map::new();
        options.insert(
            "sentry:granular-replay-permissions".into(),
            (o % 2 == 0).into(),
        );
        w.organizations.push(OrganizationDoc {
            id: org,
            slug: format!("org-{o}"),
            features: vec![
                "organizations:team-roles".into(),
                "organizations:granular-replay-permissions".into(),
            ],
            options,
            open_membership: o % 4 == 0,
            require_2fa: false,
            require_sso: false,
        });
        let team = |t: u64| 1 + o * TEAMS_PER_ORG + t;
        for t in 0..TEAMS_PER_ORG {
            w.teams.push(TeamDoc {
                id: team(t),
                organization: org,
                slug: format!("team-{t}"),
            });
        }
        for p in 0..PROJECTS_PER_ORG {
            let owners = if p % 3 == 0 {
                vec![team(p % TEAMS_PER_ORG), team((p + 1) % TEAMS_PER_ORG)]
            } else {
                vec![team(p % TEAMS_PER_ORG)]
            };
            w.projects.push(ProjectDoc {
                id: 1 + o * PROJECTS_PER_ORG + p,
                organization: org,
                slug: format!("project-{p}"),
                teams: owners,
                active: p % 10 != 9,
            });
        }
        for m in 0..MEMBERS_PER_ORG {
            let id = 1 + o * MEMBERS_PER_ORG + m;
            // Users 1..=50,000 are each a member of two organizations; one member in 50 is
            // a pending invite.
            let user = (m % 50 != 49).then_some(1 + (o * MEMBERS_PER_ORG + m) % USERS);
            let mut teams = vec![MemberTeamDoc {
                team: team(m % TEAMS_PER_ORG),
                role: None,
            }];
            if m % 4 == 0 {
                teams.push(MemberTeamDoc {
                    team: team((m + 3) % TEAMS_PER_ORG),
                    role: Some("admin".into()),
                });
            }
            w.members.push(MemberDoc {
                id,
                organization: org,
                user,
                role: roles[(m % roles.len() as u64) as usize].into(),
                teams,
                flags: MemberFlagsDoc {
                    member_limit_restricted: false,
                    sso_linked: true,
                },
            });
            if m % 20 == 0 {
                w.granular_grants.push(GrantDoc {
                    organization: org,
                    kind: "replay".into(),
                    member: Some(id),
                    team: None,
                });
            }
        }
    }
    for i in 0..INTEGRATIONS {
        w.integrations.push(IntegrationDoc {
            id: 1 + i,
            scopes: vec!["event:read".into(), "org:read".into()],
            installed_on: (0..ORGS)
                .filter(|o| o % INTEGRATIONS == i)
                .map(|o| 1 + o)
                .collect(),
        });
    }
    w
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The queries of the per-organization export `full_world` replaced, run on `$pool`; the
/// number of queries.
macro_rules! legacy {
    ($pool:expr) => {{
        let pool = $pool;
        let mut queries = 1usize;
        let slugs: Vec<(String,)> = sqlx::query_as("SELECT slug FROM organizations ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        for (slug,) in &slugs {
            let (org,): (i64,) = sqlx::query_as(
                "SELECT id, slug, name, options, features, open_membership, require_2fa, \
                 require_sso, created_at FROM organizations WHERE slug = $1",
            )
            .bind(slug)
            .fetch_one(&pool)
            .await
            .map(|r: (i64, String, String, String, String, bool, bool, bool, i64)| (r.0,))
            .unwrap();
            let members: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
                "SELECT id, user_id, role FROM members WHERE organization_id = $1 ORDER BY id",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
            let teams: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, slug FROM teams WHERE organization_id = $1 ORDER BY slug",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
            for (team, _) in &teams {
                let _: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
                    "SELECT team_id, member_id, role FROM team_members WHERE team_id = $1 \
                     ORDER BY member_id",
                )
                .bind(team)
                .fetch_all(&pool)
                .await
                .unwrap();
            }
            let projects: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, slug FROM projects WHERE organization_id = $1 ORDER BY slug",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
            for (project, _) in &projects {
                let _: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT project_id, team_id FROM project_teams WHERE project_id = $1 \
                     ORDER BY team_id",
                )
                .bind(project)
                .fetch_all(&pool)
                .await
                .unwrap();
            }
            let _: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT kind, member_id, team_id FROM granular_grants WHERE organization_id = $1 \
                 ORDER BY id",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
            let _: Vec<(i64, bool)> = sqlx::query_as(
                "SELECT u.id, u.has_2fa FROM users u JOIN members m ON m.user_id = u.id \
                 WHERE m.organization_id = $1 ORDER BY u.id",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
            std::hint::black_box(&members);
            queries += 6 + teams.len() + projects.len();
        }
        let _: Vec<(i64, bool)> = sqlx::query_as("SELECT id, has_2fa FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        queries + 1
    }};
}

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1);
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = match &arg {
        Some(base) if base.starts_with("postgres") => (
            scopegate_store::testing::fresh_postgres_database(base)
                .await
                .unwrap(),
            true,
        ),
        Some(u) => (u.clone(), false),
        None => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            false,
        ),
    };
    let policy = Policy::sentry();
    let doc = world();
    println!(
        "world: {} organizations, {} users, {} members, {} teams, {} projects, {} integrations, {} grants",
        doc.organizations.len(),
        doc.users.len(),
        doc.members.len(),
        doc.teams.len(),
        doc.projects.len(),
        doc.integrations.len(),
        doc.granular_grants.len()
    );
    let store = scopegate_store::connect(&url).await.unwrap();
    let start = Instant::now();
    store
        .import_world(&doc, &policy, &Actor::system())
        .await
        .unwrap();
    println!("import_world: {}", ms(start.elapsed()));

    let mut export = Vec::new();
    let mut build = Vec::new();
    let mut total = Vec::new();
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let back = store.full_world().await.unwrap();
        let t1 = Instant::now();
        let world = World::build(&back, &policy).unwrap();
        let t2 = Instant::now();
        assert_eq!(back.members.len(), doc.members.len());
        std::hint::black_box(world);
        export.push(t1 - t0);
        build.push(t2 - t1);
        total.push(t2 - t0);
    }
    for (what, v) in [
        ("full_world", export),
        ("World::build", build),
        ("export + build", total),
    ] {
        let (min, med, max) = median(v);
        println!(
            "{what}: median {} (min {}, max {}) over {RUNS} runs",
            ms(med),
            ms(min),
            ms(max)
        );
    }
    let t0 = Instant::now();
    let queries = if pg {
        legacy!(sqlx::PgPool::connect(&url).await.unwrap())
    } else {
        legacy!(sqlx::SqlitePool::connect(&url).await.unwrap())
    };
    println!(
        "per-organization export (before): {} in {queries} queries",
        ms(t0.elapsed())
    );
    drop(store);
    if pg {
        scopegate_store::testing::drop_postgres_database(&url)
            .await
            .unwrap();
    }
}
