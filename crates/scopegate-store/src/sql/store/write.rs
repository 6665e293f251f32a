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
    /// This process's turn to write, held to the end of the transaction (SQLite,
    /// [`Dialect::writer_turn`](crate::sql::Dialect::writer_turn)); declared after `tx`, so
    /// that a dropped transaction has queued its rollback before the turn passes on (the
    /// rollback runs as the connection goes back to the pool: until then, the next writer
    /// waits on SQLite's busy timeout, as before).
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
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
    /// Waits for this process's turn to write (the backend's `writer_turn`), then begins a
    /// write transaction (its `begin_write`).
    pub(super) async fn write(&self) -> crate::Result<WriteTx> {
        let turn = self.writer_turn().await?;
        Ok(WriteTx {
            tx: self.begin_write().await?,
            touched: crate::Touched::default(),
            _turn: turn,
        })
    }
}

impl WriteTx {
    /// Records that organization `id` changed (its row or anything in it): it is re-read
    /// whole.
    pub(super) fn org(&mut self, id: i64) {
        self.touched.orgs.insert(id);
    }

    /// Records that member `id` of organization `org` was created, edited or deleted (its
    /// row, team memberships or member grants), the rest of the organization unchanged.
    pub(super) fn member(&mut self, org: i64, id: i64) {
        self.parts(org).members.insert(id);
    }

    /// Records that team `id` of organization `org` was created or renamed (a deleted team
    /// changes its members' team lists: [`WriteTx::org`]).
    pub(super) fn team(&mut self, org: i64, id: i64) {
        self.parts(org).teams.insert(id);
    }

    /// Records that project `id` of organization `org` was created, edited or deleted (its
    /// row or teams).
    pub(super) fn project(&mut self, org: i64, id: i64) {
        self.parts(org).projects.insert(id);
    }

    /// Records that organization `org` changed in nothing the index reads (its name): the
    /// write has a revision, nothing is re-read.
    pub(super) fn org_unindexed(&mut self, org: i64) {
        self.parts(org);
    }

    /// The parts of `org` touched so far.
    fn parts(&mut self, org: i64) -> &mut crate::OrgParts {
        self.touched.parts.entry(org).or_default()
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

    /// Commits. When anything was touched, first (the transaction's last statements) records
    /// the change (the backend's `record_change`: bumps the revision, appends the change to
    /// `store_changes`, announces it; PostgreSQL: NOTIFY, delivered at commit) and prunes the
    /// log now and then; returns the revision committed, `None` when nothing was touched (no
    /// revision).
    pub(super) async fn commit(mut self) -> crate::Result<Option<u64>> {
        self.touched.settle();
        if self.touched.is_empty() {
            self.tx.commit().await?;
            return Ok(None);
        }
        let text = serde_json::to_string(&self.touched)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        let now = crate::now();
        let revision = Backend::record_change(&mut self.tx, &text, now).await?;
        if revision % PRUNE_EVERY == 0 {
            sqlx::query("DELETE FROM store_changes WHERE revision <= $1 OR committed_at < $2")
                .bind(revision - crate::CHANGE_RETENTION_ROWS)
                .bind(now - crate::CHANGE_RETENTION_SECS)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(Some(crate::sql::uid(revision)?))
    }
}

/// The change log is pruned by the write whose revision is a multiple of this.
const PRUNE_EVERY: i64 = 1_000;
