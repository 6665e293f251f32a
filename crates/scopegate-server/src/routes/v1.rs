//! The decision API (`/v1/`): applications ask scopegate before serving a request.
//!
//! - `POST /v1/check`: one request (docs/wire.md) → one decision.
//! - `POST /v1/check/batch`: `{"requests": [...]}` (or a bare array), at most
//!   [`MAX_BATCH`] → `{"decisions": [...]}` in order; more → 413.
//! - `POST /v1/explain`: one request → its decision with `trace`.
//! - `GET /v1/who-can?organization=…&endpoint=…&method=…[&project=…|&team=…]`: every member
//!   (with a user) whose session would be allowed, with each one's grant path; paged
//!   (`who_can.rs`).
//!
//! A principal is one of docs/wire.md §3's shapes or `{"kind": "bearer", "token": "…"}`, resolved
//! against the stored tokens: an unknown secret (or a service token) is decided as
//! anonymous. Every decision reads the in-memory [`crate::index`] (never the database) and
//! the decision manifest the service was started with. Bad input → 400 naming the field;
//! an unknown endpoint, organization, project or team is a `not_found` decision.
//!
//! Only a service token may call these routes ([`crate::auth::ServiceCaller`]). A request
//! flows: `parse` (the core's codec) → `decide` → `log` (when on) → `render` (the
//! core's decision writer).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use scopegate_core::{Decision, Engine, Request};

use crate::auth::ServiceCaller;
use crate::error::ApiError;
use crate::index::Index;
use crate::AppState;

mod parse;
mod render;
mod who_can;

pub use scopegate_core::codec::MAX_BATCH;

/// The largest body of a `/v1/` request, in bytes (a full batch).
pub const V1_BODY_LIMIT: usize = 1024 * 1024;

/// The decision API's routes. Every handler takes a [`ServiceCaller`]: only a service
/// token gets through.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/check", post(check))
        .route("/v1/check/batch", post(batch))
        .route("/v1/explain", post(explain))
        .route("/v1/who-can", get(who_can::who_can))
}

/// 400 naming `field`.
fn bad(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {message}"))
}

/// Decides one request over `index` with the decision manifest.
fn decide(state: &AppState, index: &Index, request: &Request) -> Decision {
    state
        .metrics
        .v1(Engine::new(&state.policy, &state.decision_manifest, &index.world).decide(request))
}

/// Writes `decision` of `parsed` to the decision log, when it is on.
fn log(state: &AppState, parsed: &parse::Parsed, decision: &Decision) {
    if let Some(log) = &state.decision_log {
        let written = log.write(
            &parsed.request,
            parsed.bearer.as_ref(),
            decision,
            &state.policy,
            &state.policy_version,
        );
        state.metrics.decision_log(written);
    }
}

/// The larger of two requested revisions.
fn largest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.max(b)
}

/// `POST /v1/check`.
async fn check(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::one(&body, &state)?;
    let wanted = largest(
        crate::revision::from_headers(&headers)?,
        read.at_least_revision,
    );
    let index = crate::revision::at_least(&state, index, wanted).await?;
    let parsed = parse::resolve(read, &state, &index);
    let decision = decide(&state, &index, &parsed.request);
    log(&state, &parsed, &decision);
    Ok(render::one(&decision, &state.policy, index.revision))
}

/// `POST /v1/check/batch`: every request decided over one index snapshot.
async fn batch(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::batch(&body, &state)?;
    let wanted = largest(
        crate::revision::from_headers(&headers)?,
        read.max_revision(),
    );
    let index = crate::revision::at_least(&state, index, wanted).await?;
    let parsed: Vec<parse::Parsed> = read
        .requests
        .into_iter()
        .map(|r| parse::resolve(r, &state, &index))
        .collect();
    state.metrics.batch(parsed.len());
    let engine = Engine::new(&state.policy, &state.decision_manifest, &index.world);
    let decisions = parsed.iter().map(|p| {
        let decision = state.metrics.v1(engine.decide(&p.request));
        log(&state, p, &decision);
        decision
    });
    Ok(render::batch(decisions, &state.policy, index.revision))
}

/// `POST /v1/explain`.
async fn explain(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::one(&body, &state)?;
    let wanted = largest(
        crate::revision::from_headers(&headers)?,
        read.at_least_revision,
    );
    let index = crate::revision::at_least(&state, index, wanted).await?;
    let parsed = parse::resolve(read, &state, &index);
    let (decision, trace) =
        Engine::new(&state.policy, &state.decision_manifest, &index.world).explain(&parsed.request);
    let decision = state.metrics.v1(decision);
    log(&state, &parsed, &decision);
    Ok(render::explained(
        &decision,
        &trace,
        &state.policy,
        index.revision,
    ))
}
