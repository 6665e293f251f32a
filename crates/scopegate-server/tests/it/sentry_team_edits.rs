//! Team membership: leave / remove (DELETE), read (GET) and team roles (PUT), ported from
//! Sentry's `tests/sentry/core/endpoints/test_organization_member_team_details.py` over the
//! fixture of `sentry_teams.rs` (open membership unless said otherwise).

use axum::http::StatusCode;

use crate::sentry_teams::{fx, fx_on, ERR_INSUFFICIENT_ROLE};

const FILE: &str = "test_organization_member_team_details.py";

/// Sentry: test_organization_member_team_details.py::DeleteOrganizationMemberTeamTest::
/// test_member_can_leave, ::test_member_can_leave_without_membership. Issue 10 finding 1
/// (a member could not leave: 403) and 11 (200 with the team, idempotent).
#[tokio::test]
async fn members_leave_their_teams() {
    let f = fx(true, false).await;
    let path = f.path("member_on_team", "team");
    let r = f.app.call("DELETE", &path, "member_on_team", None).await;
    assert_eq!(r.status, StatusCode::OK, "{FILE}: {:?}", r.body);
    assert_eq!(r.body["isMember"], false);
    assert_eq!(r.body["id"], f.team.id.to_string());
    assert!(!f.on_team("member_on_team", &f.team).await);
    assert_eq!(f.events().await[0], "member.leave-team");
    // Leaving a team one is not on: 200, nothing written.
    let n = f.events().await.len();
    let r = f
        .app
        .call("DELETE", &f.path("member", "team"), "member", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(f.events().await.len(), n);
    // With an org:read-only token too (Sentry's docs: org:read removes yourself).
    let f = fx(false, false).await;
    let token = f.token("member_on_team", &["org:read"]).await;
    let r = f
        .app
        .call("DELETE", &f.path("member_on_team", "team"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!f.on_team("member_on_team", &f.team).await);
}

/// Sentry: test_organization_member_team_details.py::DeleteOrganizationMemberTeamTest::
/// test_member_cannot_remove_member, ::test_admin_cannot_remove_member,
/// ::test_admin_cannot_remove_member_using_user_token. Issue 10 finding 3 (an org admin not
/// on the team removed its members: 204).
#[tokio::test]
async fn members_and_teamless_admins_cannot_remove_others() {
    for open in [true, false] {
        let f = fx(open, false).await;
        let path = f.path("member_on_team", "team");
        let r = f
            .app
            .call(
                "DELETE",
                &f.path("admin_on_team", "team"),
                "member_on_team",
                None,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "a member removes another"
        );
        assert_eq!(r.detail(), ERR_INSUFFICIENT_ROLE);
        let r = f.app.call("DELETE", &path, "admin", None).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "a teamless admin, open={open}"
        );
        assert_eq!(r.detail(), ERR_INSUFFICIENT_ROLE);
        let token = f.token("admin", &["team:admin"]).await;
        let r = f.app.call("DELETE", &path, &token, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.detail(), ERR_INSUFFICIENT_ROLE);
        assert!(f.on_team("member_on_team", &f.team).await);
        assert!(f.on_team("admin_on_team", &f.team).await);
    }
}

/// Sentry: test_organization_member_team_details.py::DeleteOrganizationMemberTeamTest::
/// test_admin_on_team_can_remove_members, ::test_manager_can_remove_members,
/// ::test_owner_can_remove_members.
#[tokio::test]
async fn team_admins_managers_and_owners_remove_members() {
    for caller in ["admin_on_team", "manager_on_team", "owner"] {
        let f = fx(true, false).await;
        for target in ["member_on_team", "manager_on_team", "owner_on_team"] {
            let r = f
                .app
                .call("DELETE", &f.path(target, "team"), caller, None)
                .await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{caller} removes {target}: {:?}",
                r.body
            );
            assert!(!f.on_team(target, &f.team).await);
        }
    }
}

/// Sentry: test_organization_member_team_details.py::DeleteOrganizationMemberTeamTest::
/// test_admin_on_team_can_remove_members_using_user_token,
/// ::test_manager_can_remove_members_using_user_token,
/// ::test_owner_can_remove_members_using_user_token. A manager (not on the team) removes
/// anyone: their role holds org:write, whatever the token's scopes.
#[tokio::test]
async fn removing_with_scoped_tokens() {
    let f = fx(true, false).await;
    let token = f.token("admin_on_team", &["team:admin"]).await;
    let r = f
        .app
        .call("DELETE", &f.path("member_on_team", "team"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!f.on_team("member_on_team", &f.team).await);
    for (caller, scopes) in [
        ("manager", &["org:write", "team:admin"][..]),
        ("owner", &["org:write", "org:admin", "team:admin"][..]),
    ] {
        for scope in scopes {
            let f = fx(true, false).await;
            let token = f.token(caller, &[scope]).await;
            for target in ["member_on_team", "manager_on_team", "owner_on_team"] {
                let r = f
                    .app
                    .call("DELETE", &f.path(target, "team"), &token, None)
                    .await;
                assert_eq!(
                    r.status,
                    StatusCode::OK,
                    "{caller} with {scope} removes {target}"
                );
                assert!(!f.on_team(target, &f.team).await);
            }
        }
    }
}

/// Sentry: test_organization_member_team_details.py::DeleteOrganizationMemberTeamTest::
/// test_access_revoked_after_leaving_team (closed membership: the project goes with the team).
#[tokio::test]
async fn access_is_revoked_after_leaving() {
    let f = fx(false, false).await;
    f.app
        .store
        .create_project(
            f.org.id,
            "web",
            "Web",
            &[f.team.id],
            &scopegate_store::Actor::system(),
        )
        .await
        .unwrap();
    let project = "/api/0/projects/acme/web/";
    assert_eq!(
        f.app
            .call("GET", project, "member_on_team", None)
            .await
            .status,
        StatusCode::OK
    );
    let r = f
        .app
        .call(
            "DELETE",
            &f.path("member_on_team", "team"),
            "member_on_team",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        f.app
            .store
            .member(f.org.id, f.members["member_on_team"])
            .await
            .is_ok(),
        "still a member"
    );
    assert_eq!(
        f.app
            .call("GET", project, "member_on_team", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// Sentry: test_organization_member_team_details.py::ReadOrganizationMemberTeamTest::
/// test_get, ::test_get_role, ::test_not_found; teams by id as well as slug.
#[tokio::test]
async fn reading_a_membership() {
    let f = fx(true, true).await;
    let r = f
        .app
        .call("GET", &f.path("member_on_team", "team"), "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["isActive"], true);
    let by_id = f.path("team_admin", &f.team.id.to_string());
    let r = f.app.call("GET", &by_id, "owner", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teamRole"], "admin");
    let bad_org = format!(
        "/api/0/organizations/bad_slug/members/{}/teams/team/",
        f.members["team_admin"]
    );
    assert_eq!(
        f.app.call("GET", &bad_org, "owner", None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = f
        .app
        .call("GET", &f.path("team_admin", "bad_team"), "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = f
        .app
        .call("GET", &f.path("member", "team"), "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not on the team");
    // `me` names the caller's own membership (Sentry's OrganizationMemberEndpoint).
    let r = f
        .app
        .call(
            "GET",
            "/api/0/organizations/acme/members/me/teams/team/",
            "team_admin",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teamRole"], "admin");
}

/// Sentry: test_organization_member_team_details.py::UpdateOrganizationMemberTeamTest::
/// test_cannot_set_nonexistent_role, ::test_cannot_promote_nonmember,
/// ::test_owner_can_promote_member, ::test_team_admin_can_promote_member,
/// ::test_admin_can_promote_member.
#[tokio::test]
async fn promoting_team_members() {
    let f = fx(true, true).await;
    let path = f.path("member_on_team", "team");
    let r = f
        .app
        .call("PUT", &path, "owner", Some(r#"{"teamRole": "poobah"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = f
        .app
        .call(
            "PUT",
            &f.path("member", "team"),
            "owner",
            Some(r#"{"teamRole": "admin"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for caller in ["owner", "team_admin", "admin_on_team"] {
        let f = fx(true, true).await;
        let r = f
            .app
            .call("PUT", &path, caller, Some(r#"{"teamRole": "admin"}"#))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{caller}: {:?}", r.body);
        assert_eq!(r.body["teamRole"], "admin");
        let stored = f.app.store.team_members(f.team.id).await.unwrap();
        let m = stored
            .iter()
            .find(|m| m.member_id == f.members["member_on_team"])
            .unwrap();
        assert_eq!(m.role.as_deref(), Some("admin"));
        assert_eq!(f.events().await[0], "member.edit");
    }
}

/// Sentry: test_organization_member_team_details.py::UpdateOrganizationMemberTeamTest::
/// test_member_cannot_promote_member, ::test_team_contributor_cannot_downgrade_team_admin,
/// ::test_member_cannot_downgrade_org_admin_without_explicit_team_role (VULN-734). Before
/// issue 10 a member holding member:admin... nobody but org:write / member:admin / team:admin
/// holders reached the handler; with org:read admitted, these rules are what stops them.
#[tokio::test]
async fn members_cannot_promote_or_downgrade() {
    let f = fx(true, true).await;
    let n = f.events().await.len();
    for (caller, target, role) in [
        ("member_on_team", "owner_on_team", "admin"),
        ("member", "team_admin", "contributor"),
        ("member_on_team", "admin_on_team", "contributor"),
    ] {
        let body = format!(r#"{{"teamRole": "{role}"}}"#);
        let r = f
            .app
            .call("PUT", &f.path(target, "team"), caller, Some(&body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{caller} sets {target} to {role}"
        );
        assert_eq!(r.detail(), ERR_INSUFFICIENT_ROLE);
    }
    let m = f.app.store.team_members(f.team.id).await.unwrap();
    let team_admin = m
        .iter()
        .find(|m| m.member_id == f.members["team_admin"])
        .unwrap();
    assert_eq!(team_admin.role.as_deref(), Some("admin"), "unchanged");
    assert_eq!(f.events().await.len(), n, "nothing written");
}

/// Sentry's `put`: without the team-roles feature `teamRole` is ignored (200, unchanged).
#[tokio::test]
async fn team_roles_need_the_feature() {
    let f = fx(true, false).await;
    let r = f
        .app
        .call(
            "PUT",
            &f.path("member_on_team", "team"),
            "member_on_team",
            Some(r#"{"teamRole": "admin"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teamRole"], serde_json::Value::Null);
    let m = f.app.store.team_members(f.team.id).await.unwrap();
    assert!(m
        .iter()
        .all(|m| m.member_id != f.members["member_on_team"] || m.role.is_none()));
}

/// The same flows on PostgreSQL: leave, remove refused, join under open membership.
#[tokio::test]
async fn membership_rules_on_postgres() {
    let Some(app) = crate::postgres_app().await else {
        return;
    };
    let f = fx_on(app, true, false).await;
    let r = f
        .app
        .call("DELETE", &f.path("member_on_team", "team"), "admin", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = f
        .app
        .call(
            "DELETE",
            &f.path("member_on_team", "team"),
            "member_on_team",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = f
        .app
        .call("POST", &f.path("member", "team"), "member", None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(f.on_team("member", &f.team).await);
    let url = f.app.postgres_url.clone();
    drop(f);
    if let Some(url) = url {
        scopegate_store::testing::drop_postgres_database(&url)
            .await
            .unwrap();
    }
}
