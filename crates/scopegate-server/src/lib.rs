//! scopegate-server: the management API on axum, authorized by scopegate's own engine.
//!
//! - [`router`] builds the whole service (tests drive it with `oneshot`); [`serve`] runs it
//!   on a listener until a shutdown future resolves ([`shutdown_signal`]: SIGINT/SIGTERM).
//! - [`AppState`] holds the store, the policy and the service's manifest
//!   ([`SERVICE_MANIFEST`], `manifest.toml`, compiled against the policy).
//! - Every route under `/api/` passes [`auth::authorize`] first: the engine decides it over
//!   the stored world. `/healthz`, `/readyz` and `/metrics` are outside the API.
//! - Errors: one [`error::ApiError`], Sentry's `{"detail": "…"}` body.
//! - Lists: Sentry's cursor pagination ([`paging`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::Router;
use scopegate_core::{Manifest, Policy, Source};
use scopegate_store::Store;
use tower_http::trace::TraceLayer;

pub mod auth;
pub mod boundary;
pub mod deadline;
pub mod deletion;
pub mod demo;
pub mod error;
pub mod index;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod routes;

/// The service's own endpoint manifest (`crates/scopegate-server/manifest.toml`).
pub const SERVICE_MANIFEST: &str = include_str!("../manifest.toml");

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long a request may take (the default of [`Shared::request_timeout`]; writes are
/// never cut short, see [`deadline`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The one shared state of the service: one `Arc`, so that the per-request clones that
/// axum makes of it (each middleware, each `State` extractor) are one atomic increment.
/// Its fields are [`Shared`]'s, read through `Deref`.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The policy.
    pub policy: Arc<Policy>,
    /// The service's manifest, compiled against the policy.
    pub manifest: Arc<Manifest>,
    /// Endpoint name by route path.
    pub endpoints: Arc<HashMap<String, String>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// The OpenAPI document, rendered.
    pub openapi: Arc<String>,
    /// The in-memory index of the stored world the decision API reads.
    pub index: Arc<index::LiveIndex>,
    /// The application's manifest the decision API decides with (`serve --manifest`; the
    /// service's own manifest by default).
    pub decision_manifest: Arc<Manifest>,
    /// The policy version written to the decision log: a hash of the policy and the
    /// decision manifest.
    pub policy_version: Arc<str>,
    /// The decision log, when on (`serve --decision-log`).
    pub decision_log: Option<Arc<routes::v1::DecisionLog>>,
    /// How long a read may take ([`deadline`]); [`REQUEST_TIMEOUT`] by default.
    pub request_timeout: Duration,
    /// How long an organization stays pending deletion before the background task removes
    /// it ([`deletion::DEFAULT_GRACE`] unless set).
    pub org_deletion_grace: std::time::Duration,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("policy", &self.policy.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.store)
            .field("policy", &self.policy.name)
            .finish_non_exhaustive()
    }
}

/// Building the state failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The service manifest does not compile against the policy.
    #[error("the service manifest does not compile against policy `{policy}`:\n{diagnostics}")]
    Manifest {
        /// The policy's name.
        policy: String,
        /// The rendered problems.
        diagnostics: String,
    },
    /// The OpenAPI document could not be rendered.
    #[error("cannot render the OpenAPI document: {0}")]
    OpenApi(String),
    /// The decision index could not be built.
    #[error("cannot build the decision index: {0}")]
    Index(#[from] index::IndexError),
}

impl AppState {
    /// The state over `store` and `policy`, with the built-in service manifest.
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Result<AppState, StateError> {
        let source = Source::new("crates/scopegate-server/manifest.toml", SERVICE_MANIFEST);
        let manifest = Manifest::load(&source, &policy).map_err(|d| StateError::Manifest {
            policy: policy.name.clone(),
            diagnostics: d.to_string(),
        })?;
        let endpoints = manifest
            .endpoints
            .iter()
            .filter_map(|e| Some((e.path.clone()?, e.name.clone())))
            .collect();
        let openapi = openapi::document(&manifest, &policy)
            .to_json()
            .map_err(|e| StateError::OpenApi(e.to_string()))?;
        let index = index::LiveIndex::new(index::Index::empty(&policy)?);
        let policy_version = policy_version(&policy, SERVICE_MANIFEST);
        let manifest = Arc::new(manifest);
        let shared = Shared {
            openapi: Arc::new(openapi),
            store,
            policy: Arc::new(policy),
            decision_manifest: manifest.clone(),
            manifest,
            endpoints: Arc::new(endpoints),
            metrics: Arc::default(),
            index: Arc::new(index),
            policy_version: policy_version.into(),
            decision_log: None,
            request_timeout: REQUEST_TIMEOUT,
            org_deletion_grace: deletion::DEFAULT_GRACE,
        };
        Ok(AppState {
            shared: Arc::new(shared),
        })
    }

    /// Decides `/v1/` requests with `manifest` (compiled against this state's policy;
    /// `text` is its source, hashed into the policy version).
    #[must_use]
    pub fn with_decision_manifest(mut self, manifest: Manifest, text: &str) -> AppState {
        let shared = Arc::make_mut(&mut self.shared);
        shared.policy_version = policy_version(&shared.policy, text).into();
        shared.decision_manifest = Arc::new(manifest);
        self
    }

    /// Removes organizations `grace` after their `DELETE` (default one day).
    #[must_use]
    pub fn with_org_deletion_grace(mut self, grace: std::time::Duration) -> AppState {
        Arc::make_mut(&mut self.shared).org_deletion_grace = grace;
        self
    }

    /// Writes every `/v1/` decision to `log`.
    #[must_use]
    pub fn with_decision_log(mut self, log: routes::v1::DecisionLog) -> AppState {
        Arc::make_mut(&mut self.shared).decision_log = Some(Arc::new(log));
        self
    }

    /// Cuts reads short after `timeout` ([`deadline`]).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> AppState {
        Arc::make_mut(&mut self.shared).request_timeout = timeout;
        self
    }

    /// Reduces the stored org auth tokens' scopes to the policy's `org_token_scopes` (call
    /// once at start, before serving): one transaction, one `org-auth-token.edit` audit
    /// entry by `system` per changed token. Returns how many changed.
    pub async fn reduce_org_token_scopes(&self) -> Result<u64, scopegate_store::StoreError> {
        let allowed: Vec<String> = self
            .policy
            .scopes
            .sorted_names(self.policy.org_token_scopes)
            .into_iter()
            .map(str::to_string)
            .collect();
        self.store
            .reduce_org_token_scopes(&allowed, &scopegate_store::Actor::system())
            .await
    }

    /// Builds the decision index from the store (call once before serving).
    pub async fn load_index(&self) -> Result<(), index::IndexError> {
        self.index.refresh(&*self.store, &self.policy).await
    }
}

/// A short hash of the policy and the decision manifest's text.
fn policy_version(policy: &Policy, manifest_text: &str) -> String {
    let text = format!("{policy:?}\n{manifest_text}");
    let mut hash = scopegate_store::hash_secret(&text);
    hash.truncate(16);
    hash
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    build_router(state, false)
}

/// The whole service plus the bench-only `POST /v1/bench/noop`
/// ([`routes::bench_noop`]; `scopegate serve --bench-noop-route`).
pub fn bench_router(state: AppState) -> Router {
    build_router(state, true)
}

fn build_router(state: AppState, bench_noop: bool) -> Router {
    let api = routes::api()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            index::refresh,
        ));
    // Only a service token may call `/v1/`: every handler there takes `auth::ServiceCaller`.
    let mut v1 = routes::v1::router();
    if bench_noop {
        v1 = v1.merge(routes::bench_noop::router());
    }
    let v1 = v1.layer(DefaultBodyLimit::max(routes::v1::V1_BODY_LIMIT));
    Router::new()
        .merge(api)
        .merge(v1)
        .merge(routes::health::router())
        .fallback(routes::not_found)
        // After the route layers: a method a route does not have is answered 405 (with
        // `Allow`) before any authorization, on every route.
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(boundary::reject_control_queries))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline::deadline,
        ))
        .layer(middleware::from_fn(boundary::json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the service on `listener` until `shutdown` resolves, then finishes in-flight
/// requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// [`serve`] with the bench-only no-op route ([`bench_router`]).
pub async fn serve_bench(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, bench_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
