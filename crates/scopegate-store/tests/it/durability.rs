//! Durability under a full disk (SQLite), readiness, and the error classes of storage
//! failures (issue 11, findings 2 and 5).

use std::collections::BTreeSet;

use scopegate_store::{Actor, Page, SqliteStore, Store, StoreError};

/// Every member email stored in organization `org`, read through `store`.
async fn stored_emails(store: &dyn Store, org: i64) -> BTreeSet<String> {
    store
        .members(
            org,
            Page {
                offset: 0,
                limit: 100_000,
            },
        )
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.email)
        .collect()
}

/// A full disk (SQLite's page cap, the code path of `SQLITE_FULL`) then freed space: every
/// acknowledged write is visible to another connection and survives a restart; nothing
/// unacknowledged appears; writes fail with `Unavailable` (not a generic database error)
/// while full, and succeed again once there is room, without a restart; `ready` follows.
#[tokio::test]
async fn full_disk_loses_no_acknowledged_write_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("full.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let owner = store.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = store
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    store.ready().await.unwrap();

    // Fill the database: a cap at its current size; long emails fill pages fast.
    store.set_page_limit(Some(1));
    let mut acknowledged = BTreeSet::from([owner.email.clone()]);
    let mut full = 0;
    for i in 0..400 {
        let email = format!("{i:04}-{}@example.com", "x".repeat(200));
        match store.invite_member(org.id, &email, "member", &actor).await {
            Ok(_) => {
                acknowledged.insert(email);
            }
            Err(e) => {
                assert!(
                    matches!(e, StoreError::Unavailable(_)),
                    "a full disk is `Unavailable`, got {e:?}"
                );
                full += 1;
            }
        }
    }
    assert!(full > 0, "the page cap never filled the database");
    assert!(
        matches!(store.ready().await, Err(StoreError::Unavailable(_))),
        "a full store is not ready"
    );
    // What was acknowledged is what another connection sees.
    let other = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(stored_emails(&other, org.id).await, acknowledged);

    // Free space: the same store writes again, with no restart.
    store.set_page_limit(None);
    store.ready().await.unwrap();
    for i in 0..20 {
        let email = format!("after-{i}@example.com");
        store
            .invite_member(org.id, &email, "member", &actor)
            .await
            .unwrap();
        acknowledged.insert(email);
    }
    assert_eq!(stored_emails(&other, org.id).await, acknowledged);

    // Restart: the same.
    store.close().await;
    other.close().await;
    let reopened = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(stored_emails(&reopened, org.id).await, acknowledged);
    // Every acknowledged invite has its audit entry, and no other.
    let audited = reopened
        .audit_log(
            org.id,
            Page {
                offset: 0,
                limit: 100_000,
            },
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "member.invite")
        .count();
    assert_eq!(audited, acknowledged.len() - 1);
}

crate::on_both!(writes_referring_to_a_deleted_row_are_not_found);

/// Finding 5 at the store: a write naming a row deleted meanwhile (the foreign-key
/// violation of a create racing a deletion) is `NotFound`, not a database error, and
/// writes nothing.
async fn writes_referring_to_a_deleted_row_are_not_found(s: &dyn Store) {
    use scopegate_store::{NewToken, TokenKind};
    let u = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("gone", "Gone", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let team = s.create_team(org.id, "t", "T", &actor).await.unwrap();
    let owner = s.member_of_user(org.id, u.id).await.unwrap();
    let project = s
        .create_project(org.id, "p", "P", &[team.id], &actor)
        .await
        .unwrap();
    s.delete_team(org.id, team.id, &actor).await.unwrap();
    let not_found = |r: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(r, Err(StoreError::NotFound)),
            "{what} after the deletion: {r:?}"
        );
    };
    not_found(
        s.create_project(org.id, "q", "Q", &[team.id], &actor)
            .await
            .map(drop),
        "a project on the deleted team",
    );
    not_found(
        s.set_team_member(org.id, team.id, owner.id, None, &actor)
            .await
            .map(drop),
        "joining the deleted team",
    );
    not_found(
        s.add_project_team(org.id, project.id, team.id, &actor)
            .await
            .map(drop),
        "linking the deleted team",
    );
    assert!(matches!(
        s.project_by_slug(org.id, "q").await,
        Err(StoreError::NotFound)
    ));

    s.delete_org(org.id, &actor).await.unwrap();
    not_found(
        s.create_team(org.id, "late", "Late", &actor)
            .await
            .map(drop),
        "a team in the deleted organization",
    );
    not_found(
        s.invite_member(org.id, "late@example.com", "member", &actor)
            .await
            .map(drop),
        "an invite to the deleted organization",
    );
    let token = NewToken {
        kind: TokenKind::Org,
        user_id: None,
        organization_id: Some(org.id),
        name: Some("late".into()),
        scopes: vec!["org:ci".into()],
    };
    not_found(
        s.create_token(&token, &actor).await.map(drop),
        "an org token of the deleted organization",
    );
    assert!(s.all_tokens().await.unwrap().is_empty());
}
