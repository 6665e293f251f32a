//! The in-memory index of the stored world that the decision API (`/v1/`) decides over.
//!
//! # What this module guarantees
//!
//! - **Decisions never wait on the database.** [`LiveIndex::current`] is a read lock held
//!   for one `Arc` clone; the index it returns is immutable.
//! - **Writes on this replica are reflected before the next decision.** The [`refresh`]
//!   middleware wraps every mutating API request: after the handler returns (its
//!   transaction committed) with a 2xx or 5xx, and before the response is sent, the index
//!   is rebuilt from the store and swapped.
//! - **Writes on other replicas are reflected within one second** on PostgreSQL: triggers
//!   notify `scopegate_changes` at commit and [`LiveIndex::spawn_sync`] rebuilds on each
//!   notification (debounced, at most one rebuild in flight), with a periodic full
//!   resynchronization as a safety net (and as the only sync on SQLite, where writes from
//!   other processes, e.g. `scopegate token create`, are rare).
//! - **Rebuilds are serialized.** A rebuild reads the store after taking the rebuild lock,
//!   so an index swapped later never reflects less than one swapped earlier.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use scopegate_core::{Policy, World, WorldDoc};
use scopegate_store::{Store, StoreError, Token};

use crate::AppState;

/// How often the whole index is rebuilt from the store regardless of notifications.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(5);

/// One immutable snapshot of the stored world.
#[derive(Debug)]
pub struct Index {
    /// The world, indexed for the engine.
    pub world: World,
    /// The stored tokens by the SHA-256 of their secret.
    pub tokens: HashMap<String, Token>,
    /// Increases with every rebuild on this replica.
    pub generation: u64,
}

impl Index {
    /// An index of nothing.
    pub fn empty(policy: &Policy) -> Result<Index, IndexError> {
        Index::build(&WorldDoc::default(), Vec::new(), policy, 0)
    }

    /// Builds an index from an exported world and the stored tokens.
    pub fn build(
        doc: &WorldDoc,
        tokens: Vec<Token>,
        policy: &Policy,
        generation: u64,
    ) -> Result<Index, IndexError> {
        let world = World::build(doc, policy)
            .map_err(|e| IndexError::World(format!("{} problem(s)", e.0.len())))?;
        let tokens = tokens.into_iter().map(|t| (t.hash.clone(), t)).collect();
        Ok(Index {
            world,
            tokens,
            generation,
        })
    }

    /// The stored token whose secret is `secret`.
    pub fn token(&self, secret: &str) -> Option<&Token> {
        let hash = scopegate_store::hash_secret(secret);
        self.tokens
            .get(&hash)
            .filter(|t| scopegate_store::token::hashes_match(&t.hash, &hash))
    }
}

/// Building the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading the store failed.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// The stored world does not build (a stored role the policy does not know, …).
    #[error("the stored world is invalid: {0}")]
    World(String),
}

/// The current index, swapped whole on every rebuild.
#[derive(Debug)]
pub struct LiveIndex {
    current: RwLock<Arc<Index>>,
    rebuild: tokio::sync::Mutex<u64>,
}

impl LiveIndex {
    /// A live index starting from `index`.
    pub fn new(index: Index) -> LiveIndex {
        let generation = index.generation;
        LiveIndex {
            current: RwLock::new(Arc::new(index)),
            rebuild: tokio::sync::Mutex::new(generation),
        }
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Index> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the index from `store` and swaps it in.
    pub async fn refresh(&self, store: &dyn Store, policy: &Policy) -> Result<(), IndexError> {
        let mut generation = self.rebuild.lock().await;
        let doc = store.full_world().await?;
        let tokens = store.all_tokens().await?;
        let next = generation.saturating_add(1);
        let index = Index::build(&doc, tokens, policy, next)?;
        *generation = next;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(index);
        Ok(())
    }

    /// Keeps the index current with changes committed by other processes: rebuilds on every
    /// notification of the store's change feed and every [`RESYNC_INTERVAL`]. Runs until the
    /// runtime stops.
    pub fn spawn_sync(state: &AppState) -> tokio::task::JoinHandle<()> {
        let state = state.clone();
        tokio::spawn(async move {
            let mut feed = match state.store.change_feed().await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e, "no change feed; periodic resync only");
                    None
                }
            };
            let mut tick = tokio::time::interval(RESYNC_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let notified = async {
                    match feed.as_mut() {
                        Some(f) => f.next().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    r = notified => {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "change feed interrupted; resyncing");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    _ = tick.tick() => {}
                }
                if let Err(e) = state.index.refresh(&*state.store, &state.policy).await {
                    tracing::error!(error = %e, "cannot rebuild the decision index");
                }
            }
        })
    }
}

/// The middleware that rebuilds the index after every mutating request, before the
/// response leaves: the next decision on this replica sees the write.
pub async fn refresh(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mutating = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    let response = next.run(req).await;
    // A 4xx wrote nothing (denied before the handler, or input rejected before any write):
    // no rebuild, so that denied requests cannot make the service rebuild at will. A 5xx
    // may follow a partial write: rebuild.
    let status = response.status();
    if mutating && (status.is_success() || status.is_server_error()) {
        if let Err(e) = state.index.refresh(&*state.store, &state.policy).await {
            tracing::error!(error = %e, "cannot rebuild the decision index after a write");
        }
    }
    response
}
