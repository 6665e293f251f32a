//! Members: invites, accepting, the role rules, removal, team membership.

use axum::http::StatusCode;

use crate::app;

const MEMBERS: &str = "/api/0/organizations/demo/members/";

/// The member id of `email` in the demo organization.
async fn member_id(app: &crate::App, email: &str) -> String {
    let r = app.call("GET", MEMBERS, "owner", None).await;
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no member {email}"))
}

#[tokio::test]
async fn invite_then_accept() {
    let mut app = app().await;
    let r = app
        .call(
            "POST",
            MEMBERS,
            "alice",
            Some(r#"{"email": "new@example.com", "orgRole": "member"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["pending"], true);
    assert_eq!(r.body["user"], serde_json::Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            "POST",
            MEMBERS,
            "owner",
            Some(r#"{"email": "new@example.com", "orgRole": "member"}"#),
        )
        .await;
    // Sentry: a duplicate invite is a 400 keyed by the field (not a 409).
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        serde_json::json!({"email": ["The user new@example.com has already been invited"]})
    );

    app.user("new", "new@example.com").await;
    app.user("other", "other@example.com").await;
    let accept = format!("/api/0/accept-invite/demo/{id}/");
    let r = app.call("POST", &accept, "other", None).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an invite for someone else"
    );
    // Not a member yet: the organization is out of reach.
    let r = app
        .call("GET", "/api/0/organizations/demo/", "new", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.call("POST", &accept, "new", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["pending"], false);
    let r = app
        .call("GET", "/api/0/organizations/demo/", "new", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.call("POST", &accept, "new", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "accepted once");
}

#[tokio::test]
async fn invite_rules() {
    let app = app().await;
    let before = app
        .call("GET", MEMBERS, "owner", None)
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    // Sentry's serializer errors: field-keyed lists.
    let cases = [
        (
            "alice",
            r#"{"email": "a@example.com", "orgRole": "manager"}"#,
            serde_json::json!({"orgRole": ["You do not have permission to set that org-level role"]}),
        ),
        (
            "owner",
            r#"{"email": "a@example.com", "orgRole": "admin"}"#,
            serde_json::json!({"orgRole": ["The role 'admin' is deprecated and may no longer be assigned."]}),
        ),
        (
            "owner",
            r#"{"email": "a@example.com", "orgRole": "boss"}"#,
            serde_json::json!({"orgRole": ["\"boss\" is not a valid choice."]}),
        ),
        (
            "owner",
            r#"{"email": "not-an-email", "orgRole": "member"}"#,
            serde_json::json!({"email": ["Enter a valid email address."]}),
        ),
    ];
    for (who, body, expected) in cases {
        let r = app.call("POST", MEMBERS, who, Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.body, expected, "{body}");
    }
    let r = app
        .call("POST", MEMBERS, "owner", Some(r#"{"orgRole": "member"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.detail().contains("email"), "{}", r.detail());
    let after = app
        .call("GET", MEMBERS, "owner", None)
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn nobody_changes_their_own_role() {
    let app = app().await;
    let me = member_id(&app, "manager@demo.invalid").await;
    let r = app
        .call(
            "PUT",
            &format!("{MEMBERS}{me}/"),
            "manager",
            Some(r#"{"orgRole": "member"}"#),
        )
        .await;
    // Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
    // UpdateOrganizationMemberTest::test_cannot_update_own_membership
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.detail(), "You cannot make changes to your own role.");
    let me = member_id(&app, "alice@demo.invalid").await;
    let r = app
        .call(
            "PUT",
            &format!("{MEMBERS}{me}/"),
            "alice",
            Some(r#"{"orgRole": "owner"}"#),
        )
        .await;
    // Without member:admin no role is assignable: the serializer's 400 comes first.
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "members lack member:admin"
    );
    assert_eq!(
        r.body,
        serde_json::json!({"orgRole": ["You do not have permission to set that org-level role"]})
    );
    let r = app
        .call(
            "PUT",
            &format!("{MEMBERS}{me}/"),
            "alice",
            Some(r#"{"teams": ["frontend"]}"#),
        )
        .await;
    // Sentry: a member (member:invite) may only resend invites
    // (test_member_can_only_reinvite).
    assert_eq!(r.status, StatusCode::FORBIDDEN, "members lack member:admin");
    assert_eq!(
        r.detail(),
        "You do not have permission to perform this action."
    );
}

#[tokio::test]
async fn nobody_assigns_a_role_above_their_own() {
    let app = app().await;
    let alice = member_id(&app, "alice@demo.invalid").await;
    let owner = member_id(&app, "owner@demo.invalid").await;
    let path = format!("{MEMBERS}{alice}/");
    let r = app
        .call("PUT", &path, "manager", Some(r#"{"orgRole": "owner"}"#))
        .await;
    // Sentry: the serializer refuses a role outside the caller's (400, field-keyed) ...
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        serde_json::json!({"orgRole": ["You do not have permission to set that org-level role"]})
    );
    let r = app
        .call(
            "PUT",
            &format!("{MEMBERS}{owner}/"),
            "manager",
            Some(r#"{"orgRole": "member"}"#),
        )
        .await;
    // ... and demoting a superior is a 403 (test_cannot_lower_superior_role).
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a manager cannot demote the owner"
    );
    assert_eq!(
        r.body,
        serde_json::json!({"role": "You do not have permission to assign a role to the given user."})
    );
    let r = app
        .call("PUT", &path, "owner", Some(r#"{"orgRole": "admin"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "retired");
    let r = app
        .call("PUT", &path, "manager", Some(r#"{"orgRole": "manager"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["orgRole"], "manager");
    let r = app.call("GET", &path, "bob", None).await;
    assert_eq!(r.body["orgRole"], "manager");
    let r = app
        .call(
            "PUT",
            &format!("{MEMBERS}999/"),
            "owner",
            Some(r#"{"orgRole": "member"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn removal_rules() {
    let app = app().await;
    let owner = member_id(&app, "owner@demo.invalid").await;
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app
        .call("DELETE", &format!("{MEMBERS}{owner}/"), "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the only owner");
    assert_eq!(
        r.detail(),
        "You cannot remove the only remaining owner or manager of the organization."
    );
    let r = app
        .call("DELETE", &format!("{MEMBERS}{owner}/"), "manager", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "outranked");
    let r = app
        .call("DELETE", &format!("{MEMBERS}{bob}/"), "alice", None)
        .await;
    // Sentry: a member removing another member is a 400 (test_member_cannot_delete_members).
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.detail(), "You are missing the member:admin scope.");
    let r = app
        .call("DELETE", &format!("{MEMBERS}{bob}/"), "manager", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call("GET", "/api/0/organizations/demo/", "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn team_membership_and_team_roles() {
    let app = app().await;
    let bob = member_id(&app, "bob@demo.invalid").await;
    let path = format!("{MEMBERS}{bob}/teams/backend/");
    // bob is a contributor elsewhere and membership is closed: asking to join backend files
    // an access request (Sentry's 202), it does not add him.
    let r = app.call("POST", &path, "bob", None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    // alice administers backend through her team role; the answer is the team.
    let r = app.call("POST", &path, "alice", None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["slug"], "backend");
    assert_eq!(r.body["isMember"], true, "alice is on backend");
    let r = app.call("POST", &path, "alice", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "already on the team");
    let r = app
        .call("PUT", &path, "manager", Some(r#"{"teamRole": "admin"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teamRole"], "admin");
    let r = app
        .call("PUT", &path, "manager", Some(r#"{"teamRole": "boss"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call("GET", "/api/0/teams/demo/backend/members/", "bob", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app.call("DELETE", &path, "manager", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["slug"], "backend");
    // Idempotent, as in Sentry.
    let r = app.call("DELETE", &path, "manager", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(
            "POST",
            &format!("{MEMBERS}{bob}/teams/nope/"),
            "manager",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
