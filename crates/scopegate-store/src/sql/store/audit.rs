//! The audit log: every write that changes access appends its entries here, in its own transaction.

use super::{Backend, Db};

impl Backend {
    /// Writes an audit entry inside `tx`.
    pub(super) async fn audit(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: Option<i64>,
        actor: &crate::Actor,
        event: &str,
        target: &str,
        data: serde_json::Value,
    ) -> crate::Result<()> {
        #[cfg(feature = "test-util")]
        if self
            .fail_audit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(crate::StoreError::Injected);
        }
        sqlx::query(
            "INSERT INTO audit_log (organization_id, actor_user_id, actor, event, \
             target, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org)
        .bind(actor.user_id)
        .bind(&actor.label)
        .bind(event)
        .bind(target)
        .bind(data.to_string())
        .bind(crate::now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes `entries` inside `tx`, in order, in bulk ([`Bulk::audit`]).
    ///
    /// [`Bulk::audit`]: crate::sql::bulk::Bulk::audit
    pub(super) async fn audit_many(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: Option<i64>,
        actor: &crate::Actor,
        entries: &[crate::sql::Entry],
    ) -> crate::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        #[cfg(feature = "test-util")]
        if self
            .fail_audit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(crate::StoreError::Injected);
        }
        <Db as crate::sql::bulk::Bulk>::audit(&mut **tx, org, actor, entries, crate::now()).await
    }

    /// Writes audit entries of several organizations inside `tx`, batched.
    pub(super) async fn audit_each(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        actor: &crate::Actor,
        entries: &[(Option<i64>, crate::sql::Entry)],
    ) -> crate::Result<()> {
        #[cfg(feature = "test-util")]
        if self
            .fail_audit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(crate::StoreError::Injected);
        }
        let now = crate::now();
        Self::insert_rows(
            tx,
            "INSERT INTO audit_log (organization_id, actor_user_id, actor, event, \
             target, data, created_at) ",
            entries,
            |b, (org, (event, target, data))| {
                b.push_bind(*org)
                    .push_bind(actor.user_id)
                    .push_bind(actor.label.clone())
                    .push_bind(*event)
                    .push_bind(target.clone())
                    .push_bind(data.to_string())
                    .push_bind(now);
            },
        )
        .await
    }
}

pub(super) async fn audit_log(
    store: &Backend,
    org: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::AuditEntry>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::AuditRow>(&format!(
        "SELECT {} FROM audit_log WHERE organization_id = $1 ORDER BY id DESC \
             LIMIT $2 OFFSET $3",
        crate::sql::AUDIT_COLS
    ))
    .bind(org)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}
