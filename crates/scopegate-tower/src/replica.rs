//! [`Replica`]: an in-process, read-only copy of scopegate's stored world.
//!
//! It is the service's own index (`scopegate_server::index::LiveIndex`) kept current by the
//! service's own sync loop (`LiveIndex::spawn_sync_with`): a catch-up (only what changed) on
//! every notification of the store's change feed (PostgreSQL `NOTIFY scopegate_changes`)
//! and every second (a poll of the store's revision: the only sync on SQLite), and a full
//! resynchronization every [`ReplicaOptions::resync`]. Decisions read one immutable
//! snapshot and never wait on the database.
//!
//! # Staleness
//!
//! A replica is **stale** when no catch-up has succeeded for longer than
//! [`ReplicaOptions::max_staleness`] — the store (or the connection to it) is down, so
//! neither the feed nor the poll can bring changes in. A stale replica refuses every
//! decision ([`SourceError::Stale`]: the layer answers 503): a revoked grant must not keep
//! working because the replica went deaf. While the feed alone is down and the store
//! answers, the poll keeps the replica within about a second of the store, and feed errors
//! are logged by the sync loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use scopegate_core::{Policy, Principal, Request};
use scopegate_server::index::{Index, IndexError, LiveIndex, SyncObserver};
use scopegate_server::metrics::Trigger;
use scopegate_store::{Store, StoreError, TokenKind};

use crate::resolver::{bearer, PrincipalResolver, ResolveError};
use crate::source::{DecisionContext, SourceError, Verdict, WorldSource};

/// How a [`Replica`] syncs and when it counts as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaOptions {
    /// The periodic full resynchronization (the service's `RESYNC_INTERVAL`, 60 s, by
    /// default).
    pub resync: Duration,
    /// The longest time without a successful catch-up (one a second) before decisions are
    /// refused (15 s by default).
    pub max_staleness: Duration,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        ReplicaOptions {
            resync: scopegate_server::index::RESYNC_INTERVAL,
            max_staleness: Duration::from_secs(15),
        }
    }
}

/// When the last rebuild succeeded, in milliseconds since `start`.
#[derive(Debug)]
struct Health {
    start: Instant,
    last_rebuild_ms: AtomicU64,
    feed_errors: AtomicU64,
    rebuild_errors: AtomicU64,
}

impl Health {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn age(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_rebuild_ms.load(Ordering::Acquire)),
        )
    }
}

impl SyncObserver for Health {
    fn feed(&self, error: Option<&StoreError>) {
        if error.is_some() {
            self.feed_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn rebuilt(&self, _: Trigger, _: std::time::Duration, error: Option<&IndexError>) {
        match error {
            None => self.last_rebuild_ms.store(self.now_ms(), Ordering::Release),
            Some(_) => {
                self.rebuild_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An in-process read-only replica of a scopegate store, as a [`WorldSource`].
///
/// Dropping it stops its sync task.
#[derive(Debug)]
pub struct Replica {
    index: Arc<LiveIndex>,
    health: Arc<Health>,
    options: ReplicaOptions,
    sync: tokio::task::JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

/// Counters of a replica's sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// Time since the last successful rebuild.
    pub age: Duration,
    /// Whether decisions are refused for staleness.
    pub stale: bool,
    /// The current index's generation (one more per rebuild).
    pub generation: u64,
    /// Change feed errors so far.
    pub feed_errors: u64,
    /// Failed rebuilds so far.
    pub rebuild_errors: u64,
}

impl Replica {
    /// Builds the index from `store` (this must succeed) and starts keeping it current.
    /// Call it inside a tokio runtime. `policy` must be the layer's policy.
    pub async fn start(
        store: Arc<dyn Store>,
        policy: Arc<Policy>,
        options: ReplicaOptions,
    ) -> Result<Replica, IndexError> {
        let index = Arc::new(LiveIndex::new(Index::empty(&policy)?));
        index.refresh(&*store, &policy).await?;
        let health = Arc::new(Health {
            start: Instant::now(),
            last_rebuild_ms: AtomicU64::new(0),
            feed_errors: AtomicU64::new(0),
            rebuild_errors: AtomicU64::new(0),
        });
        let sync = LiveIndex::spawn_sync_with(
            index.clone(),
            store,
            policy,
            options.resync,
            health.clone(),
        );
        Ok(Replica {
            index,
            health,
            options,
            sync,
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Index> {
        self.index.current()
    }

    /// How the sync is doing.
    pub fn status(&self) -> ReplicaStatus {
        let age = self.health.age();
        ReplicaStatus {
            age,
            stale: age > self.options.max_staleness,
            generation: self.index.current().generation,
            feed_errors: self.health.feed_errors.load(Ordering::Relaxed),
            rebuild_errors: self.health.rebuild_errors.load(Ordering::Relaxed),
        }
    }

    /// A [`PrincipalResolver`] for bearer tokens stored in scopegate (user and org tokens),
    /// looked up in this replica's index (hashed; see `scopegate_server::index`).
    pub fn tokens(self: &Arc<Self>) -> ReplicaTokens {
        ReplicaTokens {
            replica: self.clone(),
        }
    }

    fn fresh(&self) -> Result<(), SourceError> {
        let age = self.health.age();
        if age > self.options.max_staleness {
            return Err(SourceError::Stale {
                age,
                bound: self.options.max_staleness,
            });
        }
        Ok(())
    }
}

impl WorldSource for Replica {
    fn decide_now(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Option<Result<Verdict, SourceError>> {
        Some(
            self.fresh()
                .map(|()| cx.decide(&self.index.current().world, request)),
        )
    }
}

/// Bearer tokens stored in scopegate, resolved against a [`Replica`]'s index
/// ([`Replica::tokens`]). An unknown secret is 401 (`Invalid token`), a service token 403:
/// as the service answers them.
#[derive(Debug, Clone)]
pub struct ReplicaTokens {
    replica: Arc<Replica>,
}

impl PrincipalResolver for ReplicaTokens {
    fn resolve_now(&self, parts: &Parts) -> Option<Result<Principal, ResolveError>> {
        Some(self.resolve_secret(parts))
    }
}

impl ReplicaTokens {
    fn resolve_secret(&self, parts: &Parts) -> Result<Principal, ResolveError> {
        let Some(secret) = bearer(&parts.headers)? else {
            return Ok(Principal::Anonymous);
        };
        // A stale replica may still know a revoked token: refuse rather than resolve.
        if let Err(e) = self.replica.fresh() {
            return Err(ResolveError::Unavailable(e.to_string()));
        }
        let index = self.replica.index.current();
        let Some(token) = index.token(secret) else {
            return Err(ResolveError::Invalid("Invalid token".into()));
        };
        if token.token.kind == TokenKind::Service {
            return Err(ResolveError::Forbidden(
                "A service token may only call the decision API (/v1/)".into(),
            ));
        }
        token
            .principal
            .clone()
            .ok_or_else(|| ResolveError::Invalid("Invalid token".into()))
    }
}
