//! Access requests: filed by a closed-membership join (202), listed and resolved, ported
//! from Sentry's `tests/sentry/api/endpoints/test_organization_access_request_details.py`
//! over the fixture of `sentry_teams.rs` (issue 10 finding 7).

use axum::http::StatusCode;
use scopegate_store::Actor;

use crate::sentry_teams::{fx, fx_on, Fx};

const LIST: &str = "/api/0/organizations/acme/access-requests/";

fn details(id: i64) -> String {
    format!("{LIST}{id}/")
}

/// Files a request for `who` to join `team` (by id), directly through the store.
async fn request(f: &Fx, who: &str, team: i64) -> i64 {
    f.app
        .store
        .create_access_request(f.org.id, team, f.members[who], None)
        .await
        .unwrap()
        .0
        .id
}

async fn on(f: &Fx, who: &str, team: i64) -> bool {
    let t = f.app.store.team(f.org.id, team).await.unwrap();
    f.on_team(who, &t).await
}

/// Sentry: test_organization_access_request_details.py::GetOrganizationAccessRequestTest::
/// test_only_returns_valid_requests (a request whose member joined some other way, and one
/// of a pending invite, are left out).
#[tokio::test]
async fn only_open_requests_are_listed() {
    let f = fx(false, false).await;
    request(&f, "member_on_team", f.team.id).await;
    let invite = f
        .app
        .store
        .invite_member(f.org.id, "invite@acme.test", "member", &Actor::system())
        .await
        .unwrap();
    f.app
        .store
        .create_access_request(f.org.id, f.team.id, invite.id, None)
        .await
        .unwrap();
    let open = request(&f, "member", f.team.id).await;
    let r = f.app.call("GET", LIST, "owner", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], open.to_string());
    assert_eq!(list[0]["member"]["id"], f.members["member"].to_string());
    assert_eq!(list[0]["team"]["id"], f.team.id.to_string());
    assert_eq!(list[0]["requester"], serde_json::Value::Null);
    // A team admin sees the requests of their teams; a member sees none.
    let r = f.app.call("GET", LIST, "admin_on_team", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = f.app.call("GET", LIST, "admin", None).await;
    assert_eq!(r.body, serde_json::json!([]), "not on the team");
    let r = f.app.call("GET", LIST, "member_on_team", None).await;
    assert_eq!(r.body, serde_json::json!([]));
}

/// Sentry: test_organization_access_request_details.py::UpdateOrganizationAccessRequestTest::
/// test_approve_request, ::test_deny_request; both audited (approval as Sentry's
/// `member.join-team`, in the transaction that deletes the request).
#[tokio::test]
async fn approving_and_denying() {
    let f = fx(false, false).await;
    let id = request(&f, "member", f.team.id).await;
    let r = f
        .app
        .call("PUT", &details(id), "owner", Some(r#"{"isApproved": 1}"#))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(on(&f, "member", f.team.id).await);
    assert!(f.app.store.access_request(f.org.id, id).await.is_err());
    assert_eq!(f.events().await[0], "member.join-team");

    let id = request(&f, "admin", f.team.id).await;
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "owner",
            Some(r#"{"isApproved": false}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!on(&f, "admin", f.team.id).await);
    assert!(f.app.store.access_request(f.org.id, id).await.is_err());
    assert_eq!(f.events().await[0], "access-request.deny");

    let id = request(&f, "admin", f.team.id).await;
    for bad in [
        r#"{}"#,
        r#"{"isApproved": "maybe"}"#,
        r#"{"isApproved": 2}"#,
    ] {
        let r = f.app.call("PUT", &details(id), "owner", Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body["isApproved"].is_string(), "{bad}: {:?}", r.body);
    }
    assert!(
        f.app.store.access_request(f.org.id, id).await.is_ok(),
        "bad input writes nothing"
    );
    let r = f
        .app
        .call(
            "PUT",
            &details(999_999),
            "owner",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Sentry: test_organization_access_request_details.py::UpdateOrganizationAccessRequestTest::
/// test_team_admin_can_approve, ::test_teamless_admin_cannot_approve_with_closed_membership.
#[tokio::test]
async fn org_admins_approve_for_their_teams() {
    let f = fx(false, false).await;
    let id = request(&f, "member", f.team.id).await;
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "admin",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!on(&f, "member", f.team.id).await);
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "admin_on_team",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(on(&f, "member", f.team.id).await);
}

/// Sentry: test_organization_access_request_details.py::TeamAdminUpdateAccessRequestTest::
/// test_approve, ::test_deny, ::test_contributor_cannot_approve,
/// ::test_cannot_deny_for_unrelated_team, ::test_team_roles_disabled.
#[tokio::test]
async fn team_admins_resolve_with_team_roles() {
    let f = fx(false, true).await;
    let id = request(&f, "member", f.team.id).await;
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "team_admin",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(on(&f, "member", f.team.id).await);
    let id = request(&f, "admin", f.team.id).await;
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "team_admin",
            Some(r#"{"isApproved": false}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!on(&f, "admin", f.team.id).await);

    let contributor = f
        .team_with("contri", &[("team_admin", Some("contributor"))])
        .await;
    let unrelated = f.team_with("unrelated", &[]).await;
    for (team, approve) in [(contributor.id, true), (unrelated.id, false)] {
        let id = request(&f, "member", team).await;
        let body = format!(r#"{{"isApproved": {approve}}}"#);
        let r = f
            .app
            .call("PUT", &details(id), "team_admin", Some(&body))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            f.app.store.access_request(f.org.id, id).await.is_ok(),
            "kept"
        );
        assert!(!on(&f, "member", team).await);
    }

    let f = fx(false, false).await;
    let id = request(&f, "member", f.team.id).await;
    let r = f
        .app
        .call(
            "PUT",
            &details(id),
            "team_admin",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "team roles off: a contributor's scopes"
    );
    assert!(f.app.store.access_request(f.org.id, id).await.is_ok());
}

/// Sentry: test_organization_access_request_details.py::TeamAdminUpdateAccessRequestTest::
/// test_read_only_token_cannot_approve, ::test_write_token_can_approve.
#[tokio::test]
async fn tokens_bound_the_team_admin() {
    let f = fx(false, true).await;
    let id = request(&f, "member", f.team.id).await;
    let read = f.token("team_admin", &["org:read"]).await;
    let r = f
        .app
        .call("PUT", &details(id), &read, Some(r#"{"isApproved": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(f.app.store.access_request(f.org.id, id).await.is_ok());
    let write = f.token("team_admin", &["org:read", "team:write"]).await;
    let r = f
        .app
        .call("PUT", &details(id), &write, Some(r#"{"isApproved": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(on(&f, "member", f.team.id).await);
}

/// Sentry: test_organization_access_request_details.py::TeamAdminUpdateAccessRequestTest::
/// test_cannot_approve_request_from_another_organization (404).
#[tokio::test]
async fn requests_of_another_organization_are_not_found() {
    let f = fx(false, true).await;
    let system = Actor::system();
    let owner = f.app.store.user_by_email("owner@acme.test").await.unwrap();
    let other = f
        .app
        .store
        .create_org("other", "Other", &[], owner.id, "owner", &system)
        .await
        .unwrap();
    let team = f
        .app
        .store
        .create_team(other.id, "t", "T", &system)
        .await
        .unwrap();
    let m = f
        .app
        .store
        .member_of_user(other.id, owner.id)
        .await
        .unwrap();
    let (r, _) = f
        .app
        .store
        .create_access_request(other.id, team.id, m.id, None)
        .await
        .unwrap();
    let resp = f
        .app
        .call(
            "PUT",
            &details(r.id),
            "owner",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert!(f.app.store.access_request(other.id, r.id).await.is_ok());
}

/// The whole flow through the API, on SQLite and PostgreSQL: a member asks (202), the team
/// admin lists and approves, the member is on the team and reaches its project.
async fn end_to_end(f: Fx) {
    f.app
        .store
        .create_project(f.org.id, "web", "Web", &[f.team.id], &Actor::system())
        .await
        .unwrap();
    let r = f
        .app
        .call("POST", &f.path("member", "team"), "member", None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        f.app
            .call("GET", "/api/0/projects/acme/web/", "member", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = f.app.call("GET", LIST, "admin_on_team", None).await;
    let list = r.body.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap();
    let r = f
        .app
        .call(
            "PUT",
            &format!("{LIST}{id}/"),
            "admin_on_team",
            Some(r#"{"isApproved": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        f.app
            .call("GET", "/api/0/projects/acme/web/", "member", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        f.app.call("GET", LIST, "owner", None).await.body,
        serde_json::json!([])
    );
}

#[tokio::test]
async fn end_to_end_on_sqlite() {
    end_to_end(fx(false, false).await).await;
}

#[tokio::test]
async fn end_to_end_on_postgres() {
    let Some(app) = crate::postgres_app().await else {
        return;
    };
    let url = app.postgres_url.clone();
    end_to_end(fx_on(app, false, false).await).await;
    if let Some(url) = url {
        scopegate_store::testing::drop_postgres_database(&url)
            .await
            .unwrap();
    }
}
