//! `Store::edit_org` with a granular edit, on every backend: the planned grants and revokes
//! are written in bulk, the audit entries come in order, and nothing is written on error.

use std::collections::BTreeSet;

use scopegate_store::{
    Actor, AuditEntry, GrantSelection, GranularEdit, OrgUpdate, Page, Store, StoreError, Unknown,
};
use serde_json::json;

crate::on_both!(granular_edits_write_in_bulk_and_audit_in_order);

fn edit(members: Option<GrantSelection>, toggle: Option<bool>) -> GranularEdit {
    GranularEdit {
        kind: "replay".into(),
        toggle_option: "sentry:granular-replay-permissions".into(),
        toggle,
        members,
        teams: None,
        toggle_field: "hasGranularReplayPermissions".into(),
        members_field: "replayAccessMembers".into(),
    }
}

async fn log(s: &dyn Store, org: i64) -> Vec<AuditEntry> {
    let page = Page {
        offset: 0,
        limit: 1_000_000,
    };
    let mut all = s.audit_log(org, page).await.unwrap();
    all.reverse();
    all
}

async fn granted(s: &dyn Store, org: i64) -> BTreeSet<i64> {
    s.grants(org)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == "replay")
        .filter_map(|g| g.member_id)
        .collect()
}

async fn granular_edits_write_in_bulk_and_audit_in_order(s: &dyn Store) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = s
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    // 600 members with a user (more than one batch of the batched backends) and an invite.
    let mut users = Vec::new();
    let mut members = Vec::new();
    for i in 0..600 {
        let u = s
            .create_user(&format!("u{i}@example.com"), false)
            .await
            .unwrap();
        let m = s
            .invite_member(org, &format!("u{i}@example.com"), "member", &actor)
            .await
            .unwrap();
        s.accept_invite(org, m.id, u.id, &actor).await.unwrap();
        users.push(u.id);
        members.push(m.id);
    }
    let invite = s
        .invite_member(org, "pending@example.com", "member", &actor)
        .await
        .unwrap()
        .id;

    // The invite is granted by member id, with the first 550 members.
    let first: Vec<i64> = members[..550].iter().copied().chain([invite]).collect();
    s.edit_org(
        org,
        &OrgUpdate::default(),
        Some(&edit(
            Some(GrantSelection::MemberIds(first.clone())),
            Some(true),
        )),
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(granted(s, org).await, first.iter().copied().collect());

    // By user id: 50 kept out, 50 added; the invite's grant is left alone.
    let before = log(s, org).await.len();
    let wanted: Vec<i64> = users[50..].iter().rev().copied().collect();
    s.edit_org(
        org,
        &OrgUpdate::default(),
        Some(&edit(Some(GrantSelection::UserIds(wanted)), Some(true))),
        &actor,
    )
    .await
    .unwrap();
    let want: BTreeSet<i64> = members[50..].iter().copied().chain([invite]).collect();
    assert_eq!(granted(s, org).await, want);
    // What `replayAccessMembers` reads back: the granted members' users (the invite has
    // none), ascending; another kind has nobody.
    let mut listed = users[50..].to_vec();
    listed.sort_unstable();
    assert_eq!(s.granted_user_ids(org, "replay").await.unwrap(), listed);
    assert!(s.granted_user_ids(org, "other").await.unwrap().is_empty());
    let all = log(s, org).await;
    let new = &all[before..];
    assert_eq!(new.len(), 1 + 50 + 50);
    assert_eq!(new[0].event, "org.edit");
    assert_eq!(
        new[0].data["replayAccessMembers"],
        json!("added 50 user(s) and removed 50 user(s) (total: 550 user(s) with access)")
    );
    assert!(new[0].data.get("hasGranularReplayPermissions").is_none());
    let changes: Vec<(&str, i64)> = new[1..]
        .iter()
        .map(|e| (e.event.as_str(), e.data["memberId"].as_i64().unwrap()))
        .collect();
    let expected: Vec<(&str, i64)> = members[550..]
        .iter()
        .map(|m| ("granular.grant", *m))
        .chain(members[..50].iter().map(|m| ("granular.revoke", *m)))
        .collect();
    assert_eq!(changes, expected, "grants then revokes, by member id");
    for e in &new[1..] {
        let m = e.data["memberId"].as_i64().unwrap();
        assert_eq!(e.target, format!("member:{m}"));
        assert_eq!(e.data, json!({"kind": "replay", "memberId": m}));
        assert_eq!(e.actor_user_id, Some(owner.id));
        assert_eq!(e.created_at, new[0].created_at);
    }
    assert!(new.windows(2).all(|w| w[0].id < w[1].id));

    // Writing back what is listed is a no-op.
    let listed: Vec<i64> = users[50..].to_vec();
    s.edit_org(
        org,
        &OrgUpdate::default(),
        Some(&edit(Some(GrantSelection::UserIds(listed)), None)),
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(log(s, org).await.len(), all.len());

    // Errors write nothing: unknown users, and a failing audit write.
    let bad = vec![users[0], -3, 999_999];
    let err = s
        .edit_org(
            org,
            &OrgUpdate::default(),
            Some(&edit(Some(GrantSelection::UserIds(bad)), Some(false))),
            &actor,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::NotInOrganization { what: Unknown::Users, ref ids } if ids == &["-3", "999999"]
    ));
    s.inject_audit_failure();
    let err = s
        .edit_org(
            org,
            &OrgUpdate::default(),
            Some(&edit(
                Some(GrantSelection::UserIds(users[..10].to_vec())),
                None,
            )),
            &actor,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Injected));
    assert_eq!(granted(s, org).await, want);
    assert_eq!(log(s, org).await, all);

    // Replaying the log's changes from empty gives the stored grants.
    let mut replayed = BTreeSet::new();
    for e in &all {
        let Some(m) = e.data["memberId"].as_i64() else {
            continue;
        };
        match e.event.as_str() {
            "granular.grant" => assert!(replayed.insert(m)),
            "granular.revoke" => assert!(replayed.remove(&m)),
            _ => {}
        }
    }
    assert_eq!(replayed, want);
}
