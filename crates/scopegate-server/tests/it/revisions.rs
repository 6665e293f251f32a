//! Revisions and read-your-writes (issue 13): writes answer `X-Scopegate-Revision`; a
//! `/v1/` request naming `at_least_revision` (body, query or header) is decided at that
//! revision or later, or answered 503 past the wait; bad revisions are 400; and two
//! replicas on one PostgreSQL database: reads on one naming the revision of a write on the
//! other never see an older state.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{app, App, Resp};

fn request(app: &App, who: &str, endpoint: &str, method: &str) -> Value {
    json!({"principal": {"kind": "bearer", "token": app.tokens[who]},
           "endpoint": endpoint, "method": method, "organization": "demo"})
}

async fn post(app: &App, path: &str, body: &Value, header: Option<&str>) -> Resp {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {}", app.tokens["service"]))
        .header("content-type", "application/json");
    if let Some(h) = header {
        req = req.header("x-scopegate-at-least-revision", h);
    }
    app.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
}

async fn member_id(app: &App, email: &str) -> i64 {
    let org = app.store.org_by_slug("demo").await.unwrap();
    let user = app.store.user_by_email(email).await.unwrap();
    app.store.member_of_user(org.id, user.id).await.unwrap().id
}

/// Sets `email`'s org role through the API as the owner; returns the write's revision.
async fn set_role(app: &App, member: i64, role: &str) -> u64 {
    let r = app
        .call(
            "PUT",
            &format!("/api/0/organizations/demo/members/{member}/"),
            "owner",
            Some(&json!({"orgRole": role}).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.revision.expect("a write names its revision")
}

#[tokio::test]
async fn a_write_names_its_revision_and_reads_at_it_see_it() {
    let app = app().await;
    let start = app.store.revision().await.unwrap();
    assert_eq!(app.state.index.current().revision, start);
    let alice = member_id(&app, "alice@demo.invalid").await;
    let revision = set_role(&app, alice, "manager").await;
    assert_eq!(revision, app.store.revision().await.unwrap());
    assert!(revision > start);

    // A read (no revision named) answers at the current revision, header and body alike.
    let r = app
        .call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.revision, None, "only writes and /v1/ name a revision");

    let q = request(&app, "alice", "OrganizationDetailsEndpoint", "PUT");
    let mut body = q.clone();
    body["at_least_revision"] = json!(revision);
    for (path, body, header) in [
        ("/v1/check", body.clone(), None),
        ("/v1/check", q.clone(), Some(revision.to_string())),
        ("/v1/explain", body.clone(), None),
        (
            "/v1/check/batch",
            json!({"requests": [q.clone()], "at_least_revision": revision}),
            None,
        ),
        ("/v1/check/batch", json!({"requests": [body.clone()]}), None),
        (
            "/v1/check/batch",
            json!([q.clone()]),
            Some(revision.to_string()),
        ),
    ] {
        let r = post(&app, path, &body, header.as_deref()).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        assert!(r.revision.unwrap() >= revision, "{path}");
        let decision = if path.ends_with("batch") {
            r.body["decisions"][0].clone()
        } else {
            r.body.clone()
        };
        assert_eq!(decision["allowed"], true, "{path}: the write is seen");
    }
    let who_can = format!(
        "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=PUT\
         &at_least_revision={revision}"
    );
    let r = app.call("GET", &who_can, "service", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.revision.unwrap() >= revision);
    let users: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member"].as_str().unwrap())
        .collect();
    assert!(users.contains(&alice.to_string().as_str()), "{users:?}");
}

#[tokio::test]
async fn a_revision_not_reached_in_time_is_503_naming_both() {
    let mut app = app().await;
    app.state = app
        .state
        .clone()
        .with_revision_wait(Duration::from_millis(50));
    app.router = scopegate_server::router(app.state.clone());
    let at = app.state.index.current().revision;
    let far = at + 1_000_000;
    let mut body = request(&app, "owner", "OrganizationDetailsEndpoint", "GET");
    body["at_least_revision"] = json!(far);
    for (path, body, header) in [
        ("/v1/check", body.clone(), None),
        ("/v1/explain", body.clone(), None),
        ("/v1/check/batch", json!({"requests": [body.clone()]}), None),
        (
            "/v1/check",
            request(&app, "owner", "OrganizationDetailsEndpoint", "GET"),
            Some(far.to_string()),
        ),
    ] {
        let r = post(&app, path, &body, header.as_deref()).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {:?}",
            r.body
        );
        assert_eq!(r.headers["retry-after"], "1");
        assert_eq!(r.revision, Some(at));
        let detail = r.detail();
        assert!(detail.contains(&format!("revision {far}")), "{detail}");
        assert!(
            detail.contains(&format!("index at revision {at}")),
            "{detail}"
        );
    }
    let r = app
        .call(
            "GET",
            &format!(
                "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=GET\
                 &at_least_revision={far}"
            ),
            "service",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert!(r.detail().contains(&far.to_string()));
}

#[tokio::test]
async fn bad_revisions_are_400_naming_the_field() {
    let app = app().await;
    let q = request(&app, "owner", "OrganizationDetailsEndpoint", "GET");
    for bad in [json!(-1), json!("7"), json!(1.5), json!([1])] {
        let mut body = q.clone();
        body["at_least_revision"] = bad.clone();
        for path in ["/v1/check", "/v1/explain"] {
            let r = post(&app, path, &body, None).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{path} {bad}: {:?}",
                r.body
            );
            assert!(
                r.detail().starts_with("at_least_revision: "),
                "{}",
                r.detail()
            );
        }
        let r = post(
            &app,
            "/v1/check/batch",
            &json!({"requests": [q.clone()], "at_least_revision": bad}),
            None,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "batch {bad}: {:?}",
            r.body
        );
        assert!(
            r.detail().starts_with("at_least_revision: "),
            "{}",
            r.detail()
        );
        let r = post(&app, "/v1/check/batch", &json!({"requests": [body]}), None).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "batch item {bad}: {:?}",
            r.body
        );
        assert!(
            r.detail().starts_with("requests[0].at_least_revision: "),
            "{}",
            r.detail()
        );
    }
    for bad in ["-1", "abc", "1e3", ""] {
        let r = post(&app, "/v1/check", &q, Some(bad)).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "header {bad:?}: {:?}",
            r.body
        );
        assert!(
            r.detail().starts_with("X-Scopegate-At-Least-Revision: "),
            "{}",
            r.detail()
        );
        let r = app
            .call(
                "GET",
                &format!(
                    "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint\
                     &method=GET&at_least_revision={bad}"
                ),
                "service",
                None,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "query {bad:?}: {:?}",
            r.body
        );
        assert!(
            r.detail().starts_with("at_least_revision: "),
            "{}",
            r.detail()
        );
    }
    // Every /v1/ response names the index's revision, errors included.
    assert!(r_revision(&app).await.is_some());
}

async fn r_revision(app: &App) -> Option<u64> {
    app.call("POST", "/v1/check", "service", Some("{}"))
        .await
        .revision
}

/// Two replicas on one PostgreSQL database: every write through `a` names its revision, and
/// a read on `b` naming it is decided at that revision or later — never at an older state.
/// Alice's role alternates between member and manager; `b` must see each one.
#[tokio::test]
async fn a_second_replica_never_answers_older_than_the_revision_named() {
    let Some(a) = crate::postgres_app().await else {
        return;
    };
    let (b, sync) = a.replica().await;
    let alice = member_id(&a, "alice@demo.invalid").await;
    let q = request(&a, "alice", "OrganizationDetailsEndpoint", "PUT");
    for round in 0..12 {
        let manager = round % 2 == 0;
        let revision = set_role(&a, alice, if manager { "manager" } else { "member" }).await;
        let mut body = q.clone();
        body["at_least_revision"] = json!(revision);
        let r = post(&b, "/v1/check", &body, None).await;
        assert_eq!(r.status, StatusCode::OK, "round {round}: {:?}", r.body);
        assert!(r.revision.unwrap() >= revision, "round {round}");
        assert_eq!(
            r.body["allowed"], manager,
            "round {round}: the write of revision {revision}"
        );
        // The header form, on who-can.
        let r = b
            .call(
                "GET",
                &format!(
                    "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint\
                     &method=PUT&at_least_revision={revision}"
                ),
                "service",
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let listed = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["member"].as_str() == Some(alice.to_string().as_str()));
        assert_eq!(listed, manager, "round {round}");
    }
    sync.abort();
    drop(b);
    drop(a);
}

/// The management API's snapshot is never older than the store: a token made by another
/// process (straight to the store, no sync loop running) is in the index the next
/// management call authorizes from, and a revoked one is gone.
#[tokio::test]
async fn the_management_snapshot_is_never_older_than_the_store() {
    use scopegate_server::auth::index_at_store_revision;
    use scopegate_store::{Actor, NewToken, TokenKind};

    let app = app().await;
    let before = app.state.index.current();
    let new = NewToken {
        kind: TokenKind::User,
        user_id: Some(1),
        organization_id: None,
        name: None,
        scopes: vec!["org:read".into()],
    };
    let (token, secret) = app
        .store
        .create_token(&new, &Actor::system())
        .await
        .unwrap();
    assert!(app.state.index.current().token(secret.expose()).is_none());
    let index = index_at_store_revision(&app.state).await.unwrap();
    assert_eq!(index.revision, app.store.revision().await.unwrap());
    assert!(index.revision > before.revision);
    assert_eq!(index.token(secret.expose()).unwrap().token.id, token.id);
    // At the store's revision already: the same snapshot, nothing read but the revision.
    let again = index_at_store_revision(&app.state).await.unwrap();
    assert_eq!(again.generation, index.generation);
    app.store
        .delete_token(token.id, &Actor::system())
        .await
        .unwrap();
    let index = index_at_store_revision(&app.state).await.unwrap();
    assert!(index.token(secret.expose()).is_none());
}
