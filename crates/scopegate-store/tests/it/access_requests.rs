//! Access requests (Sentry's `OrganizationAccessRequest`) and idempotent team-membership
//! joins and removals: one request per (team, member), approval creates the membership in the same
//! transaction as the request's deletion, both resolutions audited.

use scopegate_store::{Actor, Page, Store, StoreError};

crate::on_both!(
    access_requests_are_created_listed_and_resolved,
    resolving_is_atomic_with_its_audit_entry,
    team_membership_removal_is_idempotent
);

async fn events(s: &dyn Store, org: i64) -> Vec<String> {
    s.audit_log(org, Page::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// An organization with a team and two members besides the owner; returns
/// (org, team, member a, member b, owner actor).
async fn setup(s: &dyn Store) -> (i64, i64, i64, i64, Actor) {
    let owner = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = s
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    let team = s
        .create_team(org.id, "backend", "Backend", &actor)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        let u = s.create_user(email, false).await.unwrap();
        let inv = s
            .invite_member(org.id, email, "member", &actor)
            .await
            .unwrap();
        ids.push(
            s.accept_invite(org.id, inv.id, u.id, &actor)
                .await
                .unwrap()
                .id,
        );
    }
    (org.id, team.id, ids[0], ids[1], actor)
}

async fn access_requests_are_created_listed_and_resolved(s: &dyn Store) {
    let (org, team, a, b, actor) = setup(s).await;
    let before = events(s, org).await.len();
    let (ra, created) = s.create_access_request(org, team, a, None).await.unwrap();
    assert!(created);
    assert_eq!(
        (ra.team_id, ra.member_id, ra.requester_user_id),
        (team, a, None)
    );
    // A second request for the same (team, member) is the first one.
    let (again, created) = s
        .create_access_request(org, team, a, actor.user_id)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, ra);
    let (rb, _) = s
        .create_access_request(org, team, b, actor.user_id)
        .await
        .unwrap();
    assert_eq!(rb.requester_user_id, actor.user_id);
    assert_eq!(
        events(s, org).await.len(),
        before,
        "a request grants nothing"
    );
    assert_eq!(
        s.access_requests(org).await.unwrap(),
        vec![ra.clone(), rb.clone()]
    );
    assert_eq!(s.access_request(org, ra.id).await.unwrap(), ra);
    assert!(matches!(
        s.access_request(org + 1, ra.id).await,
        Err(StoreError::NotFound)
    ));
    // A team or member of another organization is not found.
    assert!(matches!(
        s.create_access_request(org + 1, team, a, None).await,
        Err(StoreError::NotFound)
    ));

    // Approve a: the membership exists, the request is gone, `member.join-team` audited.
    let m = s
        .resolve_access_request(org, ra.id, true, &actor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.team_id, m.member_id, m.role), (team, a, None));
    assert!(s
        .team_members(team)
        .await
        .unwrap()
        .iter()
        .any(|t| t.member_id == a));
    assert_eq!(events(s, org).await[0], "member.join-team");
    assert!(matches!(
        s.access_request(org, ra.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.resolve_access_request(org, ra.id, true, &actor).await,
        Err(StoreError::NotFound)
    ));

    // Deny b: no membership, the request is gone, audited.
    assert_eq!(
        s.resolve_access_request(org, rb.id, false, &actor)
            .await
            .unwrap(),
        None
    );
    assert!(!s
        .team_members(team)
        .await
        .unwrap()
        .iter()
        .any(|t| t.member_id == b));
    assert_eq!(events(s, org).await[0], "access-request.deny");
    assert!(s.access_requests(org).await.unwrap().is_empty());

    // A request whose member joined the team some other way is not listed, and approving
    // it creates nothing (and audits nothing), as in Sentry.
    let (rb, _) = s.create_access_request(org, team, b, None).await.unwrap();
    s.set_team_member(org, team, b, None, &actor).await.unwrap();
    assert!(s.access_requests(org).await.unwrap().is_empty());
    let n = events(s, org).await.len();
    assert_eq!(
        s.resolve_access_request(org, rb.id, true, &actor)
            .await
            .unwrap(),
        None
    );
    assert_eq!(events(s, org).await.len(), n);
}

async fn resolving_is_atomic_with_its_audit_entry(s: &dyn Store) {
    let (org, team, a, _, actor) = setup(s).await;
    let (r, _) = s.create_access_request(org, team, a, None).await.unwrap();
    s.inject_audit_failure();
    assert!(s
        .resolve_access_request(org, r.id, true, &actor)
        .await
        .is_err());
    assert_eq!(s.access_request(org, r.id).await.unwrap(), r, "still open");
    assert!(
        s.team_members(team).await.unwrap().is_empty(),
        "nobody joined"
    );
}

async fn team_membership_removal_is_idempotent(s: &dyn Store) {
    let (org, team, a, b, actor) = setup(s).await;
    let joined = s.join_team(org, team, a, &actor).await.unwrap().unwrap();
    assert_eq!(
        (joined.team_id, joined.member_id, joined.role),
        (team, a, None)
    );
    assert_eq!(events(s, org).await[0], "member.join-team");
    // Joining again writes nothing and never touches an explicit role.
    s.set_team_member(org, team, a, Some("admin"), &actor)
        .await
        .unwrap();
    assert_eq!(s.join_team(org, team, a, &actor).await.unwrap(), None);
    let m = s.team_members(team).await.unwrap();
    assert_eq!(m[0].role.as_deref(), Some("admin"));
    let n = events(s, org).await.len();
    assert!(s.remove_team_member(org, team, a, &actor).await.unwrap());
    assert_eq!(events(s, org).await[0], "member.leave-team");
    assert!(!s.remove_team_member(org, team, a, &actor).await.unwrap());
    assert!(!s.remove_team_member(org, team, b, &actor).await.unwrap());
    assert_eq!(
        events(s, org).await.len(),
        n + 1,
        "only the effective removal"
    );
    assert!(matches!(
        s.remove_team_member(org, team, b + 1000, &actor).await,
        Err(StoreError::NotFound)
    ));
    // A member's requests go with the member.
    let (r, _) = s.create_access_request(org, team, b, None).await.unwrap();
    s.remove_member(org, b, &actor).await.unwrap();
    assert!(matches!(
        s.access_request(org, r.id).await,
        Err(StoreError::NotFound)
    ));
}
