//! `/healthz` (the process answers), `/readyz` (the index is built and the store answers) and `/metrics`
//! (OpenMetrics text, [`crate::metrics`]) and `/api/openapi.json`. These sit outside the API and its authorization.

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
        .route("/metrics", get(crate::metrics::handler))
        .route("/api/openapi.json", get(openapi))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Not ready once shutdown began ([`crate::shutdown`]) or while the decision index is not
/// built ([`crate::launch`] builds it before serving). Otherwise ready when the store commits
/// a probe write ([`scopegate_store::Store::ready`]): a store that answers reads but cannot write (full disk, I/O errors, write lock stuck, database
/// unreachable) is not ready. Checked on every call, so it turns ready again by itself.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.lifecycle.is_draining() {
        return not_ready("The service is shutting down");
    }
    if !state.index.is_built() {
        return not_ready("The decision index is not built yet");
    }
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            not_ready("The store cannot take a write")
        }
    }
}

/// 503 with `detail` and `Retry-After`.
fn not_ready(detail: &str) -> Response {
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

async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
}
