//! The storage conformance suite: the same checks on SQLite (a temp file, always) and on
//! PostgreSQL (a fresh database per run, when `SCOPEGATE_TEST_DATABASE_URL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod access_requests;
mod conformance;
mod durability;
mod granular;
mod granular_plans;
mod import;
mod integrations;
mod members;
mod open_mode;
mod org_deletion;
mod revisions;
mod tokens;

use std::sync::Arc;

use scopegate_store::Store;

/// A store on a fresh database, kept alive as long as the value.
pub struct TestDb {
    /// The store.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop once the test passed.
    pub postgres_url: Option<String>,
}

impl TestDb {
    /// Drops a PostgreSQL test database (kept when the test failed, to look at).
    pub async fn cleanup(self) {
        if let Some(url) = &self.postgres_url {
            scopegate_store::testing::drop_postgres_database(url)
                .await
                .unwrap();
        }
    }
}

/// A fresh SQLite store in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    TestDb {
        store: scopegate_store::connect(&url).await.unwrap(),
        _dir: Some(dir),
        postgres_url: None,
    }
}

/// A fresh PostgreSQL store in a newly created database, or `None` (with a message) when
/// `SCOPEGATE_TEST_DATABASE_URL` is unset.
pub async fn postgres() -> Option<TestDb> {
    let Ok(base) = std::env::var("SCOPEGATE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SCOPEGATE_TEST_DATABASE_URL unset");
        return None;
    };
    let url = scopegate_store::testing::fresh_postgres_database(&base)
        .await
        .unwrap();
    Some(TestDb {
        store: scopegate_store::connect(&url).await.unwrap(),
        _dir: None,
        postgres_url: Some(url),
    })
}

/// Runs `$check` on SQLite and, when configured, on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let db = $crate::sqlite().await;
                    super::$name(&*db.store).await;
                }
                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = $crate::postgres().await {
                        super::$name(&*db.store).await;
                        db.cleanup().await;
                    }
                }
            }
        )*
    };
}
