//! The PostgreSQL backend (`postgres://…`).

use std::fmt;
use std::sync::atomic::AtomicBool;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use crate::sql::impl_store;
use crate::Result;

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

impl_store!(PostgresStore, Postgres);
