//! Member changes with the organization's counting rules: guarded removal and edit, invites
//! with teams and duplicates, reinvites; run on every backend.

use scopegate_store::{
    Actor, Guarded, Invited, MemberEdit, MemberGuard, NewInvite, Page, Store, StoreError,
};

crate::on_both!(
    removal_keeps_an_owner_or_manager,
    edit_is_one_transaction,
    invites_check_duplicates_under_the_lock,
    invite_duplicates_match_either_email_in_the_organization_only,
);

fn guard() -> MemberGuard {
    MemberGuard {
        owner_role: "owner".into(),
        write_roles: vec!["owner".into(), "manager".into()],
    }
}

/// A user who is a member of `org` with `role`; the member id.
async fn member(s: &dyn Store, org: i64, email: &str, role: &str) -> i64 {
    let u = s.create_user(email, false).await.unwrap();
    let i = s
        .invite_member(org, email, role, &Actor::system())
        .await
        .unwrap();
    s.accept_invite(org, i.id, u.id, &Actor::system())
        .await
        .unwrap()
        .id
}

async fn removal_keeps_an_owner_or_manager(s: &dyn Store) {
    let o = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(o.id);
    let org = s
        .create_org("acme", "Acme", &[], o.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let owner = s.member_of_user(org, o.id).await.unwrap().id;
    // A pending owner invite does not count.
    s.invite_member(org, "pending@example.com", "owner", &actor)
        .await
        .unwrap();
    let g = guard();
    assert_eq!(
        s.remove_member_guarded(org, owner, &g, &actor)
            .await
            .unwrap(),
        Guarded::LastOwner
    );
    // With a manager, the owner is still the last owner.
    let manager = member(s, org, "m@example.com", "manager").await;
    assert_eq!(
        s.remove_member_guarded(org, owner, &g, &actor)
            .await
            .unwrap(),
        Guarded::LastOwner
    );
    // The manager may go (an owner remains), and takes their pending invites along.
    let m_user = s.member(org, manager).await.unwrap().user_id.unwrap();
    let sent = s
        .invite_member(org, "sent@example.com", "member", &Actor::user(m_user))
        .await
        .unwrap();
    assert_eq!(sent.inviter_id, Some(m_user));
    let before = s
        .audit_log(
            org,
            Page {
                offset: 0,
                limit: 1000,
            },
        )
        .await
        .unwrap()
        .len();
    s.inject_audit_failure();
    assert!(matches!(
        s.remove_member_guarded(org, manager, &g, &actor).await,
        Err(StoreError::Injected)
    ));
    assert!(s.member(org, manager).await.is_ok(), "nothing half-written");
    assert_eq!(
        s.remove_member_guarded(org, manager, &g, &actor)
            .await
            .unwrap(),
        Guarded::Done(())
    );
    assert!(matches!(
        s.member(org, sent.id).await,
        Err(StoreError::NotFound)
    ));
    let after = s
        .audit_log(
            org,
            Page {
                offset: 0,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    assert_eq!(after.len(), before + 2);
    assert!(after.iter().take(2).all(|e| e.event == "member.remove"));

    // A manager alone in an organization is its last owner or manager.
    let solo = s.create_user("solo@example.com", false).await.unwrap();
    let org2 = s
        .create_org("solo", "Solo", &[], solo.id, "manager", &actor)
        .await
        .unwrap()
        .id;
    let sm = s.member_of_user(org2, solo.id).await.unwrap().id;
    assert_eq!(
        s.remove_member_guarded(org2, sm, &g, &actor).await.unwrap(),
        Guarded::LastOwner
    );
    assert!(matches!(
        s.remove_member_guarded(org2, sm + 1000, &g, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn edit_is_one_transaction(s: &dyn Store) {
    let o = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(o.id);
    let org = s
        .create_org("acme", "Acme", &[], o.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let owner = s.member_of_user(org, o.id).await.unwrap().id;
    let a = s.create_team(org, "a", "A", &actor).await.unwrap().id;
    let b = s.create_team(org, "b", "B", &actor).await.unwrap().id;
    let m = member(s, org, "m@example.com", "member").await;
    let g = guard();
    // The last owner keeps their role.
    let demote = MemberEdit {
        role: Some("manager".into()),
        ..MemberEdit::default()
    };
    assert_eq!(
        s.edit_member(org, owner, &demote, &g, &actor)
            .await
            .unwrap(),
        Guarded::LastOwner
    );
    // Role and teams together; a team of another organization fails the whole edit.
    let other = s.create_user("x@example.com", false).await.unwrap();
    let org_x = s
        .create_org("x", "X", &[], other.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let foreign = s.create_team(org_x, "f", "F", &actor).await.unwrap().id;
    let bad = MemberEdit {
        role: Some("manager".into()),
        clear_team_roles: vec![],
        teams: Some(vec![(a, None), (foreign, None)]),
    };
    assert!(matches!(
        s.edit_member(org, m, &bad, &g, &actor).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.member(org, m).await.unwrap().role, "member");
    assert!(s.member_teams(org, m).await.unwrap().is_empty());
    let good = MemberEdit {
        role: Some("manager".into()),
        clear_team_roles: vec!["contributor".into()],
        teams: Some(vec![
            (a, Some("admin".into())),
            (b, Some("contributor".into())),
        ]),
    };
    let Guarded::Done(edited) = s.edit_member(org, m, &good, &g, &actor).await.unwrap() else {
        panic!("refused");
    };
    assert_eq!(edited.role, "manager");
    let teams = s.member_teams(org, m).await.unwrap();
    let roles: Vec<(&str, Option<&str>)> = teams
        .iter()
        .map(|t| (t.slug.as_str(), t.role.as_deref()))
        .collect();
    // Teams are set before the role; the role change clears the lesser team role.
    assert_eq!(roles, [("a", Some("admin")), ("b", None)]);
    let log = s
        .audit_log(
            org,
            Page {
                offset: 0,
                limit: 3,
            },
        )
        .await
        .unwrap();
    let events: Vec<&str> = log.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        ["member.edit", "member.join-team", "member.join-team"]
    );
    // A manager beside the owner does not make the owner demotable: they are the last owner.
    assert_eq!(
        s.edit_member(org, owner, &demote, &g, &actor)
            .await
            .unwrap(),
        Guarded::LastOwner
    );
}

async fn invites_check_duplicates_under_the_lock(s: &dyn Store) {
    let o = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(o.id);
    let org = s
        .create_org("acme", "Acme", &[], o.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let a = s.create_team(org, "a", "A", &actor).await.unwrap().id;
    let new = NewInvite {
        email: "n@example.com".into(),
        role: "member".into(),
        teams: vec![a, a],
    };
    let Invited::Created(inv) = s.invite(org, &new, &actor).await.unwrap() else {
        panic!("not created");
    };
    assert_eq!(inv.inviter_id, Some(o.id));
    assert!(inv.invite_expires_at.is_some_and(|t| t > inv.created_at));
    assert!(!inv.invite_expired(inv.created_at));
    assert_eq!(s.member_teams(org, inv.id).await.unwrap().len(), 1);
    let again = NewInvite {
        email: "N@EXAMPLE.com".into(),
        ..new.clone()
    };
    assert_eq!(
        s.invite(org, &again, &actor).await.unwrap(),
        Invited::AlreadyInvited
    );
    let mine = NewInvite {
        email: "o@example.com".into(),
        ..new.clone()
    };
    assert_eq!(
        s.invite(org, &mine, &actor).await.unwrap(),
        Invited::AlreadyMember
    );
    let renewed = s.reinvite(org, inv.id, true, &actor).await.unwrap();
    assert!(renewed.invite_expires_at >= inv.invite_expires_at);
    let owner = s.member_of_user(org, o.id).await.unwrap().id;
    assert!(matches!(
        s.reinvite(org, owner, false, &actor).await,
        Err(StoreError::NotFound)
    ));
}

/// The duplicate check matches, case-insensitively, a member's own email (the address it
/// was invited at) or its user's email, and only in the organization invited to.
async fn invite_duplicates_match_either_email_in_the_organization_only(s: &dyn Store) {
    let o = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(o.id);
    let org = s
        .create_org("acme", "Acme", &[], o.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let other = s
        .create_org("umbrella", "Umbrella", &[], o.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let invite = |email: &str| NewInvite {
        email: email.into(),
        role: "member".into(),
        teams: Vec::new(),
    };
    // A user who accepted an invite sent to another address.
    let y = s.create_user("Y@example.com", false).await.unwrap();
    let sent = s
        .invite_member(org, "alias@example.com", "member", &actor)
        .await
        .unwrap();
    s.accept_invite(org, sent.id, y.id, &actor).await.unwrap();
    s.invite_member(org, "q@example.com", "member", &actor)
        .await
        .unwrap();
    // Elsewhere only: a member with a user, and a pending invite.
    member(s, other, "x@example.com", "member").await;
    s.invite_member(other, "p@example.com", "member", &actor)
        .await
        .unwrap();
    for (email, expected) in [
        ("y@EXAMPLE.com", Some(Invited::AlreadyMember)),
        ("ALIAS@example.com", Some(Invited::AlreadyMember)),
        ("Q@Example.Com", Some(Invited::AlreadyInvited)),
        ("O@example.com", Some(Invited::AlreadyMember)),
        ("X@example.com", None),
        ("P@example.com", None),
    ] {
        let got = s.invite(org, &invite(email), &actor).await.unwrap();
        match expected {
            Some(expected) => assert_eq!(got, expected, "{email}"),
            None => assert!(matches!(got, Invited::Created(_)), "{email}: {got:?}"),
        }
    }
    // Both addresses invited now.
    for email in ["x@example.com", "p@EXAMPLE.com"] {
        assert_eq!(
            s.invite(org, &invite(email), &actor).await.unwrap(),
            Invited::AlreadyInvited,
            "{email}"
        );
    }
}
