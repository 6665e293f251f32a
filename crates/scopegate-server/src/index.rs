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
//! - **A secret is verified once per index per worker thread.** [`Index::token`] hashes a
//!   presented secret (SHA-256) and looks the hash up; a secret that matched is remembered
//!   in a small per-thread cache ([`SecretCache`]) tied to the index it matched in, so that
//!   the next request presenting it skips the hash. A cached secret is compared with the
//!   presented one in constant time; the cache holds only secrets that matched a stored
//!   token, is bounded, and is dropped as soon as a newer index is read on that thread:
//!   a revoked token stops working at the first request after the rebuild that drops it.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use scopegate_core::world::WorldErrors;
use scopegate_core::{Policy, Principal, ScopeSet, World, WorldDoc};
use scopegate_store::{Store, StoreError, Token, TokenKind};
use subtle::ConstantTimeEq;

use crate::error::LISTED_PROBLEMS;
use crate::metrics::Trigger;
use crate::AppState;

/// How often the whole index is rebuilt from the store regardless of notifications.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(5);

/// One immutable snapshot of the stored world.
#[derive(Debug)]
pub struct Index {
    /// The world, indexed for the engine.
    pub world: World,
    /// The stored tokens, each with the principal it stands for.
    tokens: Vec<IndexedToken>,
    /// Positions in `tokens` by the SHA-256 of the secret.
    by_hash: HashMap<String, u32>,
    /// Increases with every rebuild on this replica.
    pub generation: u64,
    /// Unique among every index of this process (the key of the per-thread secret cache).
    id: u64,
}

/// A stored token and what it stands for, resolved once when the index is built.
#[derive(Debug)]
pub struct IndexedToken {
    /// The stored token.
    pub token: Token,
    /// The principal of a user or org token ([`token_principal`]); `None` for
    /// a service token.
    pub principal: Option<Principal>,
}

/// The source of [`Index`] ids.
static NEXT_INDEX_ID: AtomicU64 = AtomicU64::new(1);

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
        let world = World::build(doc, policy).map_err(IndexError::World)?;
        let tokens: Vec<IndexedToken> = tokens
            .into_iter()
            .map(|token| IndexedToken {
                principal: token_principal(&token, policy),
                token,
            })
            .collect();
        let by_hash = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((t.token.hash.clone(), u32::try_from(i).ok()?)))
            .collect();
        Ok(Index {
            world,
            tokens,
            by_hash,
            generation,
            id: NEXT_INDEX_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The stored token whose secret is `secret`.
    pub fn token(&self, secret: &str) -> Option<&IndexedToken> {
        let slot = SECRETS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(slot) = cache.get(self.id, secret.as_bytes()) {
                return Some(slot);
            }
            let slot = self.slot_by_hash(secret)?;
            cache.insert(self.id, secret.as_bytes(), slot);
            Some(slot)
        })?;
        self.tokens.get(usize::try_from(slot).ok()?)
    }

    /// The position of the token whose secret is `secret`, by its SHA-256 (uncached).
    fn slot_by_hash(&self, secret: &str) -> Option<u32> {
        let hash = scopegate_store::hash_secret(secret);
        let slot = *self.by_hash.get(&hash)?;
        let stored = self.tokens.get(usize::try_from(slot).ok()?)?;
        scopegate_store::token::hashes_match(&stored.token.hash, &hash).then_some(slot)
    }

    /// The number of stored tokens.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }
}

/// The most secrets one thread remembers; past it the cache starts over.
const SECRET_CACHE_CAPACITY: usize = 256;

thread_local! {
    static SECRETS: RefCell<SecretCache> = RefCell::new(SecretCache::default());
}

/// Secrets that matched a stored token of one index, on one thread: the presented bytes
/// (compared in constant time) and the token's position. Keyed by a randomly keyed hash of
/// the secret, so that lookup time says nothing usable about the cached secrets.
#[derive(Default)]
pub struct SecretCache {
    /// The [`Index`] id the entries belong to.
    index: u64,
    hasher: RandomState,
    entries: HashMap<u64, (Box<[u8]>, u32)>,
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // INVARIANT: the cached secrets are never printed.
        f.debug_struct("SecretCache")
            .field("index", &self.index)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    /// The token position remembered for `secret` in index `index`.
    fn get(&mut self, index: u64, secret: &[u8]) -> Option<u32> {
        if self.index != index {
            // A newer (or another) index: nothing remembered holds any more.
            self.index = index;
            self.entries.clear();
            return None;
        }
        let (cached, slot) = self.entries.get(&self.hasher.hash_one(secret))?;
        // INVARIANT: secrets are compared in constant time (their length is public: every
        // secret of a kind has the same length).
        (cached.len() == secret.len() && bool::from(cached.ct_eq(secret))).then_some(*slot)
    }

    /// Remembers that `secret` matched the token at `slot` of index `index`.
    fn insert(&mut self, index: u64, secret: &[u8], slot: u32) {
        if self.index != index {
            self.index = index;
            self.entries.clear();
        }
        if self.entries.len() >= SECRET_CACHE_CAPACITY {
            self.entries.clear();
        }
        self.entries
            .insert(self.hasher.hash_one(secret), (secret.into(), slot));
    }
}

/// Building the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading the store failed.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// The stored world does not build (a stored role the policy does not know, …): every
    /// problem, each naming its row (`members[3].role`) and why; the message lists the first
    /// [`LISTED_PROBLEMS`].
    #[error("the stored world is invalid: {}", .0.summary(LISTED_PROBLEMS))]
    World(WorldErrors),
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

    /// Whether an index was built from the store (the one [`LiveIndex::new`] starts from
    /// is not): `/readyz` is false until then.
    pub fn is_built(&self) -> bool {
        self.current().generation > 0
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
        LiveIndex::spawn_sync_with(
            state.index.clone(),
            state.store.clone(),
            state.policy.clone(),
            RESYNC_INTERVAL,
            state.metrics.clone(),
        )
    }

    /// The sync loop of [`LiveIndex::spawn_sync`] over any index, store and policy, with the
    /// resynchronization period `every`, reporting to `observer` (an embedded read-only
    /// replica, `scopegate-tower`'s `Replica`, uses it to tell a stale index). Runs until the
    /// runtime stops.
    pub fn spawn_sync_with(
        index: Arc<LiveIndex>,
        store: Arc<dyn Store>,
        policy: Arc<Policy>,
        every: Duration,
        observer: Arc<dyn SyncObserver>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut feed = match store.change_feed().await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e, "no change feed; periodic resync only");
                    observer.feed(Some(&e));
                    None
                }
            };
            if feed.is_some() {
                observer.feed(None);
            }
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let notified = async {
                    match feed.as_mut() {
                        Some(f) => f.next().await.map(|_| ()),
                        None => std::future::pending().await,
                    }
                };
                let trigger = tokio::select! {
                    r = notified => {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "change feed interrupted; resyncing");
                            observer.feed(Some(&e));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        } else {
                            observer.feed(None);
                        }
                        Trigger::ChangeFeed(std::time::Instant::now())
                    }
                    _ = tick.tick() => Trigger::Resync,
                };
                let start = std::time::Instant::now();
                let result = index.refresh(&*store, &policy).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, "cannot rebuild the decision index");
                }
                observer.rebuilt(trigger, start.elapsed(), result.as_ref().err());
            }
        })
    }
}

/// What the sync loop ([`LiveIndex::spawn_sync_with`]) reports, for whoever needs to know
/// how fresh the index is. The service ignores it (`()`).
pub trait SyncObserver: Send + Sync + 'static {
    /// The change feed delivered a notification or was opened (`None`), or failed
    /// (`Some`: notifications may have been missed; the loop goes on with a resync).
    fn feed(&self, error: Option<&StoreError>);
    /// A rebuild for `trigger` that took `took` succeeded (`None`) or failed (`Some`; the
    /// previous index stays).
    fn rebuilt(&self, trigger: Trigger, took: Duration, error: Option<&IndexError>);
}

impl SyncObserver for () {
    fn feed(&self, _: Option<&StoreError>) {}
    fn rebuilt(&self, _: Trigger, _: Duration, _: Option<&IndexError>) {}
}

/// The service's sync loop counts and times its rebuilds in `/metrics`.
impl SyncObserver for crate::metrics::Metrics {
    fn feed(&self, _: Option<&StoreError>) {}
    fn rebuilt(&self, trigger: Trigger, took: Duration, error: Option<&IndexError>) {
        self.record_rebuild(trigger, took, error.is_none());
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
        if let Err(e) = rebuild(&state, Trigger::Write).await {
            tracing::error!(error = %e, "cannot rebuild the decision index after a write");
        }
    }
    response
}

/// Rebuilds the decision index ([`LiveIndex::refresh`]), counting and timing
/// the rebuild by `trigger`, and the change-feed lag of a notified one.
pub async fn rebuild(state: &AppState, trigger: Trigger) -> Result<(), IndexError> {
    let start = Instant::now();
    let result = state.index.refresh(&*state.store, &state.policy).await;
    state
        .metrics
        .record_rebuild(trigger, start.elapsed(), result.is_ok());
    result
}

/// The principal a stored user or org token stands for; `None` for a service token (it is
/// no principal of any organization) and for a malformed row.
pub fn token_principal(token: &Token, policy: &Policy) -> Option<Principal> {
    // Scopes the current policy does not know are ignored: they grant nothing.
    let scopes = token
        .scopes
        .iter()
        .filter_map(|s| policy.scopes.id(s))
        .fold(ScopeSet::EMPTY, |mut acc, id| {
            acc.insert(id);
            acc
        });
    match token.kind {
        TokenKind::User => Some(Principal::UserToken {
            user: u64::try_from(token.user_id?).ok()?,
            scopes,
            organization: token.organization_slug.clone(),
        }),
        TokenKind::Org => Some(Principal::OrgToken {
            organization: token.organization_slug.clone()?,
            scopes,
            // The org token's creator bounds it (`docs/decision.md` §7).
            creator: match token.user_id {
                Some(id) => Some(u64::try_from(id).ok()?),
                None => None,
            },
        }),
        TokenKind::Service => None,
    }
}
