//! The service's metrics, served at `/metrics` (and on `serve --metrics-listen ADDR`) in the
//! OpenMetrics text format.
//!
//! # Why `prometheus-client`
//!
//! It is the Prometheus project's own Rust client: typed metric families with label sets
//! derived from structs (so a label cannot take a value the code did not name), histograms,
//! and an encoder of the OpenMetrics text format that Prometheus scrapes. It has no global
//! registry: each [`Metrics`] owns its registry, so tests that build many services in one
//! process count each one separately. The `metrics` crate with its Prometheus exporter was
//! the alternative; its global recorder would mix the counts of the services a test process
//! builds, and its exporter brings its own HTTP listener, where ours is axum's.
//!
//! # Bounded labels
//!
//! Every label takes values from a closed set: route *templates* (axum's [`MatchedPath`],
//! `unmatched` for the 404 fallback), the HTTP method (`other` past the standard ones), the
//! status code, the decision's reason and grant-path codes, the rebuild trigger. No label
//! carries a slug, an id or a token.
//!
//! # What is counted where
//!
//! - Requests: the [`count`] middleware (every route, the fallback included).
//! - Decisions: `/api/` in [`crate::auth::authorize`], `/v1/` in the decision handlers
//!   ([`Metrics::v1`]); `who-can` enumerations are not decisions and count only as requests.
//!   The store reads of `/api/` authorization when the index cannot answer
//!   ([`Metrics::auth_fallback`]), in `authorize`.
//! - Index rebuilds: [`crate::index::rebuild`], which every rebuild goes through.
//! - Store errors: the responses of store failures carry a [`crate::error::StoreFailure`] extension
//!   ([`crate::error::ApiError`]) that [`count`] reads; failed rebuilds count as rebuilds
//!   with `outcome="error"`.
//! - Decision log: lines written, rotations and write errors by its writer thread, full-queue
//!   drops by [`crate::decision_log::DecisionLog::record`] (shared [`LogCounters`]); the
//!   queue length read when scraped.
//! - Pool use, index size and age: read when scraped.

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use scopegate_core::Decision;

use crate::error::StoreFailure;
use crate::AppState;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which API a decision was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The management API (`/api/`), decided before its handler.
    Management,
    /// The decision API (`/v1/`).
    Decision,
}

impl Api {
    fn label(self) -> &'static str {
        match self {
            Api::Management => "api",
            Api::Decision => "v1",
        }
    }
}

/// Why the management API's authorization ([`crate::auth::authorize`]) read the store
/// instead of the decision index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFallback {
    /// The index does not know the presented secret (a token created by another process
    /// since the last sync, or no token at all): looked up in the store.
    Token,
    /// Such a token's user (or creator) is not in the index either: the organization and
    /// the user exported from the store.
    UnsyncedUser,
    /// The details routes of an organization the index does not know: one pending deletion
    /// (which the index leaves out), or none at all (the store tells). The organization is
    /// exported from the store.
    UnindexedOrganization,
}

impl AuthFallback {
    fn label(self) -> &'static str {
        match self {
            AuthFallback::Token => "token",
            AuthFallback::UnsyncedUser => "unsynced_user",
            AuthFallback::UnindexedOrganization => "unindexed_organization",
        }
    }
}

/// Why the index was rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// At start-up.
    Startup,
    /// After a write on this replica.
    Write,
    /// On a change-feed notification (another replica or process wrote), received at the
    /// instant given.
    ChangeFeed(Instant),
    /// The periodic full resynchronization.
    Resync,
    /// The sync loop's short poll of the store's revision (a catch-up when behind; counted
    /// only as the index's freshness, not as a rebuild).
    Poll,
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Write => "write",
            Trigger::ChangeFeed(_) => "change_feed",
            Trigger::Resync => "resync",
            Trigger::Poll => "poll",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    api: &'static str,
    reason: &'static str,
    grant: &'static str,
    granular: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RebuildLabels {
    trigger: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FallbackLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShadowLabels {
    endpoint: String,
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// Request latency buckets, in seconds: 0.25 ms to about 10 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_25, 2.5, 12)
}

/// The counters the log updates (clones of [`Metrics`]' own, [`Metrics::decision_log_counters`]).
#[derive(Debug, Clone, Default)]
pub struct LogCounters {
    /// Lines written.
    pub writes: Counter,
    /// Entries dropped because the queue was full (drop mode).
    pub drops_queue_full: Counter,
    /// Lines lost because the write failed.
    pub drops_write_error: Counter,
    /// Entries lost because the writer had stopped.
    pub drops_closed: Counter,
    /// File rotations.
    pub rotations: Counter,
}

/// Every metric of the service, in one registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    auth_fallbacks: Family<FallbackLabels, Counter>,
    batch_size: Histogram,
    rebuilds: Family<RebuildLabels, Counter>,
    rebuild_duration: Histogram,
    feed_lag: Histogram,
    index_revision: Gauge,
    index_divergence: Counter,
    index_members: Gauge,
    index_tokens: Gauge,
    index_age: Gauge<f64, AtomicU64>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    store_errors: Family<KindLabels, Counter>,
    log: LogCounters,
    log_drops: Family<ReasonLabels, Counter>,
    log_queue: Gauge,
    shadow_decisions: Counter,
    shadow_disagreements: Family<ShadowLabels, Counter>,
    shadow_skipped: Counter,
    /// When the index last rebuilt successfully (seconds since the epoch).
    last_rebuild: Mutex<Option<f64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `scopegate_` prefix.
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::with_prefix("scopegate"),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
            decisions: Family::default(),
            auth_fallbacks: Family::default(),
            batch_size: Histogram::new([
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
            ]),
            rebuilds: Family::default(),
            rebuild_duration: Histogram::new(latency_buckets()),
            feed_lag: Histogram::new(latency_buckets()),
            index_revision: Gauge::default(),
            index_divergence: Counter::default(),
            index_members: Gauge::default(),
            index_tokens: Gauge::default(),
            index_age: Gauge::default(),
            pool: Family::default(),
            pool_max: Gauge::default(),
            store_errors: Family::default(),
            log: LogCounters::default(),
            log_drops: Family::default(),
            shadow_decisions: Counter::default(),
            shadow_disagreements: Family::default(),
            shadow_skipped: Counter::default(),
            log_queue: Gauge::default(),
            last_rebuild: Mutex::new(None),
        };
        // The log's drop counters are the family's, one per reason, all exposed from start.
        let drop = |reason| m.log_drops.get_or_create(&ReasonLabels { reason }).clone();
        let log = LogCounters {
            drops_queue_full: drop("queue_full"),
            drops_write_error: drop("write_error"),
            drops_closed: drop("writer_stopped"),
            ..m.log.clone()
        };
        Metrics { log, ..m }.register()
    }

    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            self.requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route template and method, from the request's arrival to its response's head",
            Unit::Seconds,
            self.request_duration.clone(),
        );
        r.register(
            "decisions",
            "Engine decisions by API (api: /api/, v1: /v1/), reason and grant path (none when denied)",
            self.decisions.clone(),
        );
        r.register(
            "auth_store_fallbacks",
            "Management API authorizations that read the store instead of the decision index, by reason (token: a secret the index does not know; unsynced_user: its user not in the index either; unindexed_organization: the details routes of an organization the index does not know, such as one pending deletion)",
            self.auth_fallbacks.clone(),
        );
        r.register(
            "v1_batch_size",
            "Requests per /v1/check/batch call",
            self.batch_size.clone(),
        );
        r.register(
            "index_rebuilds",
            "Decision index rebuilds by trigger (startup, write, change_feed, resync) and outcome (ok, error)",
            self.rebuilds.clone(),
        );
        r.register_with_unit(
            "index_rebuild_duration",
            "Decision index rebuild time (reading the store and building)",
            Unit::Seconds,
            self.rebuild_duration.clone(),
        );
        r.register_with_unit(
            "change_feed_lag",
            "Time from a change-feed notification's arrival to the rebuilt index being served",
            Unit::Seconds,
            self.feed_lag.clone(),
        );
        r.register(
            "index_revision",
            "The store revision the decision index being served is at",
            self.index_revision.clone(),
        );
        r.register(
            "index_divergence",
            "Full resynchronizations that found the incrementally kept index different from \
             one built from scratch at the same revision (a bug)",
            self.index_divergence.clone(),
        );
        r.register(
            "index_members",
            "Members in the decision index",
            self.index_members.clone(),
        );
        r.register(
            "index_tokens",
            "Tokens in the decision index",
            self.index_tokens.clone(),
        );
        r.register_with_unit(
            "index_age",
            "Time since the decision index last rebuilt successfully",
            Unit::Seconds,
            self.index_age.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            self.pool.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The database pool's maximum size",
            self.pool_max.clone(),
        );
        r.register(
            "store_errors",
            "Requests failed by the store, by kind (unavailable: 503; database: 500)",
            self.store_errors.clone(),
        );
        r.register(
            "decision_log_writes",
            "Decision log lines written",
            self.log.writes.clone(),
        );
        r.register(
            "decision_log_drops",
            "Decision log entries lost, by reason (queue_full: the queue was full in drop mode; write_error: the write failed; writer_stopped)",
            self.log_drops.clone(),
        );
        r.register(
            "decision_log_rotations",
            "Decision log file rotations",
            self.log.rotations.clone(),
        );
        r.register(
            "decision_log_queue_length",
            "Decision log entries waiting to be written",
            self.log_queue.clone(),
        );
        r.register(
            "shadow_decisions",
            "Decisions also made under the shadow candidate (serve --shadow-policy / --shadow-manifest)",
            self.shadow_decisions.clone(),
        );
        r.register(
            "shadow_disagreements",
            "Decisions the shadow candidate answers otherwise, by endpoint and direction (lost: allowed, the candidate denies; gained: denied, the candidate allows)",
            self.shadow_disagreements.clone(),
        );
        r.register(
            "shadow_skipped",
            "Decisions not shadowed: the stored world does not build under the shadow policy",
            self.shadow_skipped.clone(),
        );
        self
    }

    /// Counts one decision made for `api`.
    pub fn decision(&self, api: Api, decision: &Decision) {
        let labels = DecisionLabels {
            api: api.label(),
            reason: decision.reason.as_str(),
            grant: decision.grant.map_or("none", |g| g.path.as_str()),
            granular: decision
                .grant
                .and_then(|g| g.granular)
                .map_or("none", |g| g.as_str()),
        };
        self.decisions.get_or_create(&labels).inc();
    }

    /// Counts one store read of the management API's authorization, by why the index
    /// could not answer.
    pub fn auth_fallback(&self, why: AuthFallback) {
        self.auth_fallbacks
            .get_or_create(&FallbackLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// Counts one `/v1/` decision and returns it.
    pub fn v1(&self, decision: Decision) -> Decision {
        self.decision(Api::Decision, &decision);
        decision
    }

    /// Counts one shadowed decision: `disagreement` is its endpoint label and direction
    /// when the candidate answers otherwise; `skipped` when it was not shadowed.
    pub fn shadow(&self, disagreement: Option<(&str, &'static str)>, skipped: bool) {
        if skipped {
            self.shadow_skipped.inc();
            return;
        }
        self.shadow_decisions.inc();
        if let Some((endpoint, direction)) = disagreement {
            self.shadow_disagreements
                .get_or_create(&ShadowLabels {
                    endpoint: endpoint.to_string(),
                    direction,
                })
                .inc();
        }
    }

    /// Records the size of one `/v1/check/batch` call.
    pub fn batch(&self, size: usize) {
        self.batch_size.observe(size as f64);
    }

    /// The counters a decision log updates ([`crate::decision_log::DecisionLog::start`]).
    pub fn decision_log_counters(&self) -> LogCounters {
        self.log.clone()
    }

    fn request(&self, route: String, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        self.request_duration
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method,
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// The exposition, after reading the gauges that are read when scraped.
    pub fn render(&self, state: &AppState) -> String {
        let pool = state.store.pool_stats();
        let in_use = pool.size.saturating_sub(pool.idle);
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(pool.idle));
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(in_use));
        self.pool_max.set(i64::from(pool.max));
        let index = state.index.current();
        self.index_revision
            .set(i64::try_from(index.revision).unwrap_or(i64::MAX));
        self.index_members
            .set(i64::try_from(index.world.member_count()).unwrap_or(i64::MAX));
        self.index_tokens
            .set(i64::try_from(index.token_count()).unwrap_or(i64::MAX));
        let queued = state.decision_log.as_ref().map_or(0, |l| l.queued());
        self.log_queue
            .set(i64::try_from(queued).unwrap_or(i64::MAX));
        let last = *self
            .last_rebuild
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = last {
            self.index_age.set((epoch_seconds() - last).max(0.0));
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The standard methods by name; anything else is `other` (bounded label).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware counting and timing every request by route template, method and status,
/// and the store failures its response carries.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    if let Some(StoreFailure(kind)) = response.extensions().get::<StoreFailure>() {
        state
            .metrics
            .store_errors
            .get_or_create(&KindLabels { kind })
            .inc();
    }
    state
        .metrics
        .request(route, &method, status, start.elapsed().as_secs_f64());
    response
}

impl Metrics {
    /// Counts and times one rebuild of the decision index by `trigger` (that took `took`),
    /// and the change-feed lag of a notified one that succeeded.
    pub fn record_rebuild(&self, trigger: Trigger, took: std::time::Duration, ok: bool) {
        if trigger == Trigger::Poll {
            if ok {
                *self
                    .last_rebuild
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(epoch_seconds());
            }
            return;
        }
        self.rebuild_duration.observe(took.as_secs_f64());
        self.rebuilds
            .get_or_create(&RebuildLabels {
                trigger: trigger.label(),
                outcome: if ok { "ok" } else { "error" },
            })
            .inc();
        if ok {
            if let Trigger::ChangeFeed(at) = trigger {
                self.feed_lag.observe(at.elapsed().as_secs_f64());
            }
            *self
                .last_rebuild
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(epoch_seconds());
        }
    }
}

impl Metrics {
    /// Counts one divergence of the incrementally kept index from a full rebuild.
    pub fn record_divergence(&self) {
        self.index_divergence.inc();
    }
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(&state),
    )
        .into_response()
}

/// The router of the separate metrics listener (`serve --metrics-listen`): `/metrics` only.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(handler))
        .with_state(state)
}
