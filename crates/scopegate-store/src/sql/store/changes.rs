//! Revisions and the catch-up read ([`crate::changes`]): the revision of the last committed
//! write, and what changed after a revision, read from one snapshot.

use super::export::{without_pending, Orgs};
use super::{Backend, Db};
use crate::sql::Dialect as _;

/// The revision of the last committed write, read in `tx`.
async fn revision_in(tx: &mut sqlx::Transaction<'_, Db>) -> crate::Result<u64> {
    let revision: i64 = sqlx::query_scalar(REVISION).fetch_one(&mut **tx).await?;
    crate::sql::uid(revision)
}

/// The revision of the last committed write: one statement, one round trip (every
/// management request and every write's catch-up reads it).
pub(super) async fn revision(store: &Backend) -> crate::Result<u64> {
    let revision: i64 = sqlx::query_scalar(REVISION).fetch_one(&store.pool).await?;
    crate::sql::uid(revision)
}

const REVISION: &str = "SELECT revision FROM store_revision WHERE id = 1";

pub(super) async fn catch_up(store: &Backend, after: u64) -> crate::Result<crate::CatchUp> {
    let mut tx = store.begin_snapshot().await?;
    let revision = revision_in(&mut tx).await?;
    let touched = if after == 0 || after > revision {
        None
    } else {
        changes_after(&mut tx, after, revision).await?
    };
    let result = match touched {
        Some(touched) if !touched.everything => partial(&mut tx, revision, touched).await?,
        _ => {
            let world = without_pending(Backend::export_in(&mut tx, &Orgs::All).await?)?;
            let tokens = tokens_where(&mut tx, "", None).await?;
            crate::CatchUp::Full {
                revision,
                world,
                tokens,
            }
        }
    };
    tx.commit().await?;
    Ok(result)
}

/// The union of what the changes in `(after, revision]` touched, or `None` when the change
/// log no longer holds all of them (pruned).
async fn changes_after(
    tx: &mut sqlx::Transaction<'_, Db>,
    after: u64,
    revision: u64,
) -> crate::Result<Option<crate::Touched>> {
    let from = i64::try_from(after).map_err(|_| crate::StoreError::Corrupt(after.to_string()))?;
    let rows = sqlx::query_as::<_, crate::sql::ChangeRow>(
        "SELECT revision, touched FROM store_changes WHERE revision > $1 ORDER BY revision",
    )
    .bind(from)
    .fetch_all(&mut **tx)
    .await?;
    // Every revision has its row: the log reaches back to `after` exactly when all of
    // `after + 1 ..= revision` are there.
    let expected = usize::try_from(revision - after).unwrap_or(usize::MAX);
    if rows.len() != expected || rows.first().is_some_and(|r| r.revision != from + 1) {
        return Ok(None);
    }
    let mut touched = crate::Touched::default();
    for row in rows {
        let one: crate::Touched = serde_json::from_str(&row.touched).map_err(|e| {
            crate::StoreError::Corrupt(format!("change of revision {}: {e}", row.revision))
        })?;
        touched.merge(one);
    }
    Ok(Some(touched))
}

/// The parts of the world named by `touched`, as of `revision`, read in `tx`.
async fn partial(
    tx: &mut sqlx::Transaction<'_, Db>,
    revision: u64,
    mut touched: crate::Touched,
) -> crate::Result<crate::CatchUp> {
    let edits = if touched.parts.is_empty() {
        Vec::new()
    } else {
        let (edits, whole) = super::parts::edits(tx, &touched.parts).await?;
        touched.orgs.extend(whole);
        touched.settle();
        edits
    };
    let orgs = if touched.orgs.is_empty() {
        scopegate_core::WorldDoc::default()
    } else {
        let ids = Orgs::Ids(crate::sql::id_list(&touched.orgs));
        without_pending(Backend::export_in(tx, &ids).await?)?
    };
    let users = if touched.users.is_empty() {
        Vec::new()
    } else {
        let rows = sqlx::query_as::<_, crate::sql::WorldUserRow>(&format!(
            "SELECT id, has_2fa FROM users WHERE id IN {} ORDER BY id",
            Backend::id_set(1)
        ))
        .bind(crate::sql::id_list(&touched.users))
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(crate::sql::user_doc)
            .collect::<crate::Result<_>>()?
    };
    let tokens = if touched.tokens.is_empty() && touched.orgs.is_empty() {
        Vec::new()
    } else {
        let filter = format!(
            "WHERE t.id IN {} OR t.organization_id IN {}",
            Backend::id_set(1),
            Backend::id_set(2)
        );
        let binds = (
            crate::sql::id_list(&touched.tokens),
            crate::sql::id_list(&touched.orgs),
        );
        tokens_where(tx, &filter, Some(binds)).await?
    };
    let integrations = if touched.integrations {
        Some(integrations(tx).await?)
    } else {
        None
    };
    Ok(crate::CatchUp::Partial {
        revision,
        touched,
        orgs,
        users,
        tokens,
        integrations,
        edits,
    })
}

/// The stored tokens matching `filter` (with its two binds), by id.
async fn tokens_where(
    tx: &mut sqlx::Transaction<'_, Db>,
    filter: &str,
    binds: Option<(String, String)>,
) -> crate::Result<Vec<crate::Token>> {
    let sql = format!("{} {filter} ORDER BY t.id", crate::sql::TOKEN_SELECT);
    let mut q = sqlx::query_as::<_, crate::sql::TokenRow>(&sql);
    if let Some((a, b)) = binds {
        q = q.bind(a).bind(b);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Every integration, as the full export gives it (installations on organizations pending
/// deletion left out).
async fn integrations(
    tx: &mut sqlx::Transaction<'_, Db>,
) -> crate::Result<Vec<scopegate_core::wire::IntegrationDoc>> {
    let integrations = sqlx::query_as::<_, crate::sql::IntegrationRow>(&format!(
        "SELECT {} FROM integrations ORDER BY id",
        crate::sql::INTEGRATION_COLS
    ))
    .fetch_all(&mut **tx)
    .await?;
    let installs = sqlx::query_as::<_, crate::sql::InstallRow>(
        "SELECT i.integration_id, i.organization_id FROM integration_installations i \
         JOIN organizations o ON o.id = i.organization_id \
         WHERE o.deletion_scheduled_at IS NULL \
         ORDER BY i.integration_id, i.organization_id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let export = crate::sql::Export {
        orgs: Vec::new(),
        users: Vec::new(),
        members: Vec::new(),
        links: Vec::new(),
        teams: Vec::new(),
        projects: Vec::new(),
        project_teams: Vec::new(),
        integrations,
        installs,
        grants: Vec::new(),
    };
    Ok(export.into_doc()?.integrations)
}
