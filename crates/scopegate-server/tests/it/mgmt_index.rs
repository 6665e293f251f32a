//! The management API authorizes from the decision index snapshot, the one `/v1/` decides
//! over (issue 13, part 2): no per-request export of the organization; the store is read
//! only when the index cannot answer (a secret it does not know, an organization pending
//! deletion on its details routes), each such read counted in
//! `scopegate_auth_store_fallbacks_total`; a write through the API reaches the next
//! management call; a change past the API reaches `/api/` and `/v1/` together.
//!
//! The harness's [`App::call`] sends requests through the router as they are: the index is
//! the one the service keeps (caught up to the store's revision for `/api/`).

use axum::http::StatusCode;
use scopegate_core::Policy;
use scopegate_server::demo;
use scopegate_store::{Actor, NewToken, TokenKind};
use serde_json::{json, Value};

use crate::metrics::{scrape, total};
use crate::{app, App};

const FALLBACKS: &str = "scopegate_auth_store_fallbacks_total";

/// The store reads of authorization counted so far: (token, unsynced_user,
/// unindexed_organization).
async fn fallbacks(app: &App) -> (f64, f64, f64) {
    let (_, m) = scrape(app).await;
    let count = |reason| total(&m, FALLBACKS, &[("reason", reason)]);
    (
        count("token"),
        count("unsynced_user"),
        count("unindexed_organization"),
    )
}

/// The id of the demo organization's team `slug`.
async fn team_id(app: &App, slug: &str) -> i64 {
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store.team_by_slug(org.id, slug).await.unwrap().id
}

/// The member id of the demo organization's member whose email starts with `who`.
async fn member_id(app: &App, who: &str) -> i64 {
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store
        .members(org.id, scopegate_store::Page::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.as_deref().is_some_and(|e| e.starts_with(who)))
        .unwrap()
        .id
}

/// `/v1/check` of `who`'s bearer token on `endpoint` `method` in the demo organization.
async fn v1_status(app: &App, who: &str, endpoint: &str, method: &str) -> u64 {
    let body = json!({
        "principal": {"kind": "bearer", "token": app.tokens[who]},
        "endpoint": endpoint, "method": method, "organization": "demo",
    });
    let r = app
        .call("POST", "/v1/check", "service", Some(&body.to_string()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["status"].as_u64().unwrap()
}

#[tokio::test]
async fn management_calls_read_no_export_and_each_store_read_is_counted() {
    let app = app().await;
    let backend = team_id(&app, "backend").await;
    let bob = member_id(&app, "bob").await;
    let calls: [(&str, String, &str, Option<&str>, StatusCode); 10] = [
        (
            "GET",
            "/api/0/organizations/demo/".into(),
            "owner",
            None,
            StatusCode::OK,
        ),
        (
            "GET",
            "/api/0/organizations/demo/members/".into(),
            "alice",
            None,
            StatusCode::OK,
        ),
        (
            "GET",
            format!("/api/0/teams/demo/{backend}/"),
            "alice",
            None,
            StatusCode::OK,
        ),
        // The org token holds `org:ci` only: denied, by the engine, from the index.
        (
            "GET",
            "/api/0/organizations/demo/projects/".into(),
            "ci",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/0/organizations/".into(),
            "bob",
            None,
            StatusCode::OK,
        ),
        (
            "PUT",
            "/api/0/organizations/demo/".into(),
            "manager",
            Some(r#"{"name": "Renamed"}"#),
            StatusCode::OK,
        ),
        (
            "POST",
            "/api/0/organizations/demo/teams/".into(),
            "owner",
            Some(r#"{"slug": "ops"}"#),
            StatusCode::CREATED,
        ),
        (
            "POST",
            format!("/api/0/organizations/demo/members/{bob}/teams/{backend}/"),
            "owner",
            None,
            StatusCode::CREATED,
        ),
        (
            "PUT",
            "/api/0/organizations/demo/".into(),
            "bob",
            Some(r#"{"name": "Mine"}"#),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/0/organizations/demo/".into(),
            "",
            None,
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (method, uri, who, body, status) in &calls {
        let r = app.call(method, uri, who, *body).await;
        assert_eq!(r.status, *status, "{method} {uri} as {who}: {:?}", r.body);
    }
    assert_eq!(
        fallbacks(&app).await,
        (0.0, 0.0, 0.0),
        "no store read to authorize"
    );

    // An organization pending deletion is not in the index: its details routes are decided
    // over its store export (counted), every other route answers 404 without one. So is an
    // unknown organization on the details routes (the store tells it does not exist).
    let r = app
        .call("DELETE", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let r = app
        .call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"]["id"], "pending_deletion");
    let r = app
        .call("GET", "/api/0/organizations/demo/members/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(fallbacks(&app).await, (0.0, 0.0, 1.0));
    let r = app
        .call("GET", "/api/0/organizations/nope/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(fallbacks(&app).await, (0.0, 0.0, 2.0));
}

#[tokio::test]
async fn a_token_made_past_the_api_is_caught_up_before_authorizing() {
    let mut app = app().await;
    // A token made past the API (as `scopegate token create` in another process would) for
    // a user the index knows.
    let alice = app.store.user_by_email("alice@demo.invalid").await.unwrap();
    let (_, secret) = app
        .store
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(alice.id),
                organization_id: None,
                name: Some("made elsewhere".into()),
                scopes: vec!["org:read".into()],
            },
            &Actor::system(),
        )
        .await
        .unwrap();
    let r = app
        .call("GET", "/api/0/organizations/demo/", secret.expose(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The management API catches the index up to the store's revision before it
    // authorizes (issue 13): the token is in the index, no store read of it.
    assert_eq!(fallbacks(&app).await, (0.0, 0.0, 0.0));

    // A user made past the API, with a token: both caught up the same way.
    let (_, secret) = demo::create_user(&*app.store, &Policy::sentry(), "new@else.test", false)
        .await
        .unwrap();
    app.tokens.insert("new", secret.expose().to_string());
    let r = app.call("GET", "/api/0/organizations/", "new", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!([]));
    let r = app
        .call("GET", "/api/0/organizations/demo/", "new", None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "not a member: {:?}",
        r.body
    );
    assert_eq!(fallbacks(&app).await, (0.0, 0.0, 0.0));

    // An unknown secret: the store does not know it either.
    let r = app
        .call("GET", "/api/0/organizations/demo/", "sntryu_nope", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(fallbacks(&app).await, (1.0, 0.0, 0.0));

    // After a full rebuild, the same tokens are read from the index.
    app.state.load_index().await.unwrap();
    for who in ["new", "owner"] {
        let r = app.call("GET", "/api/0/organizations/", who, None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    assert_eq!(fallbacks(&app).await, (1.0, 0.0, 0.0));
}

/// A change committed past the API (another process, another replica): the management
/// API catches the index up to the store's revision before it authorizes, so it refuses at
/// once; `/v1/` without a revision answers from the index as it is until then, and from the
/// caught-up one after — both deny, with the same status.
#[tokio::test]
async fn management_and_decision_apis_decide_over_the_same_snapshot() {
    let app = app().await;
    let org = app.store.org_by_slug("demo").await.unwrap();
    let bob = member_id(&app, "bob").await;
    let endpoint = "OrganizationDetailsEndpoint";
    let details = "/api/0/organizations/demo/";
    assert_eq!(v1_status(&app, "bob", endpoint, "GET").await, 200);
    assert_eq!(
        app.call("GET", details, "bob", None).await.status,
        StatusCode::OK
    );
    app.store
        .remove_member(org.id, bob, &Actor::system())
        .await
        .unwrap();
    // Not synced yet (no sync loop here): `/v1/` without a revision still sees bob.
    assert_eq!(v1_status(&app, "bob", endpoint, "GET").await, 200);
    // The management API is never older than the store: bob is refused at once.
    let api = app.call("GET", details, "bob", None).await;
    assert_ne!(api.status, StatusCode::OK, "{:?}", api.body);
    // The index it caught up is `/v1/`'s too.
    let v1 = v1_status(&app, "bob", endpoint, "GET").await;
    assert_ne!(v1, 200);
    assert_eq!(u64::from(api.status.as_u16()), v1, "{:?}", api.body);
}

/// A write through the API is in the index before its response leaves: the next management
/// call sees it, without any other sync.
#[tokio::test]
async fn a_write_through_the_api_reaches_the_next_management_call() {
    let app = app().await;
    let bob = member_id(&app, "bob").await;
    let r = app
        .call(
            "DELETE",
            &format!("/api/0/organizations/demo/members/{bob}/"),
            "owner",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = app
        .call("GET", "/api/0/organizations/demo/", "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);

    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "owner",
            Some(r#"{"slug": "renamed"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The old slug names nothing (the details route asks the store, which does not know it
    // either: counted).
    let r = app
        .call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = app
        .call("GET", "/api/0/organizations/demo/members/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    let r = app
        .call(
            "POST",
            "/api/0/organizations/renamed/teams/",
            "owner",
            Some(r#"{"slug": "ops"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    // The new team, by slug and by id (resolved in the index).
    for team in ["ops", id.as_str()] {
        let r = app
            .call(
                "GET",
                &format!("/api/0/teams/renamed/{team}/"),
                "owner",
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{team}: {:?}", r.body);
        assert_eq!(r.body["slug"], "ops");
        assert_eq!(r.body["id"], Value::String(id.clone()));
    }
    assert_eq!(fallbacks(&app).await, (0.0, 0.0, 1.0));
}

/// A `Caller`'s `Debug` names its index snapshot by generation: neither the world nor the
/// index's token hashes are printed.
#[test]
fn a_caller_prints_no_index() {
    let hash = "0123abcd".repeat(8);
    let token = scopegate_store::Token {
        id: 42,
        kind: TokenKind::User,
        user_id: Some(10),
        organization_id: None,
        organization_slug: None,
        name: None,
        prefix: "sntryu_".into(),
        last_characters: None,
        hash: hash.clone(),
        scopes: Vec::new(),
        created_at: 0,
    };
    let world: scopegate_core::WorldDoc = serde_json::from_value(json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 10}],
    }))
    .unwrap();
    let index =
        scopegate_server::index::Index::build(&world, vec![token], &Policy::sentry(), 7).unwrap();
    let caller = scopegate_server::auth::Caller {
        principal: scopegate_core::Principal::Anonymous,
        user: None,
        token: None,
        actor: Actor::system(),
        scopes: scopegate_core::ScopeSet::EMPTY,
        member_id: None,
        index: std::sync::Arc::new(index),
        org: Some(scopegate_server::auth::CallerOrg {
            id: 1,
            slug: "acme".into(),
        }),
    };
    let printed = format!("{caller:?}");
    assert!(printed.contains("index_generation: 7"), "{printed}");
    assert!(printed.contains("slug: \"acme\""), "{printed}");
    assert!(!printed.contains(&hash), "{printed}");
}
