//! Keeping the index current: after this replica's writes ([`write_caught_up`]), on the
//! change feed and a short poll of the store's revision (the sync loop,
//! [`LiveIndex::spawn_sync_with`]), and with a periodic full resynchronization compared with
//! the incrementally kept index.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use scopegate_core::Policy;
use scopegate_store::{Store, StoreError};

use super::live::Resynced;
use super::{IndexError, LiveIndex, CATCH_UP_INTERVAL};
use crate::error::REVISION_HEADER;
use crate::metrics::Trigger;
use crate::AppState;

impl LiveIndex {
    /// Keeps the index current with changes committed by other processes: catches up on
    /// every notification of the store's change feed and every [`CATCH_UP_INTERVAL`], and
    /// resynchronizes fully every `state.resync_interval`. Runs until the runtime stops.
    pub fn spawn_sync(state: &AppState) -> tokio::task::JoinHandle<()> {
        LiveIndex::spawn_sync_with(
            state.index.clone(),
            state.store.clone(),
            state.policy.clone(),
            state.resync_interval,
            state.metrics.clone(),
        )
    }

    /// The sync loop of [`LiveIndex::spawn_sync`] over any index, store and policy, with the
    /// full resynchronization period `every`, reporting to `observer` (an embedded read-only
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
                    tracing::warn!(error = %e, "no change feed; polling the revision only");
                    observer.feed(Some(&e));
                    None
                }
            };
            if feed.is_some() {
                observer.feed(None);
            }
            let mut poll = tokio::time::interval(CATCH_UP_INTERVAL.min(every));
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut resync = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let notified = async {
                    match feed.as_mut() {
                        Some(f) => f.next().await,
                        None => std::future::pending().await,
                    }
                };
                let (trigger, announced) = tokio::select! {
                    r = notified => match r {
                        Err(e) => {
                            tracing::warn!(error = %e, "change feed interrupted; catching up");
                            observer.feed(Some(&e));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            (Trigger::ChangeFeed(Instant::now()), None)
                        }
                        Ok(revision) => {
                            observer.feed(None);
                            (Trigger::ChangeFeed(Instant::now()), revision)
                        }
                    },
                    _ = poll.tick() => (Trigger::Poll, None),
                    _ = resync.tick() => (Trigger::Resync, None),
                };
                let start = Instant::now();
                let result = match (trigger, announced) {
                    (Trigger::Resync, _) => match index.resync(&*store, &policy).await {
                        Ok(Resynced::Diverged) => {
                            observer.diverged();
                            Ok(())
                        }
                        Ok(_) => Ok(()),
                        Err(e) => Err(e),
                    },
                    (_, Some(revision)) => index
                        .catch_up_to(&*store, &policy, revision)
                        .await
                        .map(drop),
                    _ => index.catch_up(&*store, &policy).await.map(drop),
                };
                if let Err(e) = &result {
                    tracing::error!(error = %e, "cannot bring the decision index up to date");
                }
                observer.rebuilt(trigger, start.elapsed(), result.as_ref().err());
            }
        })
    }
}

/// What the sync loop ([`LiveIndex::spawn_sync_with`]) reports, for whoever needs to know
/// how fresh the index is. The service counts it in `/metrics`.
pub trait SyncObserver: Send + Sync + 'static {
    /// The change feed delivered a notification or was opened (`None`), or failed
    /// (`Some`: notifications may have been missed; the loop goes on with a catch-up).
    fn feed(&self, error: Option<&StoreError>);
    /// A catch-up or resynchronization for `trigger` that took `took` succeeded (`None`:
    /// the index is current as of its start) or failed (`Some`; the previous index stays).
    fn rebuilt(&self, trigger: Trigger, took: Duration, error: Option<&IndexError>);
    /// A full resynchronization found the incrementally kept index different from the one
    /// built from scratch at the same revision (a bug; logged at error by the caller).
    fn diverged(&self) {}
}

impl SyncObserver for () {
    fn feed(&self, _: Option<&StoreError>) {}
    fn rebuilt(&self, _: Trigger, _: Duration, _: Option<&IndexError>) {}
}

/// The service's sync loop counts and times its catch-ups in `/metrics`, and divergences.
impl SyncObserver for crate::metrics::Metrics {
    fn feed(&self, _: Option<&StoreError>) {}
    fn rebuilt(&self, trigger: Trigger, took: Duration, error: Option<&IndexError>) {
        self.record_rebuild(trigger, took, error.is_none());
    }
    fn diverged(&self) {
        tracing::error!(
            "the incrementally kept decision index differed from a full rebuild at the same \
             revision; the full one is now served"
        );
        self.record_divergence();
    }
}

/// The middleware that catches the index up after every mutating request, before the
/// response leaves: the next decision on this replica sees the write, and the response
/// carries `X-Scopegate-Revision` (the revision reached, at least the write's).
pub async fn write_caught_up(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mutating = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    let mut response = next.run(req).await;
    // A 4xx wrote nothing (denied before the handler, or input rejected before any write):
    // no catch-up, so that denied requests cannot make the service read at will. A 5xx may
    // follow a partial write: catch up.
    let status = response.status();
    if mutating && (status.is_success() || status.is_server_error()) {
        let start = Instant::now();
        let result = state.index.catch_up(&*state.store, &state.policy).await;
        state
            .metrics
            .record_rebuild(Trigger::Write, start.elapsed(), result.is_ok());
        match result {
            Ok(revision) => {
                response
                    .headers_mut()
                    .insert(REVISION_HEADER, HeaderValue::from(revision));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot rebuild the decision index after a write");
            }
        }
    }
    response
}

/// Rebuilds the whole decision index ([`LiveIndex::refresh`]), counting and timing the
/// rebuild by `trigger`.
pub async fn rebuild(state: &AppState, trigger: Trigger) -> Result<(), IndexError> {
    let start = Instant::now();
    let result = state.index.refresh(&*state.store, &state.policy).await;
    state
        .metrics
        .record_rebuild(trigger, start.elapsed(), result.is_ok());
    result
}
