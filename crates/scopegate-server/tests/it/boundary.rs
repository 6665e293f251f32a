//! The HTTP boundary against hostile input (issue 11): control characters in any text
//! field (400 naming the field, the same on SQLite and PostgreSQL, nothing written), and
//! every error answered as JSON (405 with `Allow`, 413).

use axum::http::StatusCode;

use crate::{app, postgres_app, App, Resp};

/// The request sent, and the field the 400 must name.
struct Case {
    method: &'static str,
    uri: &'static str,
    who: &'static str,
    body: Option<&'static str>,
    field: &'static str,
}

const fn case(
    method: &'static str,
    uri: &'static str,
    who: &'static str,
    body: Option<&'static str>,
    field: &'static str,
) -> Case {
    Case {
        method,
        uri,
        who,
        body,
        field,
    }
}

/// Control characters (NUL first: PostgreSQL refuses it in `text`) in every kind of text
/// field the API reads: JSON bodies (values, keys, nested, in arrays), `/v1/` bodies and
/// query strings.
const CASES: &[Case] = &[
    case(
        "POST",
        "/api/0/api-tokens/",
        "owner",
        Some(r#"{"name": "ci\u0000bot", "scopes": ["org:read"]}"#),
        "name",
    ),
    case(
        "POST",
        "/api/0/api-tokens/",
        "owner",
        Some(r#"{"scopes": ["org:read"], "organization": "de\u0000mo"}"#),
        "organization",
    ),
    case(
        "POST",
        "/api/0/api-tokens/",
        "owner",
        Some(r#"{"name": "x", "scopes": ["org:read", "org:\u0000write"]}"#),
        "scopes[1]",
    ),
    case(
        "POST",
        "/api/0/organizations/demo/org-auth-tokens/",
        "owner",
        Some(r#"{"name": "deploy\u0000"}"#),
        "name",
    ),
    case(
        "POST",
        "/api/0/organizations/",
        "owner",
        Some(r#"{"name": "Bell\u0007Corp"}"#),
        "name",
    ),
    case(
        "PUT",
        "/api/0/organizations/demo/",
        "owner",
        Some(r#"{"slug": "new\u0000slug"}"#),
        "slug",
    ),
    case(
        "POST",
        "/api/0/organizations/demo/teams/",
        "owner",
        Some(r#"{"slug": "ops\u0000"}"#),
        "slug",
    ),
    case(
        "POST",
        "/api/0/organizations/demo/members/",
        "owner",
        Some(r#"{"email": "x@y.co", "orgRole": "mem\u0000ber"}"#),
        "orgRole",
    ),
    case(
        "POST",
        "/api/0/organizations/demo/members/",
        "owner",
        Some("{\"email\": \"x@y.co\", \"orgRole\": \"member\u{85}\"}"),
        "orgRole",
    ),
    case(
        "POST",
        "/api/0/organizations/",
        "owner",
        Some(r#"{"na\u0000me": "X"}"#),
        "na\\u0000me",
    ),
    case(
        "POST",
        "/v1/check",
        "service",
        Some(
            r#"{"principal": {"kind": "anonymous"}, "endpoint": "Org\u0000", "method": "GET", "organization": "demo"}"#,
        ),
        "endpoint",
    ),
    case(
        "POST",
        "/v1/check/batch",
        "service",
        Some(
            r#"{"requests": [{"principal": {"kind": "bearer", "token": "a\u001fb"}, "endpoint": "E", "method": "GET"}]}"#,
        ),
        "requests[0].principal.token",
    ),
    case(
        "GET",
        "/v1/who-can?organization=de%00mo&endpoint=OrganizationDetailsEndpoint&method=GET",
        "service",
        None,
        "organization",
    ),
    case(
        "GET",
        "/api/0/organizations/?cursor=100:0:0%00",
        "owner",
        None,
        "cursor",
    ),
];

async fn control_characters_are_400_naming_the_field(app: &App) {
    let before = app.audit_count().await;
    for c in CASES {
        let r = app.call(c.method, c.uri, c.who, c.body).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{} {} {:?}: {:?}",
            c.method,
            c.uri,
            c.body,
            r.body
        );
        let expected = format!("{}: must not contain control characters", c.field);
        assert_eq!(r.detail(), expected, "{} {} {:?}", c.method, c.uri, c.body);
    }
    assert_eq!(app.audit_count().await, before, "nothing was written");
    let org = app.store.org_by_slug("demo").await.unwrap();
    assert!(app.store.team_by_slug(org.id, "ops\u{0}").await.is_err());
}

#[tokio::test]
async fn control_characters_are_400_naming_the_field_on_sqlite() {
    control_characters_are_400_naming_the_field(&app().await).await;
}

#[tokio::test]
async fn control_characters_are_400_naming_the_field_on_postgres() {
    let Some(app) = postgres_app().await else {
        return;
    };
    control_characters_are_400_naming_the_field(&app).await;
    let url = app.postgres_url.clone().unwrap();
    drop(app);
    scopegate_store::testing::drop_postgres_database(&url)
        .await
        .unwrap();
}

fn assert_json_error(r: &Resp, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.body);
    assert!(
        r.headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{what}: {:?}",
        r.headers
    );
    assert!(!r.detail().is_empty(), "{what}: {:?}", r.body);
}

/// 405 with `Allow` and a JSON body, on every router: the API (decided before the
/// authorization layer: a method a route does not have is no scope question), `/v1/` and
/// the routes outside the API.
#[tokio::test]
async fn a_method_a_route_does_not_have_is_405_json_with_allow() {
    let app = app().await;
    let cases = [
        ("DELETE", "/api/0/organizations/", "owner", "GET,HEAD,POST"),
        (
            "PATCH",
            "/api/0/organizations/demo/",
            "owner",
            "DELETE,GET,HEAD,PUT",
        ),
        (
            "PATCH",
            "/api/0/organizations/demo/",
            "",
            "DELETE,GET,HEAD,PUT",
        ),
        (
            "PATCH",
            "/api/0/organizations/demo/",
            "bob",
            "DELETE,GET,HEAD,PUT",
        ),
        ("PUT", "/api/0/api-tokens/", "owner", "GET,HEAD,POST"),
        ("GET", "/v1/check", "service", "POST"),
        ("DELETE", "/v1/who-can", "service", "GET,HEAD"),
        ("POST", "/healthz", "", "GET,HEAD"),
        ("PUT", "/metrics", "", "GET,HEAD"),
        ("DELETE", "/readyz", "", "GET,HEAD"),
    ];
    for (method, uri, who, allow) in cases {
        let r = app.call(method, uri, who, None).await;
        let what = format!("{method} {uri} as `{who}`");
        assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, &what);
        assert!(
            r.headers.get("www-authenticate").is_none(),
            "{what}: no scope challenge"
        );
        let mut got: Vec<String> = r.headers["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        got.sort();
        assert_eq!(got.join(","), allow, "{what}");
        assert_eq!(r.detail(), format!("Method \"{method}\" not allowed."));
    }
}

/// 413 is JSON on `/v1/` as on `/api/`.
#[tokio::test]
async fn a_body_over_the_limit_is_413_json_everywhere() {
    let app = app().await;
    let huge = format!(
        r#"{{"requests": [], "pad": "{}"}}"#,
        "x".repeat(scopegate_server::routes::v1::V1_BODY_LIMIT + 1)
    );
    for uri in ["/v1/check", "/v1/check/batch", "/v1/explain"] {
        let r = app.call("POST", uri, "service", Some(&huge)).await;
        assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, uri);
    }
    let big = format!(
        r#"{{"name": "{}"}}"#,
        "x".repeat(scopegate_server::BODY_LIMIT + 1)
    );
    let r = app
        .call("POST", "/api/0/organizations/", "owner", Some(&big))
        .await;
    assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "/api/0/organizations/");
}
