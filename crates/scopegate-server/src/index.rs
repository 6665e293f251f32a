//! The in-memory index of the stored world that the decision API (`/v1/`) decides over.
//!
//! # What this module guarantees
//!
//! - **Decisions never wait on the database.** [`LiveIndex::current`] is a read lock held
//!   for one `Arc` clone; the index it returns is immutable.
//! - **Every index is at a revision of the store** ([`Index::revision`]): it holds every
//!   write committed up to it and none after (one snapshot read, `Store::catch_up`).
//! - **A write touches only what it changed.** The store records what each write touched
//!   (organizations, users, tokens, integrations); [`LiveIndex::catch_up_to`] reads only
//!   those parts, from one snapshot, and patches the current index into the next one.
//! - **Writes on this replica are reflected before their response** ([`write_caught_up`]):
//!   after a mutating request's handler returns (its transaction committed) with a 2xx or
//!   5xx, the index catches up to the store's revision and the response carries it
//!   (`X-Scopegate-Revision`); concurrent writes share one catch-up.
//! - **Other replicas follow** on PostgreSQL through the change feed (each committed write
//!   notifies `scopegate_changes` with its revision) and a short poll of the store's
//!   revision ([`CATCH_UP_INTERVAL`]); a periodic full resynchronization, built aside and
//!   compared ([`LiveIndex::resync`]), is the safety net: a difference from the
//!   incrementally kept index is a bug, counted and logged at error.
//! - **Swaps are serialized and never go back.** A catch-up runs under the rebuild lock
//!   and reads the store after taking it, so an index swapped later never reflects less
//!   than one swapped earlier; waiters for a revision are woken on each swap
//!   ([`LiveIndex::wait_for`]).
//! - **A secret is verified once per index per worker thread.** [`Index::token`] hashes a
//!   presented secret (SHA-256) and looks the hash up; a secret that matched is remembered
//!   in a small per-thread cache ([`SecretCache`]) tied to the index it matched in, so that
//!   the next request presenting it skips the hash. A cached secret is compared with the
//!   presented one in constant time; the cache holds only secrets that matched a stored
//!   token, is bounded, and is dropped as soon as a newer index is read on that thread:
//!   a revoked token stops working at the first request after the swap that drops it.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use scopegate_core::world::WorldErrors;
use scopegate_core::{Policy, Principal, ScopeSet, World, WorldDoc};
use scopegate_store::{StoreError, Token, TokenKind, Touched};
use subtle::ConstantTimeEq;

use crate::error::LISTED_PROBLEMS;

/// One immutable snapshot of the stored world.
#[derive(Debug)]
pub struct Index {
    /// The world, indexed for the engine.
    pub world: World,
    /// The same world indexed under the shadow policy (`serve --shadow-policy`,
    /// [`crate::shadow`]); `None` without one, or when the world does not build under it.
    pub shadow_world: Option<World>,
    /// The stored tokens, shared with the next index unless a change touched them.
    tokens: Arc<TokenTable>,
    /// Increases with every swap on this replica.
    pub generation: u64,
    /// The store's revision this index is at: it holds every write committed up to it and
    /// none after (0: nothing read yet, or a store never written).
    pub revision: u64,
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

/// The stored tokens of an index, by id, by the SHA-256 of the secret and by organization.
#[derive(Debug, Clone, Default)]
struct TokenTable {
    by_id: HashMap<i64, Arc<IndexedToken>>,
    by_hash: HashMap<String, i64>,
    by_org: HashMap<i64, BTreeSet<i64>>,
}

impl TokenTable {
    fn new(tokens: Vec<Token>, policy: &Policy) -> TokenTable {
        let mut table = TokenTable::default();
        for token in tokens {
            table.insert(token, policy);
        }
        table
    }

    fn insert(&mut self, token: Token, policy: &Policy) {
        let id = token.id;
        self.by_hash.insert(token.hash.clone(), id);
        if let Some(org) = token.organization_id {
            self.by_org.entry(org).or_default().insert(id);
        }
        self.by_id.insert(
            id,
            Arc::new(IndexedToken {
                principal: token_principal(&token, policy),
                token,
            }),
        );
    }

    fn remove(&mut self, id: i64) {
        let Some(gone) = self.by_id.remove(&id) else {
            return;
        };
        if self.by_hash.get(&gone.token.hash) == Some(&id) {
            self.by_hash.remove(&gone.token.hash);
        }
        if let Some(org) = gone.token.organization_id {
            if let Some(ids) = self.by_org.get_mut(&org) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_org.remove(&org);
                }
            }
        }
    }

    /// This table with the tokens `touched` names (and those of the organizations it names)
    /// replaced by `fresh`, the ones of them that still exist; `self` is shared when nothing
    /// changes.
    fn patched(
        self: &Arc<Self>,
        touched: &Touched,
        fresh: Vec<Token>,
        policy: &Policy,
    ) -> Arc<TokenTable> {
        let stale: BTreeSet<i64> = touched
            .tokens
            .iter()
            .copied()
            .filter(|id| self.by_id.contains_key(id))
            .chain(
                touched
                    .orgs
                    .iter()
                    .filter_map(|o| self.by_org.get(o))
                    .flatten()
                    .copied(),
            )
            .collect();
        if stale.is_empty() && fresh.is_empty() {
            return self.clone();
        }
        let mut next = TokenTable::clone(self);
        for id in stale {
            next.remove(id);
        }
        for token in fresh {
            next.remove(token.id);
            next.insert(token, policy);
        }
        Arc::new(next)
    }

    /// Whether both hold the same stored tokens.
    fn same_tokens(&self, other: &TokenTable) -> bool {
        self.by_id.len() == other.by_id.len()
            && self
                .by_id
                .iter()
                .all(|(id, t)| other.by_id.get(id).is_some_and(|o| o.token == t.token))
    }
}

/// The source of [`Index`] ids.
static NEXT_INDEX_ID: AtomicU64 = AtomicU64::new(1);

impl Index {
    /// An index of nothing.
    pub fn empty(policy: &Policy) -> Result<Index, IndexError> {
        Index::build(&WorldDoc::default(), Vec::new(), policy, 0)
    }

    /// Builds an index from an exported world and the stored tokens (at revision 0).
    pub fn build(
        doc: &WorldDoc,
        tokens: Vec<Token>,
        policy: &Policy,
        generation: u64,
    ) -> Result<Index, IndexError> {
        Index::build_at(doc, tokens, policy, generation, 0)
    }

    /// Builds an index from a world and the stored tokens read at `revision`.
    pub fn build_at(
        doc: &WorldDoc,
        tokens: Vec<Token>,
        policy: &Policy,
        generation: u64,
        revision: u64,
    ) -> Result<Index, IndexError> {
        let world = World::build(doc, policy).map_err(IndexError::World)?;
        Ok(Index::of(
            world,
            Arc::new(TokenTable::new(tokens, policy)),
            generation,
            revision,
        ))
    }

    fn of(world: World, tokens: Arc<TokenTable>, generation: u64, revision: u64) -> Index {
        Index {
            world,
            shadow_world: None,
            tokens,
            generation,
            revision,
            id: NEXT_INDEX_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether `other` holds the same world and tokens (the full resynchronization's check
    /// of the incrementally kept index; generations and revisions aside).
    pub fn same_as(&self, other: &Index) -> bool {
        self.world == other.world && self.tokens.same_tokens(&other.tokens)
    }

    /// The stored token whose secret is `secret`.
    pub fn token(&self, secret: &str) -> Option<&IndexedToken> {
        let id = SECRETS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(id) = cache.get(self.id, secret.as_bytes()) {
                return Some(id);
            }
            let id = self.id_by_hash(secret)?;
            cache.insert(self.id, secret.as_bytes(), id);
            Some(id)
        })?;
        self.tokens.by_id.get(&id).map(|t| &**t)
    }

    /// The id of the token whose secret is `secret`, by its SHA-256 (uncached).
    fn id_by_hash(&self, secret: &str) -> Option<i64> {
        let hash = scopegate_store::hash_secret(secret);
        let id = *self.tokens.by_hash.get(&hash)?;
        let stored = self.tokens.by_id.get(&id)?;
        scopegate_store::token::hashes_match(&stored.token.hash, &hash).then_some(id)
    }

    /// The number of stored tokens.
    pub fn token_count(&self) -> usize {
        self.tokens.by_id.len()
    }
}

/// The most secrets one thread remembers; past it the cache starts over.
const SECRET_CACHE_CAPACITY: usize = 256;

thread_local! {
    static SECRETS: RefCell<SecretCache> = RefCell::new(SecretCache::default());
}

/// Secrets that matched a stored token of one index, on one thread: the presented bytes
/// (compared in constant time) and the token's id. Keyed by a randomly keyed hash of
/// the secret, so that lookup time says nothing usable about the cached secrets.
#[derive(Default)]
pub struct SecretCache {
    /// The [`Index`] id the entries belong to.
    index: u64,
    hasher: RandomState,
    entries: HashMap<u64, (Box<[u8]>, i64)>,
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
    /// The token id remembered for `secret` in index `index`.
    fn get(&mut self, index: u64, secret: &[u8]) -> Option<i64> {
        if self.index != index {
            // A newer (or another) index: nothing remembered holds any more.
            self.index = index;
            self.entries.clear();
            return None;
        }
        let (cached, id) = self.entries.get(&self.hasher.hash_one(secret))?;
        // INVARIANT: secrets are compared in constant time (their length is public: every
        // secret of a kind has the same length).
        (cached.len() == secret.len() && bool::from(cached.ct_eq(secret))).then_some(*id)
    }

    /// Remembers that `secret` matched the token `id` of index `index`.
    fn insert(&mut self, index: u64, secret: &[u8], id: i64) {
        if self.index != index {
            self.index = index;
            self.entries.clear();
        }
        if self.entries.len() >= SECRET_CACHE_CAPACITY {
            self.entries.clear();
        }
        self.entries
            .insert(self.hasher.hash_one(secret), (secret.into(), id));
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
    /// The thread building an index aside panicked ([`LiveIndex::resync`]).
    #[error("the index build failed: {0}")]
    Build(String),
}

pub use crate::error::REVISION_HEADER;
pub use live::Resynced;
pub use live::{LiveIndex, CATCH_UP_INTERVAL, RESYNC_INTERVAL};
pub use sync::{rebuild, write_caught_up, SyncObserver};

mod live;
mod sync;

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
