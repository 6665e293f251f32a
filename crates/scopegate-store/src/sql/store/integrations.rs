//! Integrations and their installations on organizations.

use super::{Backend, Db};
use crate::sql::Dialect as _;

impl Backend {
    /// Integration `id` with its installations, read in `tx`.
    pub(super) async fn integration_in(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: i64,
    ) -> crate::Result<crate::Integration> {
        let row = sqlx::query_as::<_, crate::sql::IntegrationRow>(&format!(
            "SELECT {} FROM integrations WHERE id = $1",
            crate::sql::INTEGRATION_COLS
        ))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        let installs = sqlx::query_as::<_, crate::sql::InstallRow>(
            "SELECT integration_id, organization_id FROM integration_installations \
             WHERE integration_id = $1 ORDER BY organization_id",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        row.with_installs(installs.into_iter().map(|i| i.organization_id).collect())
    }

    /// Installs `integration` (named `slug`) on `org` inside `tx`, audited.
    pub(super) async fn install_in(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        integration: i64,
        slug: &str,
        org: i64,
        actor: &crate::Actor,
    ) -> crate::Result<()> {
        sqlx::query_as::<_, crate::sql::IdRow>("SELECT id FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_one(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO integration_installations (integration_id, organization_id, \
             created_at) VALUES ($1, $2, $3)",
        )
        .bind(integration)
        .bind(org)
        .bind(crate::now())
        .execute(&mut **tx)
        .await?;
        self.audit(
            tx,
            Some(org),
            actor,
            "integration.install",
            &format!("integration:{integration}"),
            serde_json::json!({"integration": integration, "slug": slug}),
        )
        .await
    }
}

pub(super) async fn create_integration(
    store: &Backend,
    new: &crate::NewIntegration,
    install_on: &[i64],
    actor: &crate::Actor,
) -> crate::Result<crate::Integration> {
    let scopes = serde_json::to_string(&new.scopes)
        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    let mut tx = store.write().await?;
    tx.integrations();
    let id = sqlx::query_as::<_, crate::sql::IdRow>(
        "INSERT INTO integrations (slug, name, scopes, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&new.slug)
    .bind(&new.name)
    .bind(scopes)
    .bind(crate::now())
    .fetch_one(&mut **tx)
    .await?
    .id;
    store
        .audit(
            &mut tx,
            None,
            actor,
            "integration.create",
            &format!("integration:{id}"),
            serde_json::json!({"slug": new.slug, "name": new.name, "scopes": new.scopes}),
        )
        .await?;
    let mut orgs = install_on.to_vec();
    orgs.sort_unstable();
    orgs.dedup();
    for org in orgs {
        store.install_in(&mut tx, id, &new.slug, org, actor).await?;
    }
    let created = Backend::integration_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(created)
}

pub(super) async fn integration(store: &Backend, id: i64) -> crate::Result<crate::Integration> {
    let mut tx = store.pool.begin().await?;
    let found = Backend::integration_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(found)
}

pub(super) async fn integrations(
    store: &Backend,
    page: crate::Page,
) -> crate::Result<Vec<crate::Integration>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let mut tx = store.begin_snapshot().await?;
    let rows = sqlx::query_as::<_, crate::sql::IntegrationRow>(&format!(
        "SELECT {} FROM integrations ORDER BY id LIMIT $1 OFFSET $2",
        crate::sql::INTEGRATION_COLS
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await?;
    let installs = sqlx::query_as::<_, crate::sql::InstallRow>(
        "SELECT integration_id, organization_id FROM integration_installations \
             WHERE integration_id IN (SELECT id FROM integrations ORDER BY id \
             LIMIT $1 OFFSET $2) ORDER BY integration_id, organization_id",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut by_integration: std::collections::HashMap<i64, Vec<i64>> =
        std::collections::HashMap::new();
    for i in installs {
        by_integration
            .entry(i.integration_id)
            .or_default()
            .push(i.organization_id);
    }
    rows.into_iter()
        .map(|r| {
            let on = by_integration.remove(&r.id).unwrap_or_default();
            r.with_installs(on)
        })
        .collect()
}

pub(super) async fn install_integration(
    store: &Backend,
    integration: i64,
    org: i64,
    actor: &crate::Actor,
) -> crate::Result<crate::Integration> {
    let mut tx = store.write().await?;
    tx.integrations();
    let current = Backend::integration_in(&mut tx, integration).await?;
    store
        .install_in(&mut tx, integration, &current.slug, org, actor)
        .await?;
    let updated = Backend::integration_in(&mut tx, integration).await?;
    tx.commit().await?;
    Ok(updated)
}

pub(super) async fn uninstall_integration(
    store: &Backend,
    integration: i64,
    org: i64,
    actor: &crate::Actor,
) -> crate::Result<crate::Integration> {
    let mut tx = store.write().await?;
    tx.integrations();
    let current = Backend::integration_in(&mut tx, integration).await?;
    sqlx::query_as::<_, crate::sql::InstallRow>(
        "DELETE FROM integration_installations WHERE integration_id = $1 \
             AND organization_id = $2 RETURNING integration_id, organization_id",
    )
    .bind(integration)
    .bind(org)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "integration.uninstall",
            &format!("integration:{integration}"),
            serde_json::json!({"integration": integration, "slug": current.slug}),
        )
        .await?;
    let updated = Backend::integration_in(&mut tx, integration).await?;
    tx.commit().await?;
    Ok(updated)
}
