//! Token creation rules: the secret once, only a hash stored, no scope above the role.

use axum::http::StatusCode;
use scopegate_store::hash_secret;

use crate::app;

#[tokio::test]
async fn user_token_secret_is_shown_once_and_only_its_hash_is_stored() {
    let app = app().await;
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "alice",
            Some(r#"{"name": "ci", "scopes": ["event:admin"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let secret = r.body["token"].as_str().unwrap().to_string();
    // The implication map is applied when scopes are stored.
    assert_eq!(
        r.body["scopes"],
        serde_json::json!(["event:admin", "event:read", "event:write"])
    );
    let stored = app.store.token_by_secret(&secret).await.unwrap();
    assert_eq!(stored.hash, hash_secret(&secret));
    assert!(secret.starts_with(&stored.prefix));
    let r = app.call("GET", "/api/0/api-tokens/", "alice", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let listed = r.body.as_array().unwrap();
    assert_eq!(listed.len(), 2, "bootstrap + ci");
    assert!(listed.iter().all(|t| t.get("token").is_none()));
    assert!(!r.body.to_string().contains(&secret));
    // The new token works, and is deleted by its owner only.
    let id = stored.id;
    let r = app
        .call("DELETE", &format!("/api/0/api-tokens/{id}/"), "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call("DELETE", &format!("/api/0/api-tokens/{id}/"), "alice", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call("GET", "/api/0/organizations/", &secret, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_token_beyond_the_role_or_the_calling_token() {
    let app = app().await;
    let cases = [
        (
            r#"{"scopes": ["org:write"], "organization": "demo"}"#,
            "does not hold `org:write`",
        ),
        (
            r#"{"scopes": ["member:admin"], "organization": "demo"}"#,
            "does not hold",
        ),
        (
            r#"{"scopes": ["org:read"], "organization": "nope"}"#,
            "organization:",
        ),
        (r#"{"scopes": ["org:root"]}"#, "unknown scope `org:root`"),
        (r#"{"scopes": []}"#, "scopes:"),
        (r#"{"scopes": "org:read"}"#, "scopes"),
    ];
    for (body, needle) in cases {
        let r = app
            .call("POST", "/api/0/api-tokens/", "alice", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.detail().contains(needle), "{body}: {}", r.detail());
    }
    // A weaker token cannot mint a stronger one.
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "alice",
            Some(r#"{"scopes": ["org:read"]}"#),
        )
        .await;
    let weak = r.body["token"].as_str().unwrap().to_string();
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            &weak,
            Some(r#"{"scopes": ["event:read"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "owner",
            Some(r#"{"scopes": ["org:admin"], "organization": "demo"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["organization"], "demo");
}

#[tokio::test]
async fn org_auth_tokens() {
    let app = app().await;
    let path = "/api/0/organizations/demo/org-auth-tokens/";
    let r = app
        .call("POST", path, "bob", Some(r#"{"name": "deploy"}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let secret = r.body["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sntrys_"));
    assert_eq!(r.body["scopes"], serde_json::json!(["org:ci"]));
    // The requested scopes are ignored (as Sentry): exactly the policy's `org:ci`.
    let r = app
        .call(
            "POST",
            path,
            "owner",
            Some(r#"{"name": "admin", "scopes": ["org:admin"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["scopes"], serde_json::json!(["org:ci"]));
    let r = app.call("GET", path, "bob", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    // An org:ci token passes no org:read gate.
    let r = app
        .call("GET", "/api/0/organizations/demo/", &secret, None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.contains_key("www-authenticate"));
    let id = app.store.token_by_secret(&secret).await.unwrap().id;
    let r = app
        .call("DELETE", &format!("{path}{id}/"), "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "deleting needs org:write");
    let r = app
        .call("DELETE", &format!("{path}{id}/"), "manager", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call("DELETE", &format!("{path}{id}/"), "manager", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
