//! The PostgreSQL backend (`postgres://…`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres};

use crate::sql::Dialect;
use crate::{ChangeFeed, Result};

/// A [`Store`](crate::Store) on PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
    /// Set by [`Store::inject_audit_failure`](crate::Store::inject_audit_failure).
    #[cfg(feature = "test-util")]
    fail_audit: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the URL and its password: never print them.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations. An unreachable server is
    /// [`StoreError::Connect`](crate::StoreError::Connect) naming the address and the cause
    /// (connection refused, authentication failed, unknown database, …), found by one
    /// direct connection attempt before the pool is built.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        // A write waiting on a row lock gives up like a SQLite writer waiting on the write
        // lock (then `Unavailable`): no request stalls without bound.
        let lock_timeout = format!("{}ms", LOCK_TIMEOUT.as_millis());
        let options =
            PgConnectOptions::from_str(url)?.options([("lock_timeout", lock_timeout.as_str())]);
        let address = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let first = tokio::time::timeout(ACQUIRE_TIMEOUT, options.connect()).await;
        match first {
            Ok(Ok(conn)) => conn.close().await?,
            Ok(Err(e)) => {
                return Err(crate::StoreError::Connect {
                    address,
                    cause: connect_cause(&e),
                })
            }
            Err(_) => {
                return Err(crate::StoreError::Connect {
                    address,
                    cause: format!("no answer within {} s", ACQUIRE_TIMEOUT.as_secs()),
                })
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            #[cfg(feature = "test-util")]
            fail_audit: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// How long a request waits for a database connection before failing with
/// [`StoreError::Unavailable`](crate::StoreError::Unavailable) (503): during an outage,
/// requests fail after this bound rather than stall.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a statement waits for a lock (PostgreSQL's `lock_timeout`).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The cause of a failed connection, in words (the server's message for a database error:
/// authentication, unknown database).
fn connect_cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

impl Dialect for PostgresStore {
    type Db = Postgres;

    /// Begins a write transaction (PostgreSQL's row locks serialize what needs it).
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// PostgreSQL orders writers by its row locks: no turn to wait for.
    async fn writer_turn(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>> {
        Ok(None)
    }

    /// Nothing past the committed write of the readiness probe: PostgreSQL has no page cap.
    async fn probe_room(_tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<()> {
        Ok(())
    }

    /// `LISTEN scopegate_changes` on a connection of its own.
    async fn feed(&self) -> Result<Option<Box<dyn ChangeFeed>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGE_CHANNEL).await?;
        Ok(Some(Box::new(PgFeed(listener))))
    }

    /// One round trip under the revision's row lock: `scopegate_record_change` (migration
    /// `…95_record_change.sql`) bumps, logs and notifies.
    async fn record_change(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        text: &str,
        now: i64,
    ) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT scopegate_record_change($1, $2, $3)")
                .bind(text)
                .bind(now)
                .bind(crate::changes::notify_tail(text))
                .fetch_one(&mut **tx)
                .await?,
        )
    }

    /// `scopegate_ids` (migration `…70_catch_up_reads.sql`) declares few rows, so the
    /// planner reads by index.
    /// The lock an `UPDATE` of non-key columns takes: other writers of the row wait, rows
    /// referencing it can still be inserted.
    const LOCK_ROW: &'static str = " FOR NO KEY UPDATE";

    fn id_set(param: usize) -> String {
        format!("(SELECT scopegate_ids(${param}))")
    }

    /// REPEATABLE READ, READ ONLY, set by the `BEGIN` itself (one round trip): READ
    /// COMMITTED, the default, would give each statement its own snapshot.
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?)
    }

    /// After a world import with explicit ids: moves every id sequence past the largest
    /// stored id, so that the next generated id is free; then gathers the planner's
    /// statistics of the tables filled (in the transaction, committed with it). Without
    /// them, until autovacuum gets to it, the planner scans whole tables: on a
    /// 100,000-member import, the invite's duplicate check and the catch-up's read of an
    /// organization's users took ~35 ms each (sequential scans of `users` and `members`),
    /// ~1 ms once analyzed.
    async fn after_import(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<()> {
        for table in SEQUENCED {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("ANALYZE").execute(&mut **tx).await?;
        Ok(())
    }
}

/// The tables whose ids a world import writes explicitly: their identity sequences are
/// advanced after an import.
const SEQUENCED: [&str; 6] = [
    "users",
    "organizations",
    "members",
    "teams",
    "projects",
    "integrations",
];

/// The channel every committed change is announced on (payload
/// `{"revision":N,"orgs":[…],…}`, migrations `…_revisions.sql` and `…_record_change.sql`,
/// whose function names the channel too).
pub const CHANGE_CHANNEL: &str = "scopegate_changes";

struct PgFeed(PgListener);

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn next(&mut self) -> Result<Option<u64>> {
        let n = self.0.recv().await?;
        Ok(crate::changes::payload_revision(n.payload()))
    }
}

/// The store type the shared [`Store`](crate::Store) implementation is compiled for.
type Backend = PostgresStore;
/// The sqlx database the shared implementation is compiled for.
type Db = Postgres;

/// The shared [`Store`](crate::Store) implementation, compiled for this backend.
#[path = "sql/store/mod.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, with its own `Backend` and `Db`"
)]
mod store;
