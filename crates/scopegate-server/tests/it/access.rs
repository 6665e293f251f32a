//! Authentication and the engine's denials: 401, 403 with the challenge, 404, and the
//! service routes outside the API.

use axum::http::{header, StatusCode};

use crate::app;

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = app().await;
    assert_eq!(
        app.call("GET", "/healthz", "", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", "/readyz", "", None).await.status,
        StatusCode::OK
    );
    app.call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    let m = app.call("GET", "/metrics", "", None).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains("scopegate_decisions_total{api=\"api\",reason=\"allowed\","),
        "{text}"
    );
    assert!(
        text.contains("# TYPE scopegate_http_requests counter"),
        "{text}"
    );
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge() {
    let app = app().await;
    let r = app
        .call("GET", "/api/0/organizations/demo/", "", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.detail(), "Authentication credentials were not provided.");
}

#[tokio::test]
async fn invalid_token_is_401() {
    let app = app().await;
    let r = app
        .call("GET", "/api/0/organizations/demo/", "sgu_nope", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.detail(), "Invalid token");
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
    let mut req = axum::http::Request::get("/api/0/organizations/demo/");
    req = req.header(header::AUTHORIZATION, "Basic abc");
    let r = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.detail(), "Invalid authorization header");
}

#[tokio::test]
async fn insufficient_token_scope_is_403_with_the_decisions_challenge() {
    let app = app().await;
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "owner",
            Some(r#"{"scopes": ["org:read"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let weak = r.body["token"].as_str().unwrap().to_string();
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            &weak,
            Some(r#"{"name": "X"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You do not have permission to perform this action."
    );
    assert_eq!(
        r.headers[header::WWW_AUTHENTICATE],
        r#"Bearer error="insufficient_scope", scope="org:admin org:write""#
    );
    // The role scope check (not the token gate) denies without a challenge.
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "alice",
            Some(r#"{"name": "X"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get(header::WWW_AUTHENTICATE).is_none());
    assert_eq!(
        app.store.org_by_slug("demo").await.unwrap().name,
        "Demo Organization"
    );
}

#[tokio::test]
async fn unknown_organization_and_unknown_route_are_404() {
    let app = app().await;
    let r = app
        .call("GET", "/api/0/organizations/nope/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.detail(), "The requested resource does not exist");
    let r = app
        .call("GET", "/api/0/organizations/de%00mo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call("GET", "/api/0/nothing/", "owner", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.detail().contains("/api/0/nothing/"));
}

#[tokio::test]
async fn another_organizations_anything_is_out_of_reach() {
    let mut app = app().await;
    app.user("eve", "eve@example.com").await;
    let r = app
        .call(
            "POST",
            "/api/0/organizations/",
            "eve",
            Some(r#"{"name": "Evil"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for path in [
        "/api/0/organizations/demo/",
        "/api/0/organizations/demo/members/",
        "/api/0/organizations/demo/teams/",
        "/api/0/organizations/demo/projects/",
        "/api/0/organizations/demo/org-auth-tokens/",
        "/api/0/organizations/demo/audit-logs/",
        "/api/0/teams/demo/backend/",
        "/api/0/projects/demo/api/",
    ] {
        let r = app.call("GET", path, "eve", None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    // The demo org's own token cannot reach eve's organization.
    let r = app
        .call("GET", "/api/0/organizations/evil/", "ci", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A token bound to the demo organization is refused elsewhere (Sentry: 401).
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "owner",
            Some(r#"{"scopes": ["org:read"], "organization": "demo"}"#),
        )
        .await;
    let bound = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.call("GET", "/api/0/organizations/demo/", &bound, None)
            .await
            .status,
        StatusCode::OK
    );
    let r = app.call("GET", "/api/0/organizations/", &bound, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.detail(), "Unauthorized organization access.");
}

#[tokio::test]
async fn a_failing_audit_write_leaves_nothing_and_answers_500() {
    let app = app().await;
    let before = app.audit_count().await;
    app.store.inject_audit_failure();
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "owner",
            Some(r#"{"slug": "ops"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.detail(), "Internal Error");
    let org = app.store.org_by_slug("demo").await.unwrap();
    assert!(app.store.team_by_slug(org.id, "ops").await.is_err());
    assert_eq!(app.audit_count().await, before);
}

/// A short story on PostgreSQL: the engine over the stored world, a denial, bad input that
/// PostgreSQL would reject as text (NUL), a conflict, and atomicity.
#[tokio::test]
async fn postgres_story() {
    let Some(app) = crate::postgres_app().await else {
        return;
    };
    let r = app
        .call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "alice",
            Some(r#"{"name": "X"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("GET", "/api/0/organizations/de%00mo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "owner",
            Some(r#"{"name": "a\u0000b"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/members/",
            "owner",
            Some(r#"{"email": "a\u0000@b.co", "orgRole": "member"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "owner",
            Some(r#"{"slug": "backend"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let before = app.audit_count().await;
    app.store.inject_audit_failure();
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "owner",
            Some(r#"{"slug": "ops"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.audit_count().await, before);
    let r = app
        .call("GET", "/api/0/teams/demo/ops/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let url = app.postgres_url.clone().unwrap();
    drop(app);
    scopegate_store::testing::drop_postgres_database(&url)
        .await
        .unwrap();
}
