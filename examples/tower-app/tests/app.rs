//! The example API end to end over a fresh SQLite store: the replay allowlist on the replay
//! routes, a token without the scope refused with the challenge, and the router's route
//! coverage against its manifest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use scopegate_example_tower::{protected, routes, seed, token, AppData, MANIFEST};
use scopegate_store::Store;
use serde_json::Value;
use tower::ServiceExt;

struct App {
    router: Router,
    store: Arc<dyn Store>,
    _replica: Arc<scopegate_tower::Replica>,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("app.sqlite").display());
    let store = scopegate_store::connect(&url).await.unwrap();
    let world = seed(&*store).await.unwrap();
    let (router, replica) = protected(store.clone(), AppData::seeded(&world))
        .await
        .unwrap();
    App {
        router,
        store,
        _replica: replica,
        _dir: dir,
    }
}

impl App {
    /// Creates a token through the store (the replica sees it at its next sync).
    async fn token(&self, user: i64, scopes: &[&str]) -> String {
        token(&*self.store, user, scopes).await.unwrap()
    }

    async fn send(&self, method: &str, path: &str, token: &str) -> (StatusCode, HeaderMap, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, headers, body)
    }
}

/// An app whose replica already knows the tokens asked for (tokens created before it
/// started).
async fn app_with_tokens(tokens: &[(i64, &[&str])]) -> (App, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("app.sqlite").display());
    let store = scopegate_store::connect(&url).await.unwrap();
    let world = seed(&*store).await.unwrap();
    let mut secrets = Vec::new();
    for (user, scopes) in tokens {
        secrets.push(token(&*store, *user, scopes).await.unwrap());
    }
    let (router, replica) = protected(store.clone(), AppData::seeded(&world))
        .await
        .unwrap();
    let app = App {
        router,
        store,
        _replica: replica,
        _dir: dir,
    };
    (app, secrets)
}

const READ: &[&str] = &["org:read", "project:read", "event:read"];

#[tokio::test]
async fn the_replay_allowlist_is_enforced_on_replay_routes() {
    // User 12 (member 102) is on acme's replay allowlist; user 13 (member 103) is not.
    let (app, t) = app_with_tokens(&[(12, READ), (13, READ)]).await;
    let (on, off) = (&t[0], &t[1]);
    let (status, _, body) = app
        .send("GET", "/api/0/projects/acme/api/replays/", on)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["replays"], serde_json::json!(["api-1", "api-2"]));
    let (status, _, body) = app
        .send("GET", "/api/0/projects/acme/api/replays/api-1/", on)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in [
        "/api/0/projects/acme/web/replays/",
        "/api/0/projects/acme/web/replays/web-1/",
    ] {
        let (status, _, body) = app.send("GET", path, off).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(
            body["detail"],
            "You do not have permission to perform this action."
        );
    }
    // The allowlist guards replays only: user 13 still reads the project itself.
    let (status, _, body) = app.send("GET", "/api/0/projects/acme/web/", off).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_token_without_the_scope_is_refused_with_the_challenge() {
    let (app, t) = app_with_tokens(&[(12, &["org:read", "project:read"])]).await;
    let (status, headers, body) = app
        .send("GET", "/api/0/projects/acme/api/replays/", &t[0])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"event:admin event:read event:write\""
    );
    assert_eq!(
        body["detail"],
        "You do not have permission to perform this action."
    );
    // Replays untouched: a DELETE with the same token is refused too.
    let (status, _, _) = app
        .send("DELETE", "/api/0/projects/acme/api/replays/api-1/", &t[0])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_and_other_tenants_are_refused() {
    let app = app().await;
    let (status, headers, body) = app
        .send("GET", "/api/0/organizations/acme/projects/", "not-a-token")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(body["detail"], "Invalid token");
    // A token created after the replica started is picked up by its resync (every 5 s by
    // default): until then it is unknown, never granted.
    let secret = app.token(12, READ).await;
    let (status, _, _) = app
        .send("GET", "/api/0/organizations/globex/projects/", &secret)
        .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
        "{status}"
    );
}

#[tokio::test]
async fn every_route_is_declared_and_every_declared_endpoint_routed() {
    let (_, recorded) = routes();
    let policy = scopegate_core::Policy::sentry();
    let report = recorded
        .coverage(AppData::default(), "manifest.toml", MANIFEST, &policy)
        .await
        .unwrap();
    report.assert_clean();
}
