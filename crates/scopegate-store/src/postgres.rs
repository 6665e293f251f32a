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
