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

    /// Commits. When anything was touched, first (the transaction's last statements) bumps
    /// the revision, appends the change to `store_changes`, prunes the log now and then and
    /// announces the change (PostgreSQL: NOTIFY, delivered at commit); returns the revision
    /// committed, `None` when nothing was touched (no revision).
    pub(super) async fn commit(mut self) -> crate::Result<Option<u64>> {
        self.touched.settle();
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
