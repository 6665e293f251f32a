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

use std::future::Future;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::Router;
use tower_http::trace::TraceLayer;

pub mod auth;
pub mod boundary;
pub mod deadline;
pub mod decision_log;
pub mod deletion;
pub mod demo;
pub mod error;
pub mod index;
pub mod launch;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod plane;
pub mod revision;
pub mod routes;
pub mod shadow;
pub mod shutdown;
pub mod state;

/// The service's own endpoint manifest (`crates/scopegate-server/manifest.toml`).
pub const SERVICE_MANIFEST: &str = include_str!("../manifest.toml");

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long a request may take (the default of [`Shared::request_timeout`]; writes are
/// never cut short, see [`deadline`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub use state::{AppState, Shared, StateError};

/// The whole service.
pub fn router(state: AppState) -> Router {
    let api = routes::api()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            index::write_caught_up,
        ))
        // Outermost: everything above runs on the management plane, off the decisions'
        // threads.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            plane::managed,
        ));
    // Only a service token may call `/v1/`: every handler there takes `auth::ServiceCaller`.
    let mut v1 = routes::v1::router();
    if state.bench_noop_route {
        // Bench only (`serve --bench-noop-route`): bench/http.sh's denominator.
        v1 = v1.merge(routes::bench_noop::router());
    }
    let v1 = v1
        .layer(DefaultBodyLimit::max(routes::v1::V1_BODY_LIMIT))
        // Every `/v1/` response names the revision it reflects.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            revision::stamp,
        ));
    let app = Router::new()
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
        .layer(TraceLayer::new_for_http());
    logging::layers(app).with_state(state)
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
