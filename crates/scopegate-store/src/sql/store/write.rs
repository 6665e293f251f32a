//! The write transaction: every write opens one ([`Backend::write`]), names what it changes
//! ([`WriteTx::org`], [`WriteTx::user`], …) and commits through [`WriteTx::commit`], which
//! bumps the revision and records the change in the same transaction: no write can commit
//! without its change being logged.

use std::ops::{Deref, DerefMut};

use crate::sql::Dialect as _;

use super::{Backend, Db};

/// A write transaction and what it touched so far (see the module documentation).
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, Db>,
    touched: crate::Touched,
}

impl Deref for WriteTx {
    type Target = sqlx::Transaction<'static, Db>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Backend {
    /// Begins a write transaction (the backend's `begin_write`).
    pub(super) async fn write(&self) -> crate::Result<WriteTx> {
        Ok(WriteTx {
            tx: self.begin_write().await?,
            touched: crate::Touched::default(),
        })
    }
}

impl WriteTx {
    /// Records that organization `id` changed (its row or anything in it).
    pub(super) fn org(&mut self, id: i64) {
        self.touched.orgs.insert(id);
    }

    /// Records that user `id` changed.
    pub(super) fn user(&mut self, id: i64) {
        self.touched.users.insert(id);
    }

    /// Records that token `id` changed (created, edited or deleted).
    pub(super) fn token(&mut self, id: i64) {
        self.touched.tokens.insert(id);
    }

    /// Records that integrations or their installations changed.
    pub(super) fn integrations(&mut self) {
        self.touched.integrations = true;
    }

    /// Records that anything may have changed (an import).
    pub(super) fn everything(&mut self) {
        self.touched.everything = true;
    }

    /// Commits. When anything was touched, first (the transaction's last statements) bumps
    /// the revision, appends the change to `store_changes`, prunes the log now and then and
    /// announces the change (PostgreSQL: NOTIFY, delivered at commit); returns the revision
    /// committed, `None` when nothing was touched (no revision).
    pub(super) async fn commit(mut self) -> crate::Result<Option<u64>> {
        if self.touched.is_empty() {
            self.tx.commit().await?;
            return Ok(None);
        }
        let text = serde_json::to_string(&self.touched)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        let now = crate::now();
        // The row lock taken here is held to the commit: on PostgreSQL, the next writer's
        // bump waits for this commit, so revisions are in commit order.
        let revision: i64 = sqlx::query_scalar(
            "UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision",
        )
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO store_changes (revision, touched, committed_at) VALUES ($1, $2, $3)",
        )
        .bind(revision)
        .bind(text)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if revision % PRUNE_EVERY == 0 {
            sqlx::query("DELETE FROM store_changes WHERE revision <= $1 OR committed_at < $2")
                .bind(revision - crate::CHANGE_RETENTION_ROWS)
                .bind(now - crate::CHANGE_RETENTION_SECS)
                .execute(&mut *self.tx)
                .await?;
        }
        Backend::announce(&mut self.tx, revision, &self.touched).await?;
        self.tx.commit().await?;
        Ok(Some(crate::sql::uid(revision)?))
    }
}

/// The change log is pruned by the write whose revision is a multiple of this.
const PRUNE_EVERY: i64 = 1_000;
