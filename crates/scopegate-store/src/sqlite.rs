//! The SQLite backend: the embedded default. The file is created on first run and opened in
//! WAL mode with foreign keys on.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool};

use crate::sql::impl_store;
use crate::Result;

/// A [`Store`](crate::Store) on SQLite.
pub struct SqliteStore {
    pool: SqlitePool,
    fail_audit: AtomicBool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            fail_audit: AtomicBool::new(false),
        })
    }
}

impl SqliteStore {
    /// SQLite is single-replica: no change feed.
    #[allow(clippy::unused_async, reason = "the same signature as PostgreSQL's")]
    async fn feed(&self) -> Result<Option<Box<dyn crate::ChangeFeed>>> {
        Ok(None)
    }
}

impl SqliteStore {
    /// A SQLite transaction reads one snapshot already (from its first read, in WAL mode).
    #[allow(clippy::unused_async, reason = "the same signature as PostgreSQL's")]
    async fn read_snapshot(_tx: &mut sqlx::Transaction<'_, Sqlite>) -> Result<()> {
        Ok(())
    }

    /// SQLite generates the next rowid past the largest one: nothing to advance.
    #[allow(clippy::unused_async, reason = "the same signature as PostgreSQL's")]
    async fn after_import(_tx: &mut sqlx::Transaction<'_, Sqlite>) -> Result<()> {
        Ok(())
    }
}

impl_store!(SqliteStore, Sqlite);
