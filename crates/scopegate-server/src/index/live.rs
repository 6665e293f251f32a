//! [`LiveIndex`]: the current [`Index`], caught up with the store's revisions and swapped
//! whole.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use scopegate_core::world::WorldPatch;
use scopegate_core::Policy;
use scopegate_store::{CatchUp, Store};

use super::{Index, IndexError};

/// How often the sync loop asks the store for its revision (one single-row read) and
/// catches up when behind: the bound on how stale another replica's writes can be when the
/// change feed is down or absent (SQLite: another process, e.g. `scopegate token create`).
pub const CATCH_UP_INTERVAL: Duration = Duration::from_secs(1);

/// How often, by default, the whole index is rebuilt aside from one snapshot and compared
/// with the incrementally kept one (`serve --resync-interval`).
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(60);

/// The current index, swapped whole on every catch-up.
#[derive(Debug)]
pub struct LiveIndex {
    current: RwLock<Arc<Index>>,
    /// The index swapped out last, kept until the next swap (see [`LiveIndex::swap`]).
    retired: Mutex<Option<Arc<Index>>>,
    /// Held while a next index is made from the current one; the generation of the current.
    rebuild: tokio::sync::Mutex<u64>,
    /// The revision of the current index, for waiters ([`LiveIndex::wait_for`]).
    reached: tokio::sync::watch::Sender<u64>,
    /// The shadow policy every index also indexes the world under ([`crate::shadow`]).
    shadow_policy: std::sync::OnceLock<Arc<Policy>>,
}

/// What a full resynchronization found ([`LiveIndex::resync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resynced {
    /// The full index equals the live one at the same revision.
    Same,
    /// The full index differs from the live one at the same revision (a bug of the
    /// incremental path): the full one was swapped in.
    Diverged,
    /// The full index was newer than the live one: swapped in.
    Newer,
    /// The live index had moved past the full one meanwhile: nothing compared.
    Older,
}

impl LiveIndex {
    /// A live index starting from `index`.
    pub fn new(index: Index) -> LiveIndex {
        let generation = index.generation;
        let (reached, _) = tokio::sync::watch::channel(index.revision);
        LiveIndex {
            current: RwLock::new(Arc::new(index)),
            retired: Mutex::new(None),
            rebuild: tokio::sync::Mutex::new(generation),
            reached,
            shadow_policy: std::sync::OnceLock::new(),
        }
    }

    /// Every index from now on also indexes the world under `policy` (the shadow policy,
    /// [`Index::shadow_world`]); set once, before the first build.
    pub fn shadow_under(&self, policy: Arc<Policy>) {
        let _ = self.shadow_policy.set(policy);
    }

    /// The index of a full snapshot, with its shadow world when there is a shadow policy.
    fn full(&self, snapshot: CatchUp, policy: &Policy) -> Result<Index, IndexError> {
        full_index(snapshot, policy, self.shadow_policy.get().map(|p| &**p))
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

    /// Swaps `index` in as generation `generation + 1` and wakes the waiters.
    ///
    /// Whoever drops the last reference to an index frees what it does not share with the
    /// next one (a patched organization's whole shard): not a decision's job. So the
    /// previous index is never dropped under the write lock (every reader would wait for
    /// the freeing). A `patched` index shares most of the previous one: that one is kept
    /// aside until the next swap, by which time no request still reads it, and the one kept
    /// before is freed here, on the swapping (management) thread. A full build shares
    /// nothing: the previous index is freed here at once (keeping it would double the
    /// memory until the next swap).
    fn swap(&self, generation: &mut u64, mut index: Index, patched: bool) -> Arc<Index> {
        *generation = generation.saturating_add(1);
        index.generation = *generation;
        let revision = index.revision;
        let index = Arc::new(index);
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            index.clone(),
        );
        self.reached.send_replace(revision);
        let mut retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        let freed = if patched {
            retired.replace(previous)
        } else {
            drop(previous);
            retired.take()
        };
        drop(retired);
        drop(freed);
        index
    }

    /// Rebuilds the whole index from one snapshot of `store` and swaps it in.
    pub async fn refresh(&self, store: &dyn Store, policy: &Policy) -> Result<(), IndexError> {
        let mut generation = self.rebuild.lock().await;
        let full = self.full(store.catch_up(0).await?, policy)?;
        self.swap(&mut generation, full, false);
        Ok(())
    }

    /// Catches up with every write committed so far: [`LiveIndex::catch_up_to`] the store's
    /// revision now. Returns the revision reached.
    pub async fn catch_up(&self, store: &dyn Store, policy: &Policy) -> Result<u64, IndexError> {
        let target = store.revision().await?;
        self.catch_up_to(store, policy, target).await
    }

    /// Brings the index to revision `target` or later: under the rebuild lock, reads what
    /// changed since the current index's revision (one snapshot) and patches only those
    /// parts; nothing when the index is there already (a concurrent catch-up got it there:
    /// many writes share one). Returns the revision reached.
    pub async fn catch_up_to(
        &self,
        store: &dyn Store,
        policy: &Policy,
        target: u64,
    ) -> Result<u64, IndexError> {
        let now = self.current();
        if now.generation > 0 && now.revision >= target {
            return Ok(now.revision);
        }
        let mut generation = self.rebuild.lock().await;
        let current = self.current();
        if current.generation > 0 && current.revision >= target {
            return Ok(current.revision);
        }
        let after = if current.generation > 0 {
            current.revision
        } else {
            0
        };
        let (next, patched) = match store.catch_up(after).await? {
            full @ CatchUp::Full { .. } => (self.full(full, policy)?, false),
            CatchUp::Partial {
                revision, touched, ..
            } if touched.is_empty() && revision == current.revision => return Ok(revision),
            CatchUp::Partial {
                revision,
                touched,
                orgs,
                users,
                tokens,
                integrations,
                edits,
            } => {
                let patch = WorldPatch {
                    removed_orgs: touched
                        .orgs
                        .iter()
                        .filter_map(|&id| u64::try_from(id).ok())
                        .filter(|id| !orgs.organizations.iter().any(|o| o.id == *id))
                        .collect(),
                    removed_users: touched
                        .users
                        .iter()
                        .filter_map(|&id| u64::try_from(id).ok())
                        .filter(|id| !users.iter().any(|u| u.id == *id))
                        .collect(),
                    orgs,
                    users,
                    integrations,
                    edits,
                };
                let world = current
                    .world
                    .patched(&patch, policy)
                    .map_err(IndexError::World)?;
                let tokens = current.tokens.patched(&touched, tokens, policy);
                let mut next = Index::of(world, tokens, 0, revision);
                next.shadow_world = match (self.shadow_policy.get(), &current.shadow_world) {
                    (Some(shadow), Some(before)) => match before.patched(&patch, shadow) {
                        Ok(world) => Some(world),
                        Err(e) => {
                            shadow_unbuilt(&e);
                            None
                        }
                    },
                    // Without a shadow world to patch, the next full resynchronization
                    // builds one again.
                    _ => None,
                };
                (next, true)
            }
        };
        Ok(self.swap(&mut generation, next, patched).revision)
    }

    /// Builds the whole index aside from one snapshot (without the rebuild lock: decisions
    /// and catch-ups go on; on a blocking thread: the runtime's other tasks, writes and
    /// their catch-ups, go on during the seconds of CPU a large world takes), then, under
    /// the lock: at the live index's revision, compares the two ([`Index::same_as`]) and
    /// swaps the full one in when they differ; newer than the live one, swaps it in; older,
    /// drops it.
    pub async fn resync(
        &self,
        store: &dyn Store,
        policy: &Arc<Policy>,
    ) -> Result<Resynced, IndexError> {
        let snapshot = store.catch_up(0).await?;
        let (policy, shadow) = (policy.clone(), self.shadow_policy.get().cloned());
        let full =
            tokio::task::spawn_blocking(move || full_index(snapshot, &policy, shadow.as_deref()))
                .await
                .map_err(|e| IndexError::Build(e.to_string()))??;
        let mut generation = self.rebuild.lock().await;
        let current = self.current();
        let found = if *generation == 0 || full.revision > current.revision {
            Resynced::Newer
        } else if full.revision < current.revision {
            return Ok(Resynced::Older);
        } else if current.same_as(&full) {
            return Ok(Resynced::Same);
        } else {
            Resynced::Diverged
        };
        self.swap(&mut generation, full, false);
        Ok(found)
    }

    /// The current index once it is at `revision` or later, waiting up to `within` for the
    /// sync loop or a write to get it there; past it, `Err` with the revision reached.
    pub async fn wait_for(&self, revision: u64, within: Duration) -> Result<Arc<Index>, u64> {
        let current = self.current();
        if current.revision >= revision {
            return Ok(current);
        }
        let mut reached = self.reached.subscribe();
        let wait = reached.wait_for(|r| *r >= revision);
        match tokio::time::timeout(within, wait).await {
            Ok(Ok(_)) => {}
            _ => return Err(self.current().revision),
        }
        let current = self.current();
        if current.revision >= revision {
            Ok(current)
        } else {
            Err(current.revision)
        }
    }
}

/// Logs that the stored world does not build under the shadow policy.
fn shadow_unbuilt(e: &scopegate_core::world::WorldErrors) {
    tracing::error!(
        problems = %e.summary(crate::error::LISTED_PROBLEMS),
        "the stored world does not build under the shadow policy: decisions over this index are not shadowed"
    );
}

/// The index of a full snapshot (generation set at the swap), with the world also indexed
/// under `shadow` when given.
fn full_index(
    snapshot: CatchUp,
    policy: &Policy,
    shadow: Option<&Policy>,
) -> Result<Index, IndexError> {
    match snapshot {
        CatchUp::Full {
            revision,
            world,
            tokens,
        } => {
            let mut index = Index::build_at(&world, tokens, policy, 0, revision)?;
            if let Some(shadow) = shadow {
                index.shadow_world = scopegate_core::World::build(&world, shadow)
                    .map_err(|e| shadow_unbuilt(&e))
                    .ok();
            }
            Ok(index)
        }
        CatchUp::Partial { revision, .. } => {
            Err(IndexError::Store(scopegate_store::StoreError::Corrupt(
                format!("a partial snapshot at revision {revision} where everything was asked for"),
            )))
        }
    }
}
