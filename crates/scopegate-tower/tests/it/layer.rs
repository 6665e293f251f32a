//! The layer over a static world: passes allowed requests on with their decision, answers
//! denials as the service does, refuses unmapped routes, fails closed.

use async_trait::async_trait;
use axum::http::StatusCode;
use scopegate_core::Request;
use scopegate_tower::{
    DecisionContext, ScopegateLayer, SourceError, StaticWorld, Verdict, WorldSource,
};
use serde_json::Value;

use crate::common::{manifest, policy, router, send, TestTokens, WORLD};

fn app() -> (axum::Router, ScopegateLayer) {
    let policy = policy();
    let world = StaticWorld::from_json(WORLD, &policy).unwrap();
    let layer = ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        world,
        TestTokens(policy.clone()),
    );
    (router().route_layer(layer.clone()), layer)
}

fn detail(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["detail"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_allowed_request_reaches_its_handler_with_the_decision() {
    let (app, layer) = app();
    let (status, _, body) = send(&app, "GET", "/api/0/organizations/acme/", Some("u12")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "OrganizationDetailsEndpoint allowed");
    assert_eq!(layer.metrics().snapshot().allowed, 1);
}

#[tokio::test]
async fn a_denial_is_answered_with_its_status_and_sentry_detail() {
    let (app, layer) = app();
    // User 14 is a member of globex only.
    let (status, headers, body) =
        send(&app, "GET", "/api/0/organizations/acme/", Some("u14")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        detail(&body),
        "You do not have permission to perform this action."
    );
    // Anonymous: the engine's 401.
    let (status, _, body) = send(&app, "GET", "/api/0/organizations/acme/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        detail(&body),
        "Authentication credentials were not provided."
    );
    // Unknown organization: 404.
    let (status, _, _) = send(&app, "GET", "/api/0/organizations/nope/", Some("u10")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(layer.metrics().snapshot().denied, 3);
}

#[tokio::test]
async fn a_token_without_the_scope_gets_the_challenge() {
    let (app, _) = app();
    let (status, headers, body) = send(
        &app,
        "PUT",
        "/api/0/organizations/acme/",
        Some("t10:org:read"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"org:admin org:write\""
    );
    // The same token may read.
    let (status, _, _) = send(
        &app,
        "GET",
        "/api/0/organizations/acme/",
        Some("t10:org:read"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_route_missing_from_the_manifest_is_refused_404() {
    let (app, layer) = app();
    let (status, headers, body) = send(&app, "GET", "/api/0/internal/health/", Some("u10")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(detail(&body), "The requested resource does not exist");
    assert_eq!(layer.metrics().snapshot().unmapped, 1);
}

#[tokio::test]
async fn the_fallback_is_refused_when_the_layer_guards_the_whole_router() {
    let policy = policy();
    let world = StaticWorld::from_json(WORLD, &policy).unwrap();
    let layer = ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        world,
        TestTokens(policy.clone()),
    );
    let app = router()
        .fallback(|| async { "fallback served" })
        .layer(layer);
    let (status, _, body) = send(&app, "GET", "/anything", Some("u10")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = send(&app, "GET", "/api/0/organizations/acme/", Some("u10")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn resolver_refusals_are_answered_as_the_service_does() {
    let (app, layer) = app();
    let (status, headers, body) =
        send(&app, "GET", "/api/0/organizations/acme/", Some("garbage")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(detail(&body), "Invalid token");
    let (status, headers, _) = send(&app, "GET", "/api/0/organizations/acme/", Some("down")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    assert_eq!(layer.metrics().snapshot().resolver_failures, 2);
}

/// A source that always fails.
struct Broken;

#[async_trait]
impl WorldSource for Broken {
    async fn decide(&self, _: DecisionContext<'_>, _: &Request) -> Result<Verdict, SourceError> {
        Err(SourceError::Remote("connection refused".into()))
    }
}

#[tokio::test]
async fn a_failing_source_fails_closed_with_json_503() {
    let policy = policy();
    let layer = ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        Broken,
        TestTokens(policy.clone()),
    );
    let app = router().route_layer(layer.clone());
    let (status, headers, body) =
        send(&app, "GET", "/api/0/organizations/acme/", Some("u10")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(detail(&body), "Authorization is temporarily unavailable");
    assert_eq!(layer.metrics().snapshot().source_failures, 1);
    assert_eq!(layer.metrics().snapshot().allowed, 0);
}

#[tokio::test]
async fn the_replay_allowlist_is_enforced() {
    let (app, _) = app();
    // Member 102 (user 12) is on acme's replay allowlist; member 103 (user 13) is not.
    let (status, _, body) = send(
        &app,
        "GET",
        "/api/0/projects/acme/api/replays/abc/",
        Some("u12"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(
        &app,
        "GET",
        "/api/0/projects/acme/web/replays/abc/",
        Some("u13"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The project itself stays readable for user 13.
    let (status, _, _) = send(&app, "GET", "/api/0/projects/acme/web/", Some("u13")).await;
    assert_eq!(status, StatusCode::OK);
}
