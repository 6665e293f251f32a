//! Organizations: list, create, details, update, delete, the audit log; bad input.

use axum::http::{header, StatusCode};

use crate::app;

#[tokio::test]
async fn list_is_paged_with_a_link_header() {
    let app = app().await;
    for name in ["Alpha", "Beta"] {
        let body = format!(r#"{{"name": "{name}"}}"#);
        let r = app
            .call("POST", "/api/0/organizations/", "owner", Some(&body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = app
        .call("GET", "/api/0/organizations/?cursor=2:0:0", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let slugs: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha", "beta"]);
    let link = r.headers[header::LINK].to_str().unwrap();
    assert!(
        link.contains(r#"rel="next"; results="true"; cursor="2:1:0""#),
        "{link}"
    );
    assert!(
        link.contains(r#"rel="previous"; results="false""#),
        "{link}"
    );
    let r = app
        .call("GET", "/api/0/organizations/?cursor=2:1:0", "owner", None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert!(r.headers[header::LINK]
        .to_str()
        .unwrap()
        .contains(r#"rel="next"; results="false""#));
    let r = app
        .call("GET", "/api/0/organizations/?cursor=x", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.detail().starts_with("cursor:"));
    // An org auth token has no user.
    let r = app.call("GET", "/api/0/organizations/", "ci", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn create_makes_the_creator_owner() {
    let mut app = app().await;
    app.user("carol", "carol@example.com").await;
    let r = app
        .call(
            "POST",
            "/api/0/organizations/",
            "carol",
            Some(r#"{"name": "Carol's Org", "slug": "carol"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["slug"], "carol");
    assert!(r.body["id"].is_string());
    let r = app
        .call("GET", "/api/0/organizations/carol/members/", "carol", None)
        .await;
    assert_eq!(r.body[0]["orgRole"], "owner");
    let r = app
        .call("GET", "/api/0/organizations/carol/", "carol", None)
        .await;
    assert!(r.body["access"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "org:admin"));
}

#[tokio::test]
async fn create_rejects_bad_and_duplicate_input_writing_nothing() {
    let app = app().await;
    let before = app
        .store
        .orgs_of_user(1, Default::default())
        .await
        .unwrap()
        .len();
    let cases: &[(&str, StatusCode, &str)] = &[
        (
            r#"{"name": "Demo", "slug": "demo"}"#,
            StatusCode::CONFLICT,
            "already exists",
        ),
        (
            r#"{"name": "X", "slug": "Bad Slug"}"#,
            StatusCode::BAD_REQUEST,
            "Enter a valid slug",
        ),
        (
            r#"{"name": "X", "slug": "123"}"#,
            StatusCode::BAD_REQUEST,
            "Enter a valid slug",
        ),
        (r#"{"name": ""}"#, StatusCode::BAD_REQUEST, "name:"),
        (r#"{"name": "a\u0000b"}"#, StatusCode::BAD_REQUEST, "name:"),
        (r#"{"name": 5}"#, StatusCode::BAD_REQUEST, "name"),
        (
            r#"{"slug": "x"}"#,
            StatusCode::BAD_REQUEST,
            "missing field `name`",
        ),
        (
            r#"{"name": "X", "color": "red"}"#,
            StatusCode::BAD_REQUEST,
            "unknown field `color`",
        ),
        (r#"{"name": "X""#, StatusCode::BAD_REQUEST, "EOF"),
        ("[]", StatusCode::BAD_REQUEST, "expected struct"),
    ];
    for (body, status, needle) in cases {
        let r = app
            .call("POST", "/api/0/organizations/", "owner", Some(body))
            .await;
        assert_eq!(r.status, *status, "{body}: {:?}", r.body);
        // Slug errors are Sentry's field-keyed list body; the others carry `detail`.
        let text = r.body["slug"][0].as_str().unwrap_or(r.detail());
        assert!(text.contains(needle), "{body}: {:?}", r.body);
    }
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(70_000));
    let r = app
        .call("POST", "/api/0/organizations/", "owner", Some(&big))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let mut req = axum::http::Request::post("/api/0/organizations/");
    req = req.header(
        header::AUTHORIZATION,
        format!("Bearer {}", app.tokens["owner"]),
    );
    let r = app
        .send(
            req.body(axum::body::Body::from(r#"{"name": "X"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.store
            .orgs_of_user(1, Default::default())
            .await
            .unwrap()
            .len(),
        before
    );
}

#[tokio::test]
async fn details_update_and_the_trimming_options() {
    let app = app().await;
    let r = app
        .call("GET", "/api/0/organizations/demo/", "alice", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["eventsMemberAdmin"], true);
    assert!(r.body["access"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "event:admin"));
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "manager",
            Some(r#"{"name": "Renamed", "eventsMemberAdmin": false, "openMembership": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["name"], "Renamed");
    assert_eq!(r.body["eventsMemberAdmin"], false);
    assert_eq!(r.body["openMembership"], true);
    // Trimmed for members from now on.
    let r = app
        .call("GET", "/api/0/organizations/demo/", "alice", None)
        .await;
    assert!(!r.body["access"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "event:admin"));
    // Bad input, nothing written.
    for (body, needle) in [
        (r#"{"openMembership": "yes"}"#, "openMembership"),
        (r#"{"slug": "UPPER"}"#, "Enter a valid slug"),
        (r#"{"require2FA": true}"#, "require2FA:"),
        (r#"{"bogus": 1}"#, "unknown field `bogus`"),
    ] {
        let r = app
            .call("PUT", "/api/0/organizations/demo/", "owner", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        let text = r.body["slug"][0].as_str().unwrap_or(r.detail());
        assert!(text.contains(needle), "{body}: {:?}", r.body);
    }
    let r = app
        .call(
            "POST",
            "/api/0/organizations/",
            "owner",
            Some(r#"{"name": "Other"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "owner",
            Some(r#"{"slug": "other"}"#),
        )
        .await;
    // Sentry: a slug in use is a 400 on the field, not a 409.
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        serde_json::json!({"slug": ["The slug \"other\" is already in use."]})
    );
    assert_eq!(app.store.org_by_slug("demo").await.unwrap().name, "Renamed");
}

#[tokio::test]
async fn delete_needs_org_admin() {
    let app = app().await;
    let r = app
        .call("DELETE", "/api/0/organizations/demo/", "manager", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("DELETE", "/api/0/organizations/demo/", "owner", None)
        .await;
    // Sentry: 202, pending deletion (sentry_organizations.rs covers the rest).
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = app
        .call("GET", "/api/0/organizations/demo/members/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn audit_log_is_newest_first_and_needs_org_write() {
    let app = app().await;
    app.call(
        "POST",
        "/api/0/organizations/demo/teams/",
        "manager",
        Some(r#"{"slug": "ops"}"#),
    )
    .await;
    let r = app
        .call(
            "GET",
            "/api/0/organizations/demo/audit-logs/?cursor=2:0:0",
            "owner",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let entries = r.body.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["event"], "team.create");
    // Teams are named by id, as in every other team entry (a slug can change).
    let org = app.store.org_by_slug("demo").await.unwrap().id;
    let ops = app
        .store
        .teams(org, scopegate_store::Page::default())
        .await
        .unwrap();
    let ops = ops.iter().find(|t| t.slug == "ops").unwrap();
    assert_eq!(entries[0]["targetObject"], format!("team:{}", ops.id));
    assert_eq!(entries[0]["actor"]["name"], "user:2");
    assert!(r.headers[header::LINK]
        .to_str()
        .unwrap()
        .contains(r#"results="true""#));
    let r = app
        .call(
            "GET",
            "/api/0/organizations/demo/audit-logs/",
            "alice",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
