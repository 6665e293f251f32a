//! Sentry's member index tests, ported:
//! `tests/sentry/core/endpoints/test_organization_member_index.py` (GET and POST on
//! `/api/0/organizations/{org}/members/`, and the request serializer's cases through POST).

use axum::http::StatusCode;
use scopegate_store::{Actor, OrgUpdate};
use serde_json::json;

use crate::app;
use crate::sentry_member_details::{add_member, events, org_id, team_roles, MEMBERS};

async fn invite(app: &crate::App, who: &str, body: serde_json::Value) -> crate::Resp {
    app.call("POST", MEMBERS, who, Some(&body.to_string()))
        .await
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberListTest::test_simple (`pending`, `expired`, and `role`
// beside `orgRole`)
#[tokio::test]
async fn list_simple() {
    let app = app().await;
    let r = app.call("GET", MEMBERS, "owner", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let first = &r.body[0];
    assert_eq!(first["email"], "owner@demo.invalid");
    assert_eq!(first["pending"], false);
    assert_eq!(first["expired"], false);
    assert_eq!(first["role"], "owner");
    assert_eq!(first["orgRole"], "owner");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberRequestSerializerTest::test_valid,
// test_valid_deprecated_fields; OrganizationMemberPermissionRoleTest::test_no_team_invites
// (`eric@localhost` is a valid address: Django's validator allows `localhost`)
#[tokio::test]
async fn valid_invites() {
    let app = app().await;
    let r = invite(
        &app,
        "owner",
        json!({"email": "eric@localhost", "orgRole": "member",
               "teamRoles": [{"teamSlug": "backend", "role": null}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["email"], "eric@localhost");
    let r = invite(
        &app,
        "owner",
        json!({"email": "dep@localhost", "role": "member", "teams": ["backend"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = invite(
        &app,
        "owner",
        json!({"email": "o@localhost", "role": "owner", "teams": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["orgRole"], "owner");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberListTest::test_valid_for_invites (the invite joins its
// teams), OrganizationMemberListPostTest::test_simple (the inviter is remembered)
#[tokio::test]
async fn invites_join_their_teams_and_remember_the_inviter() {
    let app = app().await;
    let r = invite(
        &app,
        "owner",
        json!({"email": "foo@example.com", "orgRole": "manager", "teams": ["backend"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id: i64 = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = app
        .call("GET", &format!("{MEMBERS}{id}/"), "owner", None)
        .await;
    assert_eq!(r.body["user"], serde_json::Value::Null);
    assert_eq!(r.body["orgRole"], "manager");
    assert_eq!(r.body["teams"], json!(["backend"]));
    let org = org_id(&app).await;
    let m = app.store.member(org, id).await.unwrap();
    let owner = app.store.user_by_email("owner@demo.invalid").await.unwrap();
    assert_eq!(m.inviter_id, Some(owner.id));
    assert_eq!(events(&app).await.last().unwrap(), "member.invite");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberListPostTest::test_forbid_qq (Sentry's blocked domain)
#[tokio::test]
async fn forbid_qq() {
    let app = app().await;
    let r = invite(
        &app,
        "owner",
        json!({"email": "1234@qq.com", "role": "member", "teams": ["backend"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["email"][0], "Enter a valid email address.");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberRequestSerializerTest::test_invalid_email;
// OrganizationMemberListTest::test_existing_user_for_invite,
// test_cannot_invite_when_already_invited (issue 10, finding 11: 400, not 409)
#[tokio::test]
async fn duplicate_invites_are_field_errors() {
    let app = app().await;
    let r = invite(
        &app,
        "owner",
        json!({"email": "bob@demo.invalid", "role": "member"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        json!({"email": ["The user bob@demo.invalid is already a member"]})
    );
    let r = invite(
        &app,
        "owner",
        json!({"email": "x@example.com", "role": "member"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let before = events(&app).await.len();
    let r = invite(
        &app,
        "owner",
        json!({"email": "X@example.com", "role": "member"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        json!({"email": ["The user X@example.com has already been invited"]})
    );
    assert_eq!(events(&app).await.len(), before, "nothing written");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberRequestSerializerTest::test_invalid_team_invites,
// test_invalid_team_role, test_invalid_org_role
#[tokio::test]
async fn serializer_field_errors() {
    let mut app = app().await;
    let r = invite(
        &app,
        "owner",
        json!({"email": "eric@localhost", "orgRole": "member", "teams": ["faketeam"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, json!({"teams": ["Invalid teams"]}));
    let r = invite(
        &app,
        "owner",
        json!({"email": "eric@localhost", "orgRole": "member",
               "teamRoles": [{"teamSlug": "backend", "role": "no-such-team-role"}]}),
    )
    .await;
    assert_eq!(r.body, json!({"teamRoles": ["Invalid team-role"]}));
    add_member(&mut app, "plain", "member").await;
    let r = invite(
        &app,
        "plain",
        json!({"email": "eric@localhost", "orgRole": "owner", "teamRoles": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        json!({"orgRole": ["You do not have permission to set that org-level role"]})
    );
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberListTest::test_can_invite_retired_role_without_flag,
// test_cannot_invite_retired_role_with_flag (issue 10, finding 10)
#[tokio::test]
async fn retired_admin_role_invites_follow_the_team_roles_feature() {
    let app = app().await;
    let body = json!({"email": "baz@example.com", "role": "admin", "teams": ["backend"]});
    let r = invite(&app, "owner", body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["role"][0],
        "The role 'admin' is deprecated and may no longer be assigned."
    );
    team_roles(&app, false).await;
    let r = invite(&app, "owner", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["orgRole"], "admin");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberPermissionRoleTest::test_member_invites (invite_all_helper
// with member invites enabled): a member invites members only
#[tokio::test]
async fn member_invites_members_only() {
    let app = app().await;
    for (role, expected) in [
        ("owner", StatusCode::BAD_REQUEST),
        ("manager", StatusCode::BAD_REQUEST),
        ("member", StatusCode::CREATED),
    ] {
        let body = json!({"email": format!("{role}_2@localhost"), "role": role,
                          "teamRoles": [{"teamSlug": "backend", "role": "contributor"}]});
        let r = invite(&app, "alice", body).await;
        assert_eq!(r.status, expected, "{role}: {:?}", r.body);
    }
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_index.py::
//     OrganizationMemberPermissionRoleTest::test_member_invites
// (invite_to_other_team_helper): without open membership a member invites only to their
// own teams
#[tokio::test]
async fn member_invites_to_their_own_teams_without_open_membership() {
    let app = app().await;
    let org = org_id(&app).await;
    let closed = OrgUpdate {
        open_membership: Some(false),
        ..OrgUpdate::default()
    };
    app.store
        .update_org(org, &closed, &Actor::system())
        .await
        .unwrap();
    let data = |email: &str, team: &str, team_roles: bool| {
        if team_roles {
            json!({"email": format!("{email}@localhost"), "role": "member",
                   "teamRoles": [{"teamSlug": team, "role": "contributor"}]})
        } else {
            json!({"email": format!("{email}@localhost"), "role": "member", "teams": [team]})
        }
    };
    // alice is on backend, not on frontend.
    let r = invite(&app, "alice", data("foo3", "backend", true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    for (email, team_roles) in [("foo4", true), ("foo6", false)] {
        let r = invite(&app, "alice", data(email, "frontend", team_roles)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.detail(),
            "You cannot assign members to teams you are not a member of."
        );
    }
    let r = invite(&app, "alice", data("foo5", "backend", false)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let open = OrgUpdate {
        open_membership: Some(true),
        ..OrgUpdate::default()
    };
    app.store
        .update_org(org, &open, &Actor::system())
        .await
        .unwrap();
    let r = invite(&app, "alice", data("foo8", "frontend", true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}
