//! Sentry's member removal tests, ported:
//! `tests/sentry/core/endpoints/test_organization_member_details.py::DeleteOrganizationMemberTest`.

use axum::http::StatusCode;
use scopegate_store::Actor;

use crate::sentry_member_details::{add_member, events, invite_as, member_id, org_id, MEMBERS};
use crate::{app, App};

fn path(id: impl std::fmt::Display) -> String {
    format!("{MEMBERS}{id}/")
}

async fn exists(app: &App, member: i64) -> bool {
    let org = org_id(app).await;
    app.store.member(org, member).await.is_ok()
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_simple, test_invalid_id
#[tokio::test]
async fn simple() {
    let mut app = app().await;
    let bar = add_member(&mut app, "bar", "member").await;
    let r = app.call("DELETE", &path("trash"), "owner", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call("DELETE", &path(bar), "owner", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!exists(&app, bar).await);
    assert_eq!(events(&app).await.last().unwrap(), "member.remove");
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_cannot_delete_member_with_higher_access
#[tokio::test]
async fn cannot_delete_member_with_higher_access() {
    let app = app().await;
    let owner = member_id(&app, "owner@demo.invalid").await;
    let r = app.call("DELETE", &path(owner), "manager", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.detail(),
        "You cannot remove a member who has more access than you."
    );
    assert!(exists(&app, owner).await);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_cannot_delete_only_owner (a pending owner
// invite does not count)
#[tokio::test]
async fn cannot_delete_only_owner() {
    let app = app().await;
    let r = app
        .call(
            "POST",
            MEMBERS,
            "owner",
            Some(r#"{"email": "bar@example.com", "orgRole": "owner"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let owner = member_id(&app, "owner@demo.invalid").await;
    let r = app.call("DELETE", &path(owner), "owner", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You cannot remove the only remaining owner or manager of the organization."
    );
    assert!(exists(&app, owner).await);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_cannot_delete_only_owner_or_manager
// (issue 10, finding 6: the guard counted only owners)
#[tokio::test]
async fn cannot_delete_only_owner_or_manager() {
    let mut app = app().await;
    app.user("solo", "solo@example.com").await;
    let solo = app.store.user_by_email("solo@example.com").await.unwrap();
    let org = app
        .store
        .create_org("solo", "Solo", &[], solo.id, "manager", &Actor::system())
        .await
        .unwrap();
    let me = app.store.member_of_user(org.id, solo.id).await.unwrap();
    let r = app
        .call(
            "DELETE",
            &format!("/api/0/organizations/solo/members/{}/", me.id),
            "solo",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.detail(),
        "You cannot remove the only remaining owner or manager of the organization."
    );
    assert!(app.store.member(org.id, me.id).await.is_ok());
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_can_delete_self (issue 10, finding 5)
#[tokio::test]
async fn can_delete_self() {
    let mut app = app().await;
    let bar = add_member(&mut app, "bar", "member").await;
    let r = app.call("DELETE", &path("me"), "bar", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(!exists(&app, bar).await);
    let r = app
        .call("GET", "/api/0/organizations/demo/", "bar", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_missing_scope,
// test_member_cannot_delete_members
#[tokio::test]
async fn members_cannot_remove_members() {
    let app = app().await;
    let bob = member_id(&app, "bob@demo.invalid").await;
    let r = app.call("DELETE", &path(bob), "alice", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.detail(), "You are missing the member:admin scope.");
    assert!(exists(&app, bob).await);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_can_delete_pending_invite,
// test_member_delete_pending_invite (issue 10, finding 5)
#[tokio::test]
async fn members_cancel_only_the_invites_they_sent() {
    let app = app().await;
    let mine = invite_as(&app, "alice", "member_invite@example.com").await;
    let theirs = invite_as(&app, "bob", "other_invite@example.com").await;
    let r = app.call("DELETE", &path(theirs), "alice", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.detail(),
        "You cannot modify invitations sent by someone else."
    );
    let r = app.call("DELETE", &path(mine), "alice", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(!exists(&app, mine).await);
    let r = app.call("DELETE", &path(theirs), "owner", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

// Sentry: tests/sentry/core/endpoints/test_organization_member_details.py::
//     DeleteOrganizationMemberTest::test_related_invitations_are_deleted,
// test_invitations_dont_get_deleted_on_invite_detetion
#[tokio::test]
async fn a_removed_members_pending_invites_go_with_them() {
    let mut app = app().await;
    let manager = add_member(&mut app, "mgr", "manager").await;
    let kept = invite_as(&app, "mgr", "kept@example.com").await;
    let r = app.call("DELETE", &path(kept), "mgr", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "deleting one invite");
    let bob = member_id(&app, "bob@demo.invalid").await;
    assert!(exists(&app, bob).await, "only the invite went");
    let invite = invite_as(&app, "mgr", "bar@example.com").await;
    let r = app.call("DELETE", &path("me"), "mgr", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!exists(&app, manager).await);
    assert!(!exists(&app, invite).await, "the manager's invite went too");
    let tail: Vec<String> = events(&app).await.into_iter().rev().take(2).collect();
    assert_eq!(tail, ["member.remove", "member.remove"]);
}

/// Keys of the racing owners' tokens, two per round.
const RACERS: [&str; 24] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23",
];

/// Two owners removing or demoting each other at the same moment, through the API: exactly
/// one succeeds and the organization keeps an owner (issue 11, item 3: before the fix both
/// succeeded). The count runs under the organization's lock, in the transaction of the
/// change. Each round is a fresh organization with owners A and B; rounds alternate between
/// both removing, both demoting, and one of each.
async fn owners_race(app: &mut App, rounds: usize) {
    for round in 0..rounds {
        let (ka, kb) = (RACERS[2 * round], RACERS[2 * round + 1]);
        app.user(ka, &format!("{ka}@example.com")).await;
        app.user(kb, &format!("{kb}@example.com")).await;
        let a = app
            .store
            .user_by_email(&format!("{ka}@example.com"))
            .await
            .unwrap();
        let b = app
            .store
            .user_by_email(&format!("{kb}@example.com"))
            .await
            .unwrap();
        let slug = format!("race-{round}");
        let org = app
            .store
            .create_org(&slug, "Race", &[], a.id, "owner", &Actor::system())
            .await
            .unwrap();
        let ma = app.store.member_of_user(org.id, a.id).await.unwrap().id;
        let invite = app
            .store
            .invite_member(org.id, &b.email, "owner", &Actor::system())
            .await
            .unwrap();
        let mb = app
            .store
            .accept_invite(org.id, invite.id, b.id, &Actor::system())
            .await
            .unwrap()
            .id;
        let base = format!("/api/0/organizations/{slug}/members/");
        let (pa, pb) = (format!("{base}{mb}/"), format!("{base}{ma}/"));
        let demote = Some(r#"{"orgRole": "manager"}"#);
        let (method_a, body_a, method_b, body_b) = match round % 3 {
            0 => ("DELETE", None, "DELETE", None),
            1 => ("PUT", demote, "PUT", demote),
            _ => ("DELETE", None, "PUT", demote),
        };
        let (ra, rb) = tokio::join!(
            app.call(method_a, &pa, ka, body_a),
            app.call(method_b, &pb, kb, body_b)
        );
        let ok = [ra.status.is_success(), rb.status.is_success()];
        assert_eq!(
            ok.iter().filter(|o| **o).count(),
            1,
            "round {round}: exactly one succeeds ({:?} {:?}, {:?} {:?})",
            ra.status,
            ra.body,
            rb.status,
            rb.body
        );
        for r in [&ra, &rb] {
            assert!(r.status.is_success() || r.status.is_client_error(), "{r:?}");
        }
        let members = app
            .store
            .members(
                org.id,
                scopegate_store::Page {
                    offset: 0,
                    limit: 100,
                },
            )
            .await
            .unwrap();
        let owners = members.iter().filter(|m| m.role == "owner").count();
        assert_eq!(owners, 1, "round {round}: one owner left ({members:?})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_owner_changes_keep_an_owner_sqlite() {
    let mut app = app().await;
    owners_race(&mut app, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_owner_changes_keep_an_owner_postgres() {
    let Some(mut app) = crate::postgres_app().await else {
        return;
    };
    owners_race(&mut app, 12).await;
    if let Some(url) = &app.postgres_url {
        scopegate_store::testing::drop_postgres_database(url)
            .await
            .unwrap();
    }
}
