//! The replica source over a real store: SQLite always, PostgreSQL when
//! `SCOPEGATE_TEST_DATABASE_URL` is set (a fresh database per test; skipped with a message
//! otherwise). A write through the store becomes visible to the layer; a replica that
//! cannot sync any more refuses (503).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use scopegate_core::WorldDoc;
use scopegate_store::{Actor, NewToken, Store, TokenKind};
use scopegate_tower::{Replica, ReplicaOptions, ScopegateLayer};

use crate::common::{manifest, policy, router, send, WORLD};

/// The example world imported into `store`.
async fn seed(store: &dyn Store) {
    let doc: WorldDoc = serde_json::from_str(WORLD).unwrap();
    store
        .import_world(&doc, &policy(), &Actor::system())
        .await
        .unwrap();
}

async fn app(store: Arc<dyn Store>, options: ReplicaOptions) -> (Router, Arc<Replica>) {
    let policy = policy();
    let replica = Arc::new(
        Replica::start(store, policy.clone(), options)
            .await
            .unwrap(),
    );
    let layer = ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        replica.clone(),
        replica.tokens(),
    );
    (router().route_layer(layer), replica)
}

/// Polls `path` with `token` until it answers `want`, for at most 10 s (a bound on the
/// wait, not a timing assertion); returns the last status.
async fn until(app: &Router, path: &str, token: Option<&str>, want: StatusCode) -> StatusCode {
    let mut last = StatusCode::IM_A_TEAPOT;
    for _ in 0..200 {
        last = send(app, "GET", path, token).await.0;
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// A write through the store (a token, then a project) reaches the layer's decisions.
async fn writes_become_visible(store: Arc<dyn Store>, options: ReplicaOptions) {
    seed(&*store).await;
    let (app, replica) = app(store.clone(), options).await;
    let (_, secret) = store
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(13),
                organization_id: None,
                name: None,
                scopes: vec!["project:read".into()],
            },
            &Actor::user(13),
        )
        .await
        .unwrap();
    let secret = secret.expose().to_string();
    let path = "/api/0/projects/acme/web/";
    assert_eq!(
        until(&app, path, Some(&secret), StatusCode::OK).await,
        StatusCode::OK
    );
    let new = "/api/0/projects/acme/fresh/";
    assert_eq!(
        send(&app, "GET", new, Some(&secret)).await.0,
        StatusCode::NOT_FOUND
    );
    store
        .create_project(1, "fresh", "Fresh", &[6], &Actor::user(13))
        .await
        .unwrap();
    assert_eq!(
        until(&app, new, Some(&secret), StatusCode::OK).await,
        StatusCode::OK
    );
    assert!(!replica.status().stale);
}

#[tokio::test]
async fn sqlite_writes_become_visible_through_the_periodic_resync() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    let store = scopegate_store::connect(&url).await.unwrap();
    let options = ReplicaOptions {
        resync: Duration::from_millis(100),
        ..ReplicaOptions::default()
    };
    writes_become_visible(store, options).await;
}

/// A fresh PostgreSQL database, or `None` (with a message) without
/// `SCOPEGATE_TEST_DATABASE_URL`.
async fn postgres() -> Option<String> {
    let Ok(base) = std::env::var("SCOPEGATE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SCOPEGATE_TEST_DATABASE_URL unset");
        return None;
    };
    Some(
        scopegate_store::testing::fresh_postgres_database(&base)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn postgres_writes_become_visible_through_the_change_feed() {
    let Some(url) = postgres().await else { return };
    let store = scopegate_store::connect(&url).await.unwrap();
    // A resync period far beyond the wait: only the change feed can bring the writes in.
    let options = ReplicaOptions {
        resync: Duration::from_secs(600),
        max_staleness: Duration::from_secs(3600),
    };
    writes_become_visible(store, options).await;
    scopegate_store::testing::drop_postgres_database(&url)
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_feed_failure_fails_closed() {
    let Some(url) = postgres().await else { return };
    let store = scopegate_store::connect(&url).await.unwrap();
    seed(&*store).await;
    let options = ReplicaOptions {
        resync: Duration::from_millis(100),
        max_staleness: Duration::from_millis(500),
    };
    let (app, replica) = app(store.clone(), options).await;
    let path = "/api/0/organizations/acme/";
    // Anonymous: the engine's own 401 while the replica is fresh.
    assert_eq!(
        send(&app, "GET", path, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The database goes away: the feed breaks and every rebuild fails.
    scopegate_store::testing::drop_postgres_database(&url)
        .await
        .unwrap();
    assert_eq!(
        until(&app, path, None, StatusCode::SERVICE_UNAVAILABLE).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (_, headers, body) = send(&app, "GET", path, None).await;
    assert_eq!(headers["content-type"], "application/json");
    assert!(body.contains("\"detail\""), "{body}");
    let status = replica.status();
    // (A rebuild may still be waiting on the pool rather than have failed: staleness is
    // the time since the last successful rebuild, whatever the sync loop is stuck on.)
    assert!(status.stale, "{status:?}");
}
