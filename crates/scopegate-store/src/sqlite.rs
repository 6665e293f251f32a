//! The SQLite backend: the embedded default. The file is created on first run and opened in
//! WAL mode with foreign keys on.
//!
//! # Durability and concurrency
//!
//! - **Writers take the write lock first.** Every write transaction starts with
//!   `BEGIN IMMEDIATE` ([`SqliteStore::begin_write`]): a transaction that read under a
//!   shared lock and then wrote could not be upgraded while another writer held the lock,
//!   and SQLite answers it "database is locked" at once, without waiting.
//! - **This process's writers take turns, in arrival order.** SQLite admits one writer at
//!   a time, and one waiting on the lock sleeps in its busy handler (1 ms, 2 ms, 5 ms, …
//!   up to 100 ms a nap) and tries again, so that under contention a writer that arrived
//!   first may wait behind many that arrived later (hundreds of milliseconds with 32
//!   concurrent writers). A write first waits for its turn on a FIFO semaphore of one
//!   permit ([`SqliteStore::writer_turn`], bounded by [`BUSY_TIMEOUT`]), held until its
//!   transaction ends; the busy timeout still orders it with other processes (the CLI) and
//!   the readiness probe.
//! - **A connection is reused only in a clean state.** After an error inside a transaction
//!   (a full disk, an I/O error), SQLite may or may not have rolled the transaction back,
//!   and sqlx's count of open transactions can disagree with SQLite's: a connection left
//!   inside a transaction would turn the next `BEGIN` into a `SAVEPOINT` whose "commit"
//!   commits nothing, while holding the write lock. Every connection going back to the pool
//!   is checked (`after_release`): inside a transaction by either count, it is closed, and
//!   the pool opens a fresh one.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, Executor, Sqlite, SqlitePool};

use crate::sql::Dialect;
use crate::{OpenMode, Result};

/// How long a writer waits for SQLite's write lock before giving up (then `Unavailable`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest `max_page_count` SQLite accepts on every supported version: no cap.
const UNCAPPED: u32 = 1_073_741_823;

/// Pages of headroom under the page cap below which [`Store::ready`](crate::Store::ready)
/// reports the store unable to write.
const MIN_HEADROOM_PAGES: i64 = 16;

/// A [`Store`](crate::Store) on SQLite.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Set by [`Store::inject_audit_failure`](crate::Store::inject_audit_failure).
    #[cfg(feature = "test-util")]
    fail_audit: std::sync::atomic::AtomicBool,
    /// The page cap set by [`SqliteStore::set_page_limit`]; 0 when never set.
    page_limit: Arc<AtomicU32>,
    /// One permit: the turn to write ([`SqliteStore::writer_turn`]).
    writers: Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        SqliteStore::connect_with(url, OpenMode::CreateIfMissing).await
    }

    /// Opens the database at `url` and applies the migrations; with
    /// [`OpenMode::MustExist`], a file that does not exist is
    /// [`StoreError::Connect`](crate::StoreError::Connect) and nothing is created (an
    /// in-memory database is always new).
    pub async fn connect_with(url: &str, mode: OpenMode) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let create = mode == OpenMode::CreateIfMissing || in_memory;
        if !create && !options.get_filename().exists() {
            return Err(crate::StoreError::Connect {
                address: options.get_filename().display().to_string(),
                cause: "no such database file".to_string(),
            });
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let page_limit = Arc::new(AtomicU32::new(0));
        let limit = page_limit.clone();
        let on_connect = page_limit.clone();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // The cap holds on a connection opened after it was set, too (`before_acquire`
            // runs only for connections taken from the idle set).
            .after_connect(move |conn, _| {
                let pages = on_connect.load(Ordering::SeqCst);
                Box::pin(async move {
                    if pages != 0 {
                        let pragma = format!("PRAGMA max_page_count = {pages}");
                        Executor::execute(&mut *conn, pragma.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .before_acquire(move |conn, _| {
                let pages = limit.load(Ordering::SeqCst);
                Box::pin(async move {
                    if pages != 0 {
                        let pragma = format!("PRAGMA max_page_count = {pages}");
                        Executor::execute(&mut *conn, pragma.as_str()).await?;
                    }
                    Ok(true)
                })
            })
            .after_release(|conn, _| Box::pin(async move { Ok(reusable(conn).await) }))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            #[cfg(feature = "test-util")]
            fail_audit: std::sync::atomic::AtomicBool::new(false),
            page_limit,
            writers: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    /// Closes every connection (after waiting for the ones in use): what a restart does.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count` on every connection,
    /// applied at its next use), or lifts the cap (`None`). Past the cap, writes fail with
    /// SQLite's genuine "database or disk is full", on the code path of a full disk: the
    /// fault tests' full disk, which needs no root and no tmpfs. A cap below the current
    /// size holds the database at its current size.
    pub fn set_page_limit(&self, pages: Option<u32>) {
        self.page_limit.store(
            pages.unwrap_or(UNCAPPED).clamp(1, UNCAPPED),
            Ordering::SeqCst,
        );
    }
}

/// Whether a connection going back to the pool may be reused: outside any transaction by
/// both SQLite's and sqlx's count. Runs after the rollback a dropped transaction queued
/// (the connection's commands run in order).
async fn reusable(conn: &mut SqliteConnection) -> bool {
    // `BEGIN` fails inside a transaction. Raw SQL: sqlx's own count is left alone.
    let clean = Executor::execute(&mut *conn, "BEGIN").await.is_ok()
        && Executor::execute(&mut *conn, "ROLLBACK").await.is_ok();
    if !clean || conn.is_in_transaction() {
        tracing::warn!("closing a SQLite connection left inside a transaction");
        return false;
    }
    true
}

impl Dialect for SqliteStore {
    type Db = Sqlite;

    /// Begins a write transaction holding SQLite's write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// This process's writers one at a time, first come first served, waiting at most
    /// [`BUSY_TIMEOUT`] (then `Unavailable`, as SQLite's own busy timeout).
    async fn writer_turn(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>> {
        match tokio::time::timeout(BUSY_TIMEOUT, self.writers.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // The semaphore is never closed; a closed one would be a bug: no turn, no write.
            Ok(Err(_)) | Err(_) => Err(crate::StoreError::Unavailable(sqlx::Error::Protocol(
                format!(
                    "waited {} s for this process's turn to write",
                    BUSY_TIMEOUT.as_secs()
                ),
            ))),
        }
    }

    /// The probe of [`Store::ready`](crate::Store::ready) past the committed write: the
    /// database must have room under its page cap for a few more pages.
    async fn probe_room(tx: &mut sqlx::Transaction<'_, Sqlite>) -> Result<()> {
        let max: i64 = sqlx::query_scalar("PRAGMA max_page_count")
            .fetch_one(&mut **tx)
            .await?;
        let used: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut **tx)
            .await?;
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&mut **tx)
            .await?;
        if max - used + free < MIN_HEADROOM_PAGES {
            return Err(crate::StoreError::Unavailable(sqlx::Error::Protocol(
                format!("database is full ({used} of at most {max} pages used, {free} free)"),
            )));
        }
        Ok(())
    }

    /// SQLite is single-replica: no change feed.
    async fn feed(&self) -> Result<Option<Box<dyn crate::ChangeFeed>>> {
        Ok(None)
    }

    /// Two statements (in-process, no lock held longer for it); SQLite is single-replica:
    /// no one to tell.
    async fn record_change(
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        text: &str,
        now: i64,
    ) -> Result<i64> {
        let revision: i64 = sqlx::query_scalar(
            "UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision",
        )
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO store_changes (revision, touched, committed_at) VALUES ($1, $2, $3)",
        )
        .bind(revision)
        .bind(text)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(revision)
    }

    /// `BEGIN IMMEDIATE` holds the write lock already.
    const LOCK_ROW: &'static str = "";

    fn id_set(param: usize) -> String {
        format!("(SELECT value FROM json_each(${param}))")
    }

    /// A SQLite transaction reads one snapshot already (from its first read, in WAL mode).
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.pool.begin().await?)
    }

    /// SQLite generates the next rowid past the largest one: nothing to advance.
    async fn after_import(_tx: &mut sqlx::Transaction<'_, Sqlite>) -> Result<()> {
        Ok(())
    }
}

/// The store type the shared [`Store`](crate::Store) implementation is compiled for.
type Backend = SqliteStore;
/// The sqlx database the shared implementation is compiled for.
type Db = Sqlite;

/// The shared [`Store`](crate::Store) implementation, compiled for this backend.
#[path = "sql/store/mod.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, with its own `Backend` and `Db`"
)]
mod store;
