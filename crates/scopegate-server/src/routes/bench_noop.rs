//! Bench only (issue 16, `bench/http.sh`): `POST /v1/bench/noop`, the denominator of the
//! HTTP benchmark. It goes through the same layers, body limit and service-token check as
//! `POST /v1/check` and reads the same body, then answers a fixed small JSON object without
//! parsing or deciding anything, so `/v1/check` minus this route is the decision (parse,
//! decide, render). Mounted only by `scopegate serve --bench-noop-route` (hidden); never
//! in the OpenAPI document.

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;

use crate::auth::ServiceCaller;
use crate::AppState;

/// The route (merged beside `/v1/` by [`crate::router`] when [`crate::Shared::bench_noop_route`] is set).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/bench/noop", post(noop))
}

async fn noop(_caller: ServiceCaller, body: Bytes) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        if body.is_empty() {
            r#"{"noop":true,"body":0}"#
        } else {
            r#"{"noop":true,"body":1}"#
        },
    )
}
