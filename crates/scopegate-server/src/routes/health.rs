//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`
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

/// Ready when the store commits a probe write ([`scopegate_store::Store::ready`]): a store
/// that answers reads but cannot write (full disk, I/O errors, write lock stuck, database
/// unreachable) is not ready. Checked on every call, so it turns ready again by itself.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(ErrorBody {
                    detail: "The store cannot take a write".into(),
                }),
            )
                .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            );
            response
        }
    }
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
