//! Benchmark (not a test) of granular replay access, for `BENCHMARKS.md`:
//!
//! 1. a PUT-equivalent edit (`Store::edit_org` with `replayAccessMembers`) replacing a
//!    10,000-member allowlist by another 10,000-member allowlist (5,000 kept, 5,000 revoked,
//!    5,000 granted) in an organization of 20,000 members;
//! 2. the engine's decision time for a replay endpoint over worlds whose allowlist holds
//!    10 … 10,000 members.
//!
//! ```text
//! cargo run --release -p scopegate-store --example granular_bench [DATABASE_URL]
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

use scopegate_core::wire::{GrantDoc, MemberDoc, MemberFlagsDoc, OrganizationDoc, UserDoc};
use scopegate_core::{
    Engine, Manifest, Policy, Principal, Request, Source, Superuser, World, WorldDoc,
};
use scopegate_store::{Actor, GrantSelection, GranularEdit, OrgUpdate};

const MEMBERS: usize = 20_000;
const LISTED: usize = 10_000;
const FEATURE: &str = "organizations:granular-replay-permissions";

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
    let store = scopegate_store::connect(&url).await.unwrap();
    let owner = store
        .create_user("owner@bench.invalid", false)
        .await
        .unwrap();
    let org = store
        .create_org(
            "bench",
            "Bench",
            &[FEATURE.to_string()],
            owner.id,
            "owner",
            &Actor::system(),
        )
        .await
        .unwrap();
    let seed = Instant::now();
    let users = seed_members(&url, org.id, MEMBERS).await;
    println!(
        "seeded {MEMBERS} members in {:.1} s",
        seed.elapsed().as_secs_f64()
    );
    let edit = |list: Vec<i64>| GranularEdit {
        kind: "replay".into(),
        toggle_option: "sentry:granular-replay-permissions".into(),
        toggle: Some(true),
        members: Some(GrantSelection::UserIds(list)),
        teams: None,
        toggle_field: "hasGranularReplayPermissions".into(),
        members_field: "replayAccessMembers".into(),
    };
    let first: Vec<i64> = users[..LISTED].to_vec();
    let second: Vec<i64> = users[LISTED / 2..LISTED / 2 + LISTED].to_vec();
    let actor = Actor::user(owner.id);
    let t = Instant::now();
    store
        .edit_org(
            org.id,
            &OrgUpdate::default(),
            Some(&edit(first.clone())),
            &actor,
        )
        .await
        .unwrap();
    println!(
        "grant 10,000 from empty: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    if pg && std::env::var_os("BENCH_ANALYZE").is_some() {
        // What autovacuum does on its own a minute later: fresh statistics.
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
        println!("ANALYZE done");
    }
    let mut times = Vec::new();
    for round in 0..5 {
        let list = if round % 2 == 0 { &second } else { &first };
        let t = Instant::now();
        store
            .edit_org(
                org.id,
                &OrgUpdate::default(),
                Some(&edit(list.clone())),
                &actor,
            )
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "replace a 10,000-member allowlist (5,000 revoked + 5,000 granted, audited) in a \
         {MEMBERS}-member org: median {:.0} ms, min {:.0} ms, max {:.0} ms ({})",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        if pg { "PostgreSQL" } else { "SQLite" }
    );
    let grants = store.grants(org.id).await.unwrap().len();
    let audit = store
        .audit_log(
            org.id,
            scopegate_store::Page {
                offset: 0,
                limit: 1_000_000,
            },
        )
        .await
        .unwrap()
        .len();
    println!("check: {grants} grants stored, {audit} audit entries");
    assert_eq!(grants, LISTED);
    decision_scaling();
    if pg {
        drop(store);
        scopegate_store::testing::drop_postgres_database(&url)
            .await
            .unwrap();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Inserts `n` users and their memberships in bulk; returns the user ids.
async fn seed_members(url: &str, org: i64, n: usize) -> Vec<i64> {
    // Plain SQL in bulk: seeding 20,000 members through the audited API would dominate the
    // run and is not what is measured.
    macro_rules! seed {
        ($pool:expr, $db:ty) => {{
            let pool = $pool;
            let mut ids = Vec::new();
            for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO users (email, is_superuser, has_2fa, created_at) ",
                );
                qb.push_values(chunk, |mut b, i| {
                    b.push_bind(format!("u{i}@bench.invalid"))
                        .push_bind(false)
                        .push_bind(true)
                        .push_bind(0_i64);
                });
                qb.push(" RETURNING id");
                let rows: Vec<(i64,)> = qb.build_query_as().fetch_all(&pool).await.unwrap();
                let chunk_ids: Vec<i64> = rows.into_iter().map(|r| r.0).collect();
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO members (organization_id, user_id, email, role, created_at) ",
                );
                qb.push_values(&chunk_ids, |mut b, id| {
                    b.push_bind(org)
                        .push_bind(*id)
                        .push_bind(format!("user{id}@bench.invalid"))
                        .push_bind("member")
                        .push_bind(0_i64);
                });
                qb.build().execute(&pool).await.unwrap();
                ids.extend(chunk_ids);
            }
            ids
        }};
    }
    if url.starts_with("postgres") {
        seed!(sqlx::PgPool::connect(url).await.unwrap(), sqlx::Postgres)
    } else {
        seed!(sqlx::SqlitePool::connect(url).await.unwrap(), sqlx::Sqlite)
    }
}

const MANIFEST: &str = r#"
[permissions.OrganizationEventPermission]
object = "organization"
scope_map = { GET = ["event:read", "event:write", "event:admin"] }

[[endpoints]]
name = "OrganizationReplayIndexEndpoint"
path = "/api/0/organizations/{organization_id_or_slug}/replays/"
permissions = ["OrganizationEventPermission"]
publish_status = { GET = "public" }
owner = "replay-backend"
granular_resource = "replay"
"#;

/// Decision time of a replay endpoint for a listed and an unlisted member, against the
/// allowlist's size.
fn decision_scaling() {
    let policy = Policy::sentry();
    let manifest = Manifest::load(&Source::new("bench.toml", MANIFEST), &policy).unwrap();
    println!("decision time of a replay endpoint (GET, toggle on), by allowlist size:");
    for listed in [10_usize, 100, 1_000, 10_000] {
        let members = listed * 2;
        let mut doc = WorldDoc::default();
        let mut options = serde_json::Map::new();
        options.insert("sentry:granular-replay-permissions".into(), true.into());
        doc.organizations.push(OrganizationDoc {
            id: 1,
            slug: "bench".into(),
            features: vec![FEATURE.into()],
            options,
            open_membership: true,
            ..OrganizationDoc::default()
        });
        for i in 1..=members as u64 {
            doc.users.push(UserDoc {
                id: i,
                has_2fa: true,
            });
            doc.members.push(MemberDoc {
                id: i,
                organization: 1,
                user: Some(i),
                role: "member".into(),
                teams: Vec::new(),
                flags: MemberFlagsDoc::default(),
            });
            if i <= listed as u64 {
                doc.granular_grants.push(GrantDoc {
                    organization: 1,
                    kind: "replay".into(),
                    member: Some(i),
                    team: None,
                });
            }
        }
        let world = World::build(&doc, &policy).unwrap();
        let engine = Engine::new(&policy, &manifest, &world);
        let request = |user: u64| Request {
            principal: Principal::Session {
                user,
                superuser: Superuser::None,
                staff: false,
                sso_ok: true,
            },
            endpoint: "OrganizationReplayIndexEndpoint".into(),
            method: scopegate_core::Method::Get,
            organization: Some("bench".into()),
            project: None,
            team: None,
        };
        let listed_req = request(listed as u64);
        let unlisted_req = request(members as u64);
        assert_eq!(engine.decide(&listed_req).status(), 200);
        assert_eq!(engine.decide(&unlisted_req).status(), 403);
        let iters = 200_000;
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(engine.decide(std::hint::black_box(&listed_req)));
            std::hint::black_box(engine.decide(std::hint::black_box(&unlisted_req)));
        }
        let ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(iters * 2);
        println!("  {listed:>6} listed of {members:>6} members: {ns:.0} ns per decision");
    }
}
