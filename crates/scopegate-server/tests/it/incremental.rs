//! The incrementally kept index equals one built from scratch (issue 13): random sequences
//! of writes through the API (and one by another process, straight to the store), and after
//! each, the live index compared with `World::build` of a full export at the same revision —
//! structurally (`Index::same_as`) and decision for decision on requests drawn from the
//! world. On SQLite always, on PostgreSQL when `SCOPEGATE_TEST_DATABASE_URL` is set.
//!
//! Most writes patch only their rows into the organization's shard (a member's role, teams,
//! user or grants; a team created or renamed; a project created, retargeted or deleted; a
//! rename that changes nothing the index reads); the others (a slug, a team deleted, the
//! toggle) rebuild the organization: the operations draw both kinds.

use axum::http::StatusCode;
use proptest::prelude::*;
use scopegate_core::{Engine, Method, Policy, Principal, Request, Superuser};
use scopegate_server::index::{token_principal, Index};
use scopegate_store::{Actor, CatchUp, NewToken, TokenKind};
use serde_json::json;

use crate::App;

/// One write, its parameters drawn small so that writes meet (the same team, the same
/// member).
#[derive(Debug, Clone)]
enum Op {
    RenameOrg(u8),
    CreateTeam(u8),
    DeleteTeam(u8),
    SetRole(u8, u8),
    Invite(u8),
    RemoveMember(u8),
    JoinTeam(u8, u8),
    LeaveTeam(u8, u8),
    RenameTeam(u8, u8),
    CreateProject(u8, u8),
    DeleteProject(u8),
    /// An invite accepted by a user created for it, straight in the store (the sync loop's
    /// catch-up): a member whose user changes.
    Accept(u8),
    OrgToken(u8),
    UserToken(u8),
    DeleteToken(u8),
    Granular(bool, u8),
    /// A token made by another process (`scopegate token create`): straight to the store,
    /// then the sync loop's catch-up.
    Elsewhere(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::RenameOrg),
        any::<u8>().prop_map(Op::CreateTeam),
        any::<u8>().prop_map(Op::DeleteTeam),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::SetRole(a, b)),
        any::<u8>().prop_map(Op::Invite),
        any::<u8>().prop_map(Op::RemoveMember),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::JoinTeam(a, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::LeaveTeam(a, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RenameTeam(a, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::CreateProject(a, b)),
        any::<u8>().prop_map(Op::DeleteProject),
        any::<u8>().prop_map(Op::Accept),
        any::<u8>().prop_map(Op::OrgToken),
        any::<u8>().prop_map(Op::UserToken),
        any::<u8>().prop_map(Op::DeleteToken),
        (any::<bool>(), any::<u8>()).prop_map(|(a, b)| Op::Granular(a, b)),
        any::<u8>().prop_map(Op::Elsewhere),
    ]
}

const ROLES: [&str; 3] = ["member", "manager", "owner"];

fn pick<T: Clone>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[usize::from(i) % items.len()].clone())
}

/// The organization's current slug, members (id, user) and team slugs.
async fn state_of(app: &App) -> (String, i64, Vec<(i64, Option<i64>)>, Vec<String>) {
    let orgs = app.store.orgs_of_user(1, Default::default()).await.unwrap();
    let org = orgs.into_iter().next().unwrap();
    let members = app
        .store
        .members(
            org.id,
            scopegate_store::Page {
                offset: 0,
                limit: 1_000,
            },
        )
        .await
        .unwrap()
        .iter()
        // Not the owner making the calls.
        .filter(|m| m.user_id != Some(1))
        .map(|m| (m.id, m.user_id))
        .collect();
    let teams = app
        .store
        .teams(
            org.id,
            scopegate_store::Page {
                offset: 0,
                limit: 1_000,
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    (org.slug, org.id, members, teams)
}

/// Applies `op` through the API as the owner (never a 5xx); whether it was applied (a 2xx).
async fn apply(app: &App, op: &Op, n: usize) -> bool {
    let (slug, org_id, members, teams) = state_of(app).await;
    let o = format!("/api/0/organizations/{slug}");
    let call = |method: &'static str, path: String, body: Option<serde_json::Value>| async move {
        let body = body.map(|b| b.to_string());
        app.call(method, &path, "owner", body.as_deref()).await
    };
    let r = match op {
        Op::RenameOrg(i) => {
            call(
                "PUT",
                format!("{o}/"),
                Some(json!({"slug": format!("demo{}", i % 3), "name": format!("Demo {i}")})),
            )
            .await
        }
        Op::CreateTeam(i) => {
            call(
                "POST",
                format!("{o}/teams/"),
                Some(json!({"slug": format!("t{}", i % 5)})),
            )
            .await
        }
        Op::DeleteTeam(i) => {
            let Some(t) = pick(&teams, *i) else {
                return false;
            };
            call("DELETE", format!("/api/0/teams/{slug}/{t}/"), None).await
        }
        Op::SetRole(m, r) => {
            let Some((id, _)) = pick(&members, *m) else {
                return false;
            };
            call(
                "PUT",
                format!("{o}/members/{id}/"),
                Some(json!({"orgRole": ROLES[usize::from(*r) % 3]})),
            )
            .await
        }
        Op::Invite(i) => {
            call(
                "POST",
                format!("{o}/members/"),
                Some(json!({"email": format!("p{n}-{i}@x.invalid"), "orgRole": "member"})),
            )
            .await
        }
        Op::RemoveMember(m) => {
            let Some((id, _)) = pick(&members, *m) else {
                return false;
            };
            call("DELETE", format!("{o}/members/{id}/"), None).await
        }
        Op::JoinTeam(m, t) => {
            let (Some((id, _)), Some(t)) = (pick(&members, *m), pick(&teams, *t)) else {
                return false;
            };
            call("POST", format!("{o}/members/{id}/teams/{t}/"), None).await
        }
        Op::LeaveTeam(m, t) => {
            let (Some((id, _)), Some(t)) = (pick(&members, *m), pick(&teams, *t)) else {
                return false;
            };
            call("DELETE", format!("{o}/members/{id}/teams/{t}/"), None).await
        }
        Op::RenameTeam(t, i) => {
            let Some(t) = pick(&teams, *t) else {
                return false;
            };
            call(
                "PUT",
                format!("/api/0/teams/{slug}/{t}/"),
                Some(json!({"slug": format!("r{}", i % 7)})),
            )
            .await
        }
        Op::DeleteProject(p) => {
            let projects: Vec<String> = app
                .store
                .projects(org_id, Default::default())
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.slug)
                .collect();
            let Some(p) = pick(&projects, *p) else {
                return false;
            };
            call("DELETE", format!("/api/0/projects/{slug}/{p}/"), None).await
        }
        Op::Accept(m) => {
            let pending: Vec<i64> = members
                .iter()
                .filter(|(_, user)| user.is_none())
                .map(|(id, _)| *id)
                .collect();
            let Some(member) = pick(&pending, *m) else {
                return false;
            };
            let user = app
                .store
                .create_user(&format!("a{n}-{m}@x.invalid"), false)
                .await
                .unwrap();
            app.store
                .accept_invite(org_id, member, user.id, &Actor::system())
                .await
                .unwrap();
            app.state
                .index
                .catch_up(&*app.store, &app.state.policy)
                .await
                .unwrap();
            return true;
        }
        Op::CreateProject(p, t) => {
            let Some(t) = pick(&teams, *t) else {
                return false;
            };
            call(
                "POST",
                format!("/api/0/teams/{slug}/{t}/projects/"),
                Some(json!({"slug": format!("p{p}-{n}"), "name": "P"})),
            )
            .await
        }
        Op::OrgToken(i) => {
            call(
                "POST",
                format!("{o}/org-auth-tokens/"),
                Some(json!({"name": format!("ci{i}")})),
            )
            .await
        }
        Op::UserToken(i) => {
            let scopes = if i % 2 == 0 {
                json!(["org:read"])
            } else {
                json!(["org:read", "member:read"])
            };
            call(
                "POST",
                "/api/0/api-tokens/".into(),
                Some(json!({"scopes": scopes, "organization": slug})),
            )
            .await
        }
        Op::DeleteToken(i) => {
            let tokens: Vec<i64> = app
                .store
                .all_tokens()
                .await
                .unwrap()
                .iter()
                .filter(|t| t.kind == TokenKind::User && t.user_id == Some(1))
                // Not the token making the calls.
                .filter(|t| t.hash != scopegate_store::hash_secret(&app.tokens["owner"]))
                .map(|t| t.id)
                .collect();
            let Some(id) = pick(&tokens, *i) else {
                return false;
            };
            call("DELETE", format!("/api/0/api-tokens/{id}/"), None).await
        }
        Op::Granular(on, m) => {
            let body = match pick(&members, *m) {
                Some((id, _)) if !*on => json!({"members": [id.to_string()]}),
                _ => json!({"enabled": *on}),
            };
            call("PUT", format!("{o}/granular-access/replay/"), Some(body)).await
        }
        Op::Elsewhere(i) => {
            let new = NewToken {
                kind: if i % 2 == 0 {
                    TokenKind::Org
                } else {
                    TokenKind::User
                },
                user_id: Some(1),
                organization_id: Some(org_id),
                name: Some("elsewhere".into()),
                scopes: vec!["org:read".into()],
            };
            app.store
                .create_token(&new, &Actor::system())
                .await
                .unwrap();
            // What the sync loop does on the feed or its poll.
            app.state
                .index
                .catch_up(&*app.store, &app.state.policy)
                .await
                .unwrap();
            return true;
        }
    };
    assert!(
        !r.status.is_server_error(),
        "{op:?}: {} {:?}",
        r.status,
        r.body
    );
    if r.status.is_success() && r.status != StatusCode::NO_CONTENT {
        // A write names the revision its index reached.
        assert!(r.revision.is_some() || r.status == StatusCode::OK, "{op:?}");
    }
    r.status.is_success()
}

/// The live index against one built from a full export at the same revision.
async fn compare(app: &App, seed: u64, after: &Op) {
    let policy = Policy::sentry();
    let live = app.state.index.current();
    let CatchUp::Full {
        revision,
        world,
        tokens,
    } = app.store.catch_up(0).await.unwrap()
    else {
        panic!("a full snapshot");
    };
    assert_eq!(
        live.revision, revision,
        "after {after:?}: the live index is at the store's revision"
    );
    let principals: Vec<Principal> = world
        .users
        .iter()
        .map(|u| Principal::Session {
            user: u.id,
            superuser: Superuser::None,
            staff: false,
            sso_ok: true,
        })
        .chain(tokens.iter().filter_map(|t| token_principal(t, &policy)))
        .chain([Principal::Anonymous])
        .collect();
    let full = Index::build_at(&world, tokens, &policy, 0, revision).unwrap();
    assert!(live.same_as(&full), "after {after:?}: structurally");
    let manifest = &app.state.decision_manifest;
    let live_engine = Engine::new(&policy, manifest, &live.world);
    let full_engine = Engine::new(&policy, manifest, &full.world);
    let orgs: Vec<Option<String>> = world
        .organizations
        .iter()
        .map(|o| Some(o.slug.clone()))
        .chain([Some("gone".into())])
        .collect();
    let teams: Vec<Option<String>> = world
        .teams
        .iter()
        .map(|t| Some(t.slug.clone()))
        .chain([None])
        .collect();
    let projects: Vec<Option<String>> = world
        .projects
        .iter()
        .map(|p| Some(p.slug.clone()))
        .chain([None])
        .collect();
    let methods = [Method::Get, Method::Post, Method::Put, Method::Delete];
    let mut x = seed | 1;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    for _ in 0..300 {
        let request = Request {
            principal: principals[next(principals.len())].clone(),
            endpoint: manifest.endpoints[next(manifest.endpoints.len())]
                .name
                .clone(),
            method: methods[next(methods.len())],
            organization: orgs[next(orgs.len())].clone(),
            project: projects[next(projects.len())].clone(),
            team: teams[next(teams.len())].clone(),
        };
        assert_eq!(
            live_engine.decide(&request).to_doc(&policy),
            full_engine.decide(&request).to_doc(&policy),
            "after {after:?}: {request:?}"
        );
    }
}

async fn run(app: App, ops: Vec<Op>, seed: u64) {
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store
        .set_features(
            org.id,
            &["organizations:granular-replay-permissions".into()],
            &[],
            &Actor::system(),
        )
        .await
        .unwrap();
    app.state
        .index
        .catch_up(&*app.store, &app.state.policy)
        .await
        .unwrap();
    for (n, op) in ops.iter().enumerate() {
        // Refused writes (a taken slug, a guarded removal) are compared after too.
        apply(&app, op, n).await;
        compare(&app, seed.wrapping_add(n as u64), op).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_incremental_index_equals_a_full_build_on_sqlite(ops in prop::collection::vec(op(), 1..10), seed in any::<u64>()) {
        runtime().block_on(async { run(crate::app().await, ops, seed).await });
    }

    #[test]
    fn the_incremental_index_equals_a_full_build_on_postgres(ops in prop::collection::vec(op(), 1..10), seed in any::<u64>()) {
        runtime().block_on(async {
            if let Some(app) = crate::postgres_app().await {
                run(app, ops, seed).await;
            }
        });
    }
}
