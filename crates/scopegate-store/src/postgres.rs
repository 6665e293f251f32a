//! The PostgreSQL backend (`postgres://…`).

use std::fmt;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::sql::impl_store;
use crate::{ChangeFeed, Result};

/// A [`Store`](crate::Store) on PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
    fail_audit: AtomicBool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the URL and its password: never print them.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            fail_audit: AtomicBool::new(false),
        })
    }
}

impl PostgresStore {
    /// `LISTEN scopegate_changes` on a connection of its own.
    async fn feed(&self) -> Result<Option<Box<dyn ChangeFeed>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGE_CHANNEL).await?;
        Ok(Some(Box::new(PgFeed(listener))))
    }
}

impl PostgresStore {
    /// Makes the reads of `tx` one snapshot (its first statement): READ COMMITTED, the
    /// default, would give each statement its own.
    async fn read_snapshot(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<()> {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// After a world import with explicit ids: moves every id sequence past the largest
    /// stored id, so that the next generated id is free.
    async fn after_import(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<()> {
        for table in SEQUENCED {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut **tx)
            .await?;
        }
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

/// The channel the change triggers notify (migration `…_change_feed.sql`).
pub const CHANGE_CHANNEL: &str = "scopegate_changes";

struct PgFeed(PgListener);

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl_store!(PostgresStore, Postgres);
