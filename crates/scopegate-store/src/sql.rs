//! The SQL shared by both backends.
//!
//! Both dialects accept the same statements (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT … DO UPDATE`, `LIMIT … OFFSET …`), so the [`Store`](crate::Store)
//! implementation is written once, one file per resource under `sql/store/`, and compiled
//! once per backend with its concrete pool type (see `sql/store/mod.rs`). The exceptions
//! are behind two small traits: [`Dialect`] (write transactions, read snapshots, the
//! readiness probe's room, the end of an import, the change feed) and the bulk writes of a
//! granular edit, one implementation per dialect in [`bulk`].
//!
//! - [`rows`]: the rows read and their conversions;
//! - [`world`]: the world document of exported rows.

pub(crate) mod bulk;
pub(crate) mod rows;
pub(crate) mod world;

pub(crate) use rows::*;
pub(crate) use world::*;

use std::future::Future;

use crate::{ChangeFeed, Result, StoreError};

/// What differs between the backends outside the bulk writes of a granular edit
/// ([`bulk::Bulk`]): implemented by each backend's store type, called by the shared
/// implementation in `sql/store/`.
pub(crate) trait Dialect {
    /// The backend's sqlx database.
    type Db: sqlx::Database;

    /// Begins a write transaction. Every write begins here (SQLite: `BEGIN IMMEDIATE`,
    /// holding the write lock from its first statement).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>>> + Send;

    /// Waits for this process's turn to write, before [`Dialect::begin_write`]; the turn is
    /// held until the transaction ends (`None`: the backend orders writers itself).
    fn writer_turn(
        &self,
    ) -> impl Future<Output = Result<Option<tokio::sync::OwnedSemaphorePermit>>> + Send;

    /// Begins a read-only transaction whose reads are one snapshot, so that an export never
    /// mixes two states.
    fn begin_snapshot(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>>> + Send;

    /// Runs at the end of a world import with explicit ids, before its commit.
    fn after_import(
        tx: &mut sqlx::Transaction<'_, Self::Db>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The probe of [`Store::ready`](crate::Store::ready) past the committed write.
    fn probe_room(
        tx: &mut sqlx::Transaction<'_, Self::Db>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The change feed of [`Store::change_feed`](crate::Store::change_feed), if the backend
    /// has one.
    fn feed(&self) -> impl Future<Output = Result<Option<Box<dyn ChangeFeed>>>> + Send;

    /// Records a write's change, as the last statements of its transaction: bumps the
    /// revision (the row lock, held to the commit, keeps revisions in commit order), appends
    /// what it touched (`text`, its JSON) to `store_changes` at `now`, and announces it to other
    /// replicas (PostgreSQL: `pg_notify`, delivered at commit, all in one round trip;
    /// SQLite: no one to tell). Returns the revision.
    fn record_change(
        tx: &mut sqlx::Transaction<'_, Self::Db>,
        text: &str,
        now: i64,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// A subquery giving the ids of the JSON array of integers bound to `$param`, for
    /// `… IN <subquery>`.
    fn id_set(param: usize) -> String;

    /// The clause that makes a `SELECT` of a row in a write transaction lock it to the
    /// transaction's end (PostgreSQL: `FOR NO KEY UPDATE`; SQLite: nothing, the write
    /// transaction holds the database's write lock from its `BEGIN IMMEDIATE`).
    const LOCK_ROW: &'static str;
}

/// Ids as the JSON array text that [`Dialect::id_set`] reads.
pub(crate) fn id_list<'a>(ids: impl IntoIterator<Item = &'a i64>) -> String {
    let ids: Vec<i64> = ids.into_iter().copied().collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_string())
}

pub(crate) const USER_COLS: &str = "id, email, is_superuser, has_2fa";
pub(crate) const ORG_COLS: &str =
    "id, slug, name, options, features, open_membership, require_2fa, require_sso, created_at, \
     deletion_scheduled_at";
pub(crate) const MEMBER_COLS: &str = "id, organization_id, user_id, email, role, \
     member_limit_restricted, sso_linked, created_at, inviter_user_id, invite_expires_at";
pub(crate) const TEAM_COLS: &str = "id, organization_id, slug, name";
pub(crate) const PROJECT_COLS: &str = "id, organization_id, slug, name, active";
pub(crate) const TOKEN_SELECT: &str = "SELECT t.id, t.kind, t.user_id, t.organization_id, \
     o.slug AS organization_slug, t.name, t.token_prefix, t.token_last_characters, \
     t.token_hash, t.scopes, t.created_at \
     FROM api_tokens t LEFT JOIN organizations o ON o.id = t.organization_id";
pub(crate) const AUDIT_COLS: &str =
    "id, organization_id, actor_user_id, actor, event, target, data, created_at";

/// An audit entry to write: event, target, data.
pub(crate) type Entry = (&'static str, String, serde_json::Value);

/// What a granular grant can name besides its organization: deleting one deletes its grants.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GrantHolder {
    /// A member (`granular_grants.member_id`).
    Member,
    /// A team (`granular_grants.team_id`).
    Team,
}

impl GrantHolder {
    /// The table the holder lives in.
    pub(crate) fn table(self) -> &'static str {
        match self {
            GrantHolder::Member => "members",
            GrantHolder::Team => "teams",
        }
    }

    /// The column of `granular_grants` that names the holder.
    pub(crate) fn column(self) -> &'static str {
        match self {
            GrantHolder::Member => "member_id",
            GrantHolder::Team => "team_id",
        }
    }

    /// The holder as the granular planner names it (audit targets and entries).
    pub(crate) fn planned(self) -> scopegate_core::granular::Holder {
        match self {
            GrantHolder::Member => scopegate_core::granular::Holder::Member,
            GrantHolder::Team => scopegate_core::granular::Holder::Team,
        }
    }
}

/// A planned audit entry as the store writes it.
pub(crate) fn entry(e: scopegate_core::granular::AuditEntry) -> Entry {
    (e.event, e.target, e.data)
}

/// The size of the row the readiness probe writes (and deletes) in a committed
/// transaction: a few pages, so that a store that cannot grow fails the probe.
pub(crate) const PROBE_BYTES: usize = 16 * 1024;

/// How long the readiness probe may wait (for the write lock, a connection, the commit).
pub(crate) const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Rows per batched statement (well under both backends' bind-parameter limits).
pub(crate) const BATCH: usize = 500;

/// Splits requested ids into engine ids and the ones that cannot be ids (negative).
pub(crate) fn split_ids(ids: &[i64]) -> (Vec<u64>, Vec<i64>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for id in ids {
        match u64::try_from(*id) {
            Ok(u) => ok.push(u),
            Err(_) => bad.push(*id),
        }
    }
    (ok, bad)
}

/// The error for ids not in the organization, sorted numerically.
pub(crate) fn not_in_org(what: crate::Unknown, mut ids: Vec<i64>) -> StoreError {
    ids.sort_unstable();
    ids.dedup();
    StoreError::NotInOrganization {
        what,
        ids: ids.iter().map(ToString::to_string).collect(),
    }
}

/// A stored id as the engine's unsigned id.
pub(crate) fn uid(id: i64) -> Result<u64> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative id {id}")))
}

/// The offset and limit of a page, as SQL integers.
pub(crate) fn page_binds(page: crate::Page) -> (i64, i64) {
    (i64::from(page.limit), i64::from(page.offset))
}
