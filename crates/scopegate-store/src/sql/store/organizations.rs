//! Organizations: creation, lookup, features, deletion (immediate, scheduled, purged), and the
//! organization lock every counted check runs under.

use super::{Backend, Db};

impl Backend {
    /// Locks the organization row for the rest of `tx` and returns it: edits of one
    /// organization are serialized (the first statement is a write, so SQLite takes
    /// its write lock before any read; PostgreSQL takes the row lock), and every read
    /// after it sees the latest committed state. It sets `name`, a column no foreign key
    /// references: `SET id = id` made SQLite check every row referencing the organization
    /// (its members, teams, projects, …): 1.4 ms in the largest organization of the
    /// 100,000-member bench world, 0.4 ms this way, as in a small one. PostgreSQL takes
    /// the same row lock either way (the key is unchanged).
    pub(super) async fn lock_org(
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
    ) -> crate::Result<crate::Organization> {
        sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
            "UPDATE organizations SET name = name WHERE id = $1 RETURNING {}",
            crate::sql::ORG_COLS
        ))
        .bind(org)
        .fetch_one(&mut **tx)
        .await?
        .try_into()
    }

    /// Fails with `NotFound` unless row `id` of `table` belongs to `org`.
    pub(super) async fn ensure_in_org(
        tx: &mut sqlx::Transaction<'_, Db>,
        table: &'static str,
        id: i64,
        org: i64,
    ) -> crate::Result<()> {
        sqlx::query_as::<_, crate::sql::IdRow>(&format!(
            "SELECT id FROM {table} WHERE id = $1 AND organization_id = $2"
        ))
        .bind(id)
        .bind(org)
        .fetch_one(&mut **tx)
        .await?;
        Ok(())
    }
}

pub(super) async fn create_org(
    store: &Backend,
    slug: &str,
    name: &str,
    features: &[String],
    owner: i64,
    owner_role: &str,
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    let mut tx = store.write().await?;
    let now = crate::now();
    let row = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "INSERT INTO organizations (slug, name, options, features, open_membership, \
             require_2fa, require_sso, created_at) VALUES ($1, $2, '{{}}', $7, $3, $4, \
             $5, $6) RETURNING {}",
        crate::sql::ORG_COLS
    ))
    .bind(slug)
    .bind(name)
    .bind(true)
    .bind(false)
    .bind(false)
    .bind(now)
    .bind(serde_json::to_string(features).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?)
    .fetch_one(&mut **tx)
    .await?;
    let org = crate::Organization::try_from(row)?;
    tx.org(org.id);
    let member = sqlx::query_as::<_, crate::sql::IdRow>(
        "INSERT INTO members (organization_id, user_id, email, role, created_at) \
             VALUES ($1, $2, (SELECT email FROM users WHERE id = $2), $3, $4) RETURNING id",
    )
    .bind(org.id)
    .bind(owner)
    .bind(owner_role)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    store.audit(
            &mut tx,
            Some(org.id),
            actor,
            "org.create",
            &format!("org:{}", org.slug),
            serde_json::json!({"slug": slug, "name": name, "owner": owner, "ownerMember": member.id}),
        )
        .await?;
    tx.commit().await?;
    Ok(org)
}

pub(super) async fn org_by_slug(store: &Backend, slug: &str) -> crate::Result<crate::Organization> {
    let row = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "SELECT {} FROM organizations WHERE slug = $1",
        crate::sql::ORG_COLS
    ))
    .bind(slug)
    .fetch_one(&store.pool)
    .await?;
    row.try_into()
}

pub(super) async fn orgs_of_user(
    store: &Backend,
    user: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Organization>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let cols: Vec<String> = crate::sql::ORG_COLS
        .split(", ")
        .map(|c| format!("o.{c}"))
        .collect();
    let rows = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "SELECT {} FROM organizations o JOIN members m ON m.organization_id = o.id \
             WHERE m.user_id = $1 AND o.deletion_scheduled_at IS NULL \
             ORDER BY o.slug LIMIT $2 OFFSET $3",
        cols.join(", ")
    ))
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub(super) async fn update_org(
    store: &Backend,
    org: i64,
    update: &crate::OrgUpdate,
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    super::granular::edit_org(store, org, update, None, actor).await
}

pub(super) async fn set_features(
    store: &Backend,
    org: i64,
    enable: &[String],
    disable: &[String],
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    let mut tx = store.write().await?;
    let current = Backend::lock_org(&mut tx, org).await?;
    let mut features = current.features.clone();
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    for f in enable {
        if !features.contains(f) {
            features.push(f.clone());
            enabled.push(f.clone());
        }
    }
    for f in disable {
        if features.contains(f) && !enable.contains(f) {
            features.retain(|x| x != f);
            disabled.push(f.clone());
        }
    }
    features.sort();
    let row = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "UPDATE organizations SET features = $2 WHERE id = $1 RETURNING {}",
        crate::sql::ORG_COLS
    ))
    .bind(org)
    .bind(serde_json::to_string(&features).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?)
    .fetch_one(&mut **tx)
    .await?;
    let updated = crate::Organization::try_from(row)?;
    tx.org(org);
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "org.features",
            &format!("org:{}", updated.slug),
            serde_json::json!({"enabled": enabled, "disabled": disabled}),
        )
        .await?;
    tx.commit().await?;
    Ok(updated)
}

pub(super) async fn delete_org(
    store: &Backend,
    org: i64,
    actor: &crate::Actor,
) -> crate::Result<()> {
    let mut tx = store.write().await?;
    let gone = sqlx::query_as::<_, crate::sql::IdRow>(
        "DELETE FROM organizations WHERE id = $1 RETURNING id",
    )
    .bind(org)
    .fetch_one(&mut **tx)
    .await?;
    // Its installations go with it.
    tx.org(gone.id);
    tx.integrations();
    store
        .audit(
            &mut tx,
            Some(gone.id),
            actor,
            "org.remove",
            &format!("org:{org}"),
            serde_json::json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn schedule_org_deletion(
    store: &Backend,
    org: i64,
    due_at: i64,
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    let mut tx = store.write().await?;
    let current = Backend::lock_org(&mut tx, org).await?;
    if current.deletion_scheduled_at.is_some() {
        // Already pending: Sentry keeps the one schedule (and writes nothing).
        tx.commit().await?;
        return Ok(current);
    }
    let row = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "UPDATE organizations SET deletion_scheduled_at = $2 WHERE id = $1 RETURNING {}",
        crate::sql::ORG_COLS
    ))
    .bind(org)
    .bind(due_at)
    .fetch_one(&mut **tx)
    .await?;
    let updated = crate::Organization::try_from(row)?;
    // A pending organization leaves the index, and the installations on it.
    tx.org(org);
    tx.integrations();
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "org.remove",
            &format!("org:{org}"),
            serde_json::json!({
                "id": org,
                "slug": updated.slug,
                "name": updated.name,
                "status": "pending_deletion",
                "deletionScheduledAt": due_at,
            }),
        )
        .await?;
    tx.commit().await?;
    Ok(updated)
}

pub(super) async fn purge_orgs_due(store: &Backend, now: i64) -> crate::Result<Vec<i64>> {
    let due = sqlx::query_as::<_, crate::sql::IdRow>(
        "SELECT id FROM organizations WHERE deletion_scheduled_at IS NOT NULL \
             AND deletion_scheduled_at <= $1 ORDER BY id",
    )
    .bind(now)
    .fetch_all(&store.pool)
    .await?;
    let mut removed = Vec::new();
    for row in due {
        let mut tx = store.write().await?;
        // Only if still due: a restore may have won the race since the scan.
        let gone = sqlx::query_as::<_, crate::sql::IdRow>(
            "DELETE FROM organizations WHERE id = $1 \
                 AND deletion_scheduled_at IS NOT NULL AND deletion_scheduled_at <= $2 \
                 RETURNING id",
        )
        .bind(row.id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(gone) = gone {
            tx.org(gone.id);
            tx.integrations();
            // The organization's log outlives it (no foreign key): the entry is
            // kept under its id.
            store
                .audit(
                    &mut tx,
                    Some(gone.id),
                    &crate::Actor::system(),
                    "org.delete",
                    &format!("org:{}", gone.id),
                    serde_json::json!({"id": gone.id}),
                )
                .await?;
            removed.push(gone.id);
        }
        tx.commit().await?;
    }
    Ok(removed)
}
