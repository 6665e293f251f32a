//! Teams and projects, with team-scoped access.

use axum::http::StatusCode;

use crate::app;

#[tokio::test]
async fn teams_create_list_details_delete() {
    let app = app().await;
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "alice",
            Some(r#"{"slug": "x"}"#),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "members cannot create teams"
    );
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "manager",
            Some(r#"{"name": "Site Ops"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["slug"], "site-ops");
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "manager",
            Some(r#"{"slug": "backend"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call(
            "POST",
            "/api/0/organizations/demo/teams/",
            "manager",
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call("GET", "/api/0/organizations/demo/teams/", "bob", None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    // Closed membership: bob reaches his team only.
    assert_eq!(
        app.call("GET", "/api/0/teams/demo/frontend/", "bob", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", "/api/0/teams/demo/backend/", "bob", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("GET", "/api/0/teams/demo/nope/", "bob", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("DELETE", "/api/0/teams/demo/site-ops/", "bob", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("DELETE", "/api/0/teams/demo/site-ops/", "manager", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn projects_follow_their_teams() {
    let app = app().await;
    assert_eq!(
        app.call("GET", "/api/0/projects/demo/api/", "alice", None)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .call("GET", "/api/0/projects/demo/api/", "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // alice is team admin of backend: project:write through her team role.
    let r = app
        .call(
            "POST",
            "/api/0/teams/demo/backend/projects/",
            "alice",
            Some(r#"{"name": "Worker"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["slug"], "worker");
    // bob is a contributor of frontend: no project:write.
    let r = app
        .call(
            "POST",
            "/api/0/teams/demo/frontend/projects/",
            "bob",
            Some(r#"{"name": "Nope"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "POST",
            "/api/0/teams/demo/backend/projects/",
            "alice",
            Some(r#"{"slug": "api"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call("GET", "/api/0/teams/demo/backend/projects/", "alice", None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app
        .call("GET", "/api/0/organizations/demo/projects/", "bob", None)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);

    // Give `api` to frontend too: bob now reaches it.
    let r = app
        .call(
            "POST",
            "/api/0/projects/demo/api/teams/frontend/",
            "manager",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["teams"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.call("GET", "/api/0/projects/demo/api/", "bob", None)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .call(
            "DELETE",
            "/api/0/projects/demo/api/teams/frontend/",
            "manager",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teams"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.call("GET", "/api/0/projects/demo/api/", "bob", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call("GET", "/api/0/projects/demo/nope/", "owner", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("DELETE", "/api/0/projects/demo/worker/", "alice", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call("DELETE", "/api/0/projects/demo/web/", "bob", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn granular_access_allowlists() {
    let app = app().await;
    let path = "/api/0/organizations/demo/granular-access/replay/";
    let r = app.call("GET", path, "alice", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["members"], serde_json::json!([]));
    let members = app
        .call("GET", "/api/0/organizations/demo/members/", "owner", None)
        .await;
    let alice = members.body[2]["id"].as_str().unwrap().to_string();
    // The kind's feature must be on (a superuser operation).
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store
        .set_features(
            org.id,
            &["organizations:granular-replay-permissions".into()],
            &[],
            &scopegate_store::Actor::system(),
        )
        .await
        .unwrap();
    let body = format!(r#"{{"members": ["{alice}"], "teams": ["backend"]}}"#);
    let r = app.call("PUT", path, "alice", Some(&body)).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "org:write manages the list"
    );
    let before = app.audit_count().await;
    let r = app.call("PUT", path, "manager", Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["members"], serde_json::json!([alice]));
    assert_eq!(r.body["teams"], serde_json::json!(["backend"]));
    assert_eq!(
        app.audit_count().await,
        before + 3,
        "the org.edit summary, one grant entry for the member, one for the team"
    );
    for (bad, field) in [
        (r#"{"members": ["x"]}"#, "members"),
        (r#"{"members": ["999"]}"#, "members"),
        (r#"{"teams": ["nope"]}"#, "teams"),
    ] {
        let r = app.call("PUT", path, "manager", Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body[field].is_string(), "{bad}: {:?}", r.body);
    }
    let r = app
        .call("PUT", path, "manager", Some(r#"{"users": []}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.detail().contains("unknown field `users`"),
        "{}",
        r.detail()
    );
    let r = app.call("GET", path, "alice", None).await;
    assert_eq!(
        r.body["members"],
        serde_json::json!([alice]),
        "unchanged by bad input"
    );
    let r = app
        .call(
            "GET",
            "/api/0/organizations/demo/granular-access/nope/",
            "owner",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
