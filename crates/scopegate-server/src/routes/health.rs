//! `/healthz` (the process answers), `/readyz` (the index is built and the store answers) and `/metrics`
//! (Prometheus text) and `/api/openapi.json`. These sit outside the API and its authorization.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ErrorBody;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the decision index has been built ([`crate::launch`] builds it before
/// serving) and the store commits a probe write ([`scopegate_store::Store::ready`]): a store
/// that answers reads but cannot write (full disk, I/O errors, write lock stuck, database
/// unreachable) is not ready. Checked on every call, so it turns ready again by itself.
async fn readyz(State(state): State<AppState>) -> Response {
    if !state.index.is_built() {
        return unavailable("The decision index is not built yet");
    }
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            unavailable("The store cannot take a write")
        }
    }
}

/// 503 with `Retry-After`.
fn unavailable(detail: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(ErrorBody {
            detail: detail.into(),
        }),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::error::RETRY_AFTER_SECS),
    );
    response
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
}
