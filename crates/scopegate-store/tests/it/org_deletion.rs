//! Organization deletion (Sentry's pending deletion): the schedule, what hides a pending
//! organization, restoring it, and the removal of what is due — on both backends.

use scopegate_store::{Actor, OrgUpdate, Page, Store, StoreError};

use crate::on_both;

on_both!(pending_deletion_hides_restores_and_purges);

async fn events(s: &dyn Store, org: i64) -> Vec<String> {
    let page = Page {
        offset: 0,
        limit: 1_000,
    };
    let mut e: Vec<String> = s
        .audit_log(org, page)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    e.reverse();
    e
}

async fn pending_deletion_hides_restores_and_purges(s: &dyn Store) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let a = s
        .create_org("alpha", "Alpha", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    s.create_org("beta", "Beta", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    s.create_team(a.id, "ops", "Ops", &actor).await.unwrap();
    assert!(!a.pending_deletion());

    // Scheduled, audited once; a second schedule keeps the first and writes nothing.
    let before = events(s, a.id).await.len();
    let pending = s.schedule_org_deletion(a.id, 2_000, &actor).await.unwrap();
    assert_eq!(pending.deletion_scheduled_at, Some(2_000));
    let again = s.schedule_org_deletion(a.id, 9_000, &actor).await.unwrap();
    assert_eq!(again.deletion_scheduled_at, Some(2_000));
    assert_eq!(events(s, a.id).await[before..], ["org.remove"]);

    // Hidden from the list, the per-organization world and the full world.
    let mine = s.orgs_of_user(owner.id, Page::default()).await.unwrap();
    let slugs: Vec<&str> = mine.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["beta"]);
    let w = s.world(Some("alpha"), Some(owner.id)).await.unwrap();
    assert!(w.organizations.is_empty() && w.members.is_empty() && w.teams.is_empty());
    let w = s
        .world_including_pending(Some("alpha"), Some(owner.id))
        .await
        .unwrap();
    assert_eq!(w.organizations.len(), 1);
    assert_eq!(w.teams.len(), 1);
    let full = s.full_world().await.unwrap();
    let ids: Vec<u64> = full.organizations.iter().map(|o| o.id).collect();
    let alpha = u64::try_from(a.id).unwrap();
    assert!(!ids.contains(&alpha), "{ids:?}");
    assert!(full.members.iter().all(|m| m.organization != alpha));
    assert!(full.teams.iter().all(|t| t.organization != alpha));
    assert_eq!(full.organizations.len(), 1);
    // Still found by slug (its details routes answer for it).
    assert!(s.org_by_slug("alpha").await.unwrap().pending_deletion());

    // Restored by an edit with cancel_deletion: audited org.restore alone.
    let before = events(s, a.id).await.len();
    let restore = OrgUpdate {
        cancel_deletion: true,
        ..OrgUpdate::default()
    };
    let restored = s.edit_org(a.id, &restore, None, &actor).await.unwrap();
    assert!(!restored.pending_deletion());
    assert_eq!(events(s, a.id).await[before..], ["org.restore"]);
    // On an active organization it is nothing at all (but the edit's own entry).
    let before = events(s, a.id).await.len();
    s.edit_org(a.id, &restore, None, &actor).await.unwrap();
    assert_eq!(events(s, a.id).await[before..], ["org.edit"]);
    assert!(s.purge_orgs_due(i64::MAX).await.unwrap().is_empty());
    assert_eq!(s.full_world().await.unwrap().organizations.len(), 2);

    // Removed once due, not before; audited by system under its id.
    s.schedule_org_deletion(a.id, 5_000, &actor).await.unwrap();
    assert!(s.purge_orgs_due(4_999).await.unwrap().is_empty());
    assert_eq!(s.purge_orgs_due(5_000).await.unwrap(), [a.id]);
    assert!(matches!(
        s.org_by_slug("alpha").await,
        Err(StoreError::NotFound)
    ));
    let log = s.audit_log(a.id, Page::default()).await.unwrap();
    assert_eq!(log[0].event, "org.delete");
    assert_eq!(log[0].actor, Actor::system().label);
    assert!(s.purge_orgs_due(i64::MAX).await.unwrap().is_empty());
    let full = s.full_world().await.unwrap();
    assert_eq!(full.organizations.len(), 1);
    // The slug is free again.
    s.create_org("alpha", "Alpha again", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
}
