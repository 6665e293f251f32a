//! Integrations (Sentry Apps) through the decision API: created and installed through the
//! store (as `scopegate integration …` does), decided by their scopes where installed, and
//! seen by the index once it rebuilds (on every write through the API, on every change-feed
//! notification on PostgreSQL, and every few seconds everywhere).

use axum::http::StatusCode;
use scopegate_store::{Actor, NewIntegration};
use serde_json::{json, Value};

use crate::{app, App};

fn as_integration(id: i64, endpoint: &str, method: &str) -> Value {
    json!({"principal": {"kind": "integration", "integration": id}, "endpoint": endpoint,
           "method": method, "organization": "demo"})
}

async fn decide(app: &App, body: &Value) -> Value {
    let r = app
        .call("POST", "/v1/check", "service", Some(&body.to_string()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{body} → {:?}", r.body);
    r.body
}

async fn create(app: &App, slug: &str, scopes: &[&str], on: &[i64]) -> i64 {
    let new = NewIntegration {
        slug: slug.into(),
        name: slug.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    app.store
        .create_integration(&new, on, &Actor::system())
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn an_integration_is_allowed_by_its_scopes_where_it_is_installed() {
    let app = app().await;
    let demo = app.store.org_by_slug("demo").await.unwrap().id;
    let reader = create(&app, "reader", &["org:read"], &[demo]).await;
    let events = create(&app, "events", &["event:read"], &[demo]).await;
    let get = as_integration(reader, "OrganizationDetailsEndpoint", "GET");
    let without = as_integration(events, "OrganizationDetailsEndpoint", "GET");

    // Written outside the API: the index has not seen them yet.
    assert_eq!(decide(&app, &get).await["reason"], "unauthenticated");
    app.state
        .index
        .refresh(&*app.store, &app.state.policy)
        .await
        .unwrap();

    assert_eq!(
        decide(&app, &get).await,
        json!({"allowed": true, "status": 200, "reason": "allowed", "grant": ["integration"],
               "missing_scopes": [], "challenge": null})
    );
    let denied = decide(&app, &without).await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["reason"], "insufficient_scope");
    assert_eq!(denied["status"], 403);
    // `org:read` does not reach a PUT.
    let put = decide(
        &app,
        &as_integration(reader, "OrganizationDetailsEndpoint", "PUT"),
    )
    .await;
    assert_eq!(put["reason"], "insufficient_scope");

    // Uninstalled: another organization's app.
    app.store
        .uninstall_integration(reader, demo, &Actor::system())
        .await
        .unwrap();
    app.state
        .index
        .refresh(&*app.store, &app.state.policy)
        .await
        .unwrap();
    assert_eq!(decide(&app, &get).await["reason"], "wrong_organization");
}

/// An integration write through the store (another process: the CLI) reaches a replica's
/// index within a second through the change feed of the new tables.
#[tokio::test]
async fn a_replica_sees_integration_writes_within_a_second() {
    let Some(app) = crate::postgres_app().await else {
        return;
    };
    let url = app.postgres_url.clone().unwrap();
    let sync = scopegate_server::index::LiveIndex::spawn_sync(&app.state);
    let demo = app.store.org_by_slug("demo").await.unwrap().id;
    // Let the listener connect before the first write.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let within_a_second = |body: Value, want: &'static str| {
        let app = &app;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            loop {
                let got = decide(app, &body).await;
                if got["reason"] == want {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "still {got} a second after the write, want {want}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    };
    let id = create(&app, "reader", &["org:read"], &[]).await;
    let get = as_integration(id, "OrganizationDetailsEndpoint", "GET");
    within_a_second(get.clone(), "wrong_organization").await;
    app.store
        .install_integration(id, demo, &Actor::system())
        .await
        .unwrap();
    within_a_second(get.clone(), "allowed").await;
    app.store
        .uninstall_integration(id, demo, &Actor::system())
        .await
        .unwrap();
    within_a_second(get, "wrong_organization").await;
    sync.abort();
    drop(app);
    scopegate_store::testing::drop_postgres_database(&url)
        .await
        .unwrap();
}
