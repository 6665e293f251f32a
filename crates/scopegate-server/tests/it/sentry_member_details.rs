//! Sentry's member details tests, ported:
//! `tests/sentry/core/endpoints/test_organization_member_details.py` (GET, PUT, DELETE on
//! `/api/0/organizations/{org}/members/{id}/`).
//!
//! The demo organization stands in for Sentry's fixtures: `owner` (Sentry's `self.user`),
//! `manager`, `alice` and `bob` (members; Sentry's `curr_user` and `other_user`). It has the
//! `organizations:team-roles` feature; tests that need it off turn it off.

use axum::http::StatusCode;
use scopegate_store::Actor;
use serde_json::json;

use crate::{app, App};

pub(crate) const MEMBERS: &str = "/api/0/organizations/demo/members/";

/// The demo organization's id.
pub(crate) async fn org_id(app: &App) -> i64 {
    app.store.org_by_slug("demo").await.unwrap().id
}

/// The member id of `email` in the demo organization.
pub(crate) async fn member_id(app: &App, email: &str) -> i64 {
    let org = org_id(app).await;
    let user = app.store.user_by_email(email).await.unwrap();
    app.store.member_of_user(org, user.id).await.unwrap().id
}

/// A new user `key` who is a member of the demo organization with `role`; its member id.
pub(crate) async fn add_member(app: &mut App, key: &'static str, role: &str) -> i64 {
    let email = format!("{key}@example.com");
    app.user(key, &email).await;
    let org = org_id(app).await;
    let user = app.store.user_by_email(&email).await.unwrap();
    let invite = app
        .store
        .invite_member(org, &email, role, &Actor::system())
        .await
        .unwrap();
    app.store
        .accept_invite(org, invite.id, user.id, &Actor::system())
        .await
        .unwrap();
    invite.id
}

/// An invite of `email` sent by `who` through the API; its member id.
pub(crate) async fn invite_as(app: &App, who: &str, email: &str) -> i64 {
    let body = json!({"email": email, "orgRole": "member"}).to_string();
    let r = app.call("POST", MEMBERS, who, Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// Turns the team-roles feature of the demo organization on or off.
pub(crate) async fn team_roles(app: &App, on: bool) {
    let org = org_id(app).await;
    let f = vec!["organizations:team-roles".to_string()];
    let (enable, disable) = if on { (f, vec![]) } else { (vec![], f) };
    app.store
        .set_features(org, &enable, &disable, &Actor::system())
        .await
        .unwrap();
}

/// The demo organization's audit events, oldest first.
pub(crate) async fn events(app: &App) -> Vec<String> {
    let org = org_id(app).await;
    let page = scopegate_store::Page {
        offset: 0,
        limit: 10_000,
    };
    let mut out: Vec<String> = app
        .store
        .audit_log(org, page)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    out.reverse();
    out
}

/// Sets a pending invite's expiry into the past, on either backend.
async fn expire(app: &App, member: i64) {
    let sql = "UPDATE members SET invite_expires_at = 1 WHERE id = $1";
    if let Some(url) = &app.postgres_url {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).bind(member).execute(&pool).await.unwrap();
        return;
    }
    let dir = app.decision_log();
    let db = dir.parent().unwrap().join("t.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(sql).bind(member).execute(&pool).await.unwrap();
}

fn path(id: impl std::fmt::Display) -> String {
    format!("{MEMBERS}{id}/")
}

// --- GET ---------------------------------------------------------------------------------

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     GetOrganizationMemberTest::test_me
#[tokio::test]
async fn get_me() {
    let app = app().await;
    let r = app.call("GET", &path("me"), "owner", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["role"], "owner");
    assert_eq!(r.body["orgRole"], "owner");
    let owner = app.store.user_by_email("owner@demo.invalid").await.unwrap();
    assert_eq!(r.body["user"], owner.id.to_string());
    assert_eq!(r.body["email"], "owner@demo.invalid");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     GetOrganizationMemberTest::test_get_by_id, test_get_by_garbage
#[tokio::test]
async fn get_by_id_and_by_garbage() {
    let app = app().await;
    let alice = member_id(&app, "alice@demo.invalid").await;
    let r = app.call("GET", &path(alice), "alice", None).await;
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["orgRole"], "member");
    assert_eq!(r.body["id"], alice.to_string());
    let r = app.call("GET", &path("trash"), "owner", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     GetOrganizationMemberTest::test_get_member_list_teams
#[tokio::test]
async fn get_lists_teams_and_team_roles() {
    let app = app().await;
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app.call("GET", &path(bob), "owner", None).await;
    assert_eq!(r.body["teams"], json!(["frontend"]));
    assert_eq!(
        r.body["teamRoles"],
        json!([{"teamSlug": "frontend", "role": null}])
    );
}

// --- PUT: reinvite ---------------------------------------------------------------------------

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_invalid_id, test_reinvite_pending_member
#[tokio::test]
async fn reinvite_pending_member() {
    let app = app().await;
    let r = app
        .call(
            "PUT",
            &path("trash"),
            "owner",
            Some(r#"{"reinvite": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let invite = invite_as(&app, "owner", "foo@example.com").await;
    let r = app
        .call("PUT", &path(invite), "owner", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(events(&app).await.last().unwrap(), "member.reinvite");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_member_reinvite_pending_member (the part
// with member invites enabled; scopegate has no `disable_member_invite` flag).
#[tokio::test]
async fn member_reinvites_only_their_own_invites() {
    let app = app().await;
    let mine = invite_as(&app, "alice", "member_invite@example.com").await;
    let theirs = invite_as(&app, "bob", "other_invite@example.com").await;
    let r = app
        .call("PUT", &path(mine), "alice", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(events(&app).await.last().unwrap(), "member.reinvite");
    let r = app
        .call("PUT", &path(theirs), "alice", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You cannot modify invitations sent by someone else."
    );
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_member_can_only_reinvite,
// test_member_cannot_reinvite_non_pending_members
#[tokio::test]
async fn member_can_only_reinvite_pending_invites() {
    let app = app().await;
    let mine = invite_as(&app, "alice", "member_invite@example.com").await;
    let r = app
        .call(
            "PUT",
            &path(mine),
            "alice",
            Some(r#"{"teams": ["backend"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You do not have permission to perform this action."
    );
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app
        .call("PUT", &path(bob), "alice", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You do not have permission to perform this action."
    );
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_cannot_reinvite_and_modify_member,
// test_cannot_reinvite_normal_member
#[tokio::test]
async fn reinvite_alone_and_only_invites() {
    let app = app().await;
    let invite = invite_as(&app, "owner", "foo@example.com").await;
    let before = events(&app).await.len();
    let r = app
        .call(
            "PUT",
            &path(invite),
            "owner",
            Some(r#"{"reinvite": true, "role": "manager"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You cannot modify member details when resending an invitation. Separate requests are required."
    );
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app
        .call("PUT", &path(bob), "owner", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.detail(),
        "You cannot send an invitation to a user who is already a full member."
    );
    assert_eq!(events(&app).await.len(), before, "nothing audited");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_member_cannot_regenerate_pending_invite,
// test_admin_can_regenerate_pending_invite
#[tokio::test]
async fn only_member_admins_regenerate() {
    let app = app().await;
    let by_owner = invite_as(&app, "owner", "foo@example.com").await;
    let mine = invite_as(&app, "alice", "member_invite@example.com").await;
    let regen = r#"{"reinvite": true, "regenerate": true}"#;
    let r = app.call("PUT", &path(by_owner), "bob", Some(regen)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.call("PUT", &path(mine), "alice", Some(regen)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.detail(), "You are missing the member:admin scope.");
    let r = app.call("PUT", &path(by_owner), "owner", Some(regen)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body.get("invite_link").is_none());
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_reinvite_invite_expired_member,
// test_regenerate_invite_expired_member
#[tokio::test]
async fn expired_invites_are_regenerated_not_resent() {
    let mut app = app().await;
    let invite = invite_as(&app, "owner", "foo@example.com").await;
    expire(&app, invite).await;
    let r = app.call("GET", &path(invite), "owner", None).await;
    assert_eq!(r.body["expired"], true);
    let r = app
        .call("PUT", &path(invite), "owner", Some(r#"{"reinvite": true}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.detail(),
        "You cannot resend an expired invitation without regenerating the token."
    );
    // An expired invite cannot be accepted either.
    app.user("foo", "foo@example.com").await;
    let accept = format!("/api/0/accept-invite/demo/{invite}/");
    let r = app.call("POST", &accept, "foo", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            "PUT",
            &path(invite),
            "owner",
            Some(r#"{"reinvite": true, "regenerate": true}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["expired"], false);
    let r = app.call("POST", &accept, "foo", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

// --- PUT: role and teams ---------------------------------------------------------------------

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_can_update_member_membership,
// test_can_update_org_role
#[tokio::test]
async fn update_org_role_with_the_deprecated_field() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let r = app
        .call("PUT", &path(baz), "owner", Some(r#"{"role": "manager"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["orgRole"], "manager");
    assert_eq!(r.body["role"], "manager");
    assert_eq!(events(&app).await.last().unwrap(), "member.edit");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_can_update_teams,
// test_can_update_teams_with_feature_flag, test_cannot_update_with_invalid_team
#[tokio::test]
async fn update_teams() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let r = app
        .call(
            "PUT",
            &path(baz),
            "owner",
            Some(r#"{"teams": ["invalid"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, json!({"teams": ["Invalid teams"]}));
    let r = app
        .call(
            "PUT",
            &path(baz),
            "owner",
            Some(r#"{"teams": ["backend", "frontend"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["teams"], json!(["backend", "frontend"]));
    let tail: Vec<String> = events(&app).await.into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        ["member.edit", "member.join-team", "member.join-team"]
    );
    let r = app
        .call(
            "PUT",
            &path(baz),
            "owner",
            Some(r#"{"teams": ["backend"]}"#),
        )
        .await;
    assert_eq!(r.body["teams"], json!(["backend"]));
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_can_update_teams_using_teamRoles,
// test_can_update_team_role
#[tokio::test]
async fn update_team_roles() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let body = r#"{"teamRoles": [{"teamSlug": "backend", "role": "admin"}]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["teamRoles"],
        json!([{"teamSlug": "backend", "role": "admin"}])
    );
    let body = r#"{"teamRoles": [{"teamSlug": "backend", "role": null}]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(
        r.body["teamRoles"],
        json!([{"teamSlug": "backend", "role": null}])
    );
    let body = r#"{"teamRoles": [{"teamSlug": "backend", "role": "no-such-team-role"}]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, json!({"teamRoles": ["Invalid team-role"]}));
    // Without the feature, team roles are not stored (Sentry sets them to None).
    team_roles(&app, false).await;
    let body = r#"{"teamRoles": [{"teamSlug": "frontend", "role": "admin"}]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(
        r.body["teamRoles"],
        json!([{"teamSlug": "frontend", "role": null}])
    );
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_cannot_update_with_invalid_role
#[tokio::test]
async fn invalid_role_is_a_field_error() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let r = app
        .call("PUT", &path(baz), "owner", Some(r#"{"role": "invalid"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        json!({"role": ["\"invalid\" is not a valid choice."]})
    );
    let r = app.call("GET", &path(baz), "owner", None).await;
    assert_eq!(r.body["orgRole"], "member");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_can_update_to_retired_role_without_flag,
// test_cannot_update_to_retired_role_with_flag, test_can_update_from_retired_role_with_flag,
// test_can_update_from_retired_role_without_flag
#[tokio::test]
async fn retired_admin_role_follows_the_team_roles_feature() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let r = app
        .call("PUT", &path(baz), "owner", Some(r#"{"role": "admin"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.detail(),
        "The role 'admin' is deprecated and may no longer be assigned."
    );
    team_roles(&app, false).await;
    let r = app
        .call("PUT", &path(baz), "owner", Some(r#"{"role": "admin"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["orgRole"], "admin");
    team_roles(&app, true).await;
    let r = app
        .call("PUT", &path(baz), "owner", Some(r#"{"role": "member"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "from a retired role is fine");
}

/// A body that changes the role and the teams is one transaction: a bad team changes
/// nothing, not even the role.
#[tokio::test]
async fn role_and_teams_change_together_or_not_at_all() {
    let mut app = app().await;
    let baz = add_member(&mut app, "baz", "member").await;
    let before = events(&app).await.len();
    let body = r#"{"orgRole": "manager", "teams": ["backend", "nope"]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.call("GET", &path(baz), "owner", None).await;
    assert_eq!(r.body["orgRole"], "member");
    assert_eq!(r.body["teams"], json!([]));
    assert_eq!(events(&app).await.len(), before);
    let body = r#"{"orgRole": "manager", "teams": ["backend"], "bogus": 1}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.detail().contains("bogus"), "{}", r.detail());
    let body = r#"{"orgRole": "manager", "teams": ["backend"]}"#;
    let r = app.call("PUT", &path(baz), "owner", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["orgRole"], "manager");
    assert_eq!(r.body["teams"], json!(["backend"]));
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     UpdateOrganizationMemberTest::test_with_internal_integration (an org token
// has no member and no role: a graceful 400, never a role change)
#[tokio::test]
async fn org_tokens_cannot_edit_members() {
    let app = app().await;
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app
        .call("PUT", &path(bob), "ci", Some(r#"{"role": "manager"}"#))
        .await;
    assert!(r.status.is_client_error(), "{:?}", r.status);
    let r = app.call("GET", &path(bob), "owner", None).await;
    assert_eq!(r.body["orgRole"], "member");
}
