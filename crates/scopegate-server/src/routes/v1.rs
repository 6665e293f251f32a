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
//! flows: `parse` (the core's codec) → `decide` → `render` (the core's decision writer) →
//! `log` (when on: the owned request and decision handed to [`crate::decision_log`]'s queue;
//! serialized and written by its writer thread). With shadow mode on ([`crate::shadow`]),
//! every decision is also made under the candidate, after the answer is decided and without
//! changing it.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use scopegate_core::{Decision, Engine, Request};

use crate::auth::ServiceCaller;
use crate::decision_log::{Api, BatchPosition, Body, Entry, ShadowDecision};
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

/// Shadow mode, when on ([`crate::shadow`]): `decision` of `request` made again under the
/// candidate and counted; the candidate's decision when it disagrees (for the log).
fn shadow(
    state: &AppState,
    index: &Index,
    request: &Request,
    decision: &Decision,
) -> Option<Box<ShadowDecision>> {
    use crate::shadow::Outcome;
    let shadow = state.shadow.as_ref()?;
    match shadow.decide(index, request, decision) {
        Outcome::Agrees => {
            state.metrics.shadow(None, false);
            None
        }
        Outcome::Skipped => {
            state.metrics.shadow(None, true);
            None
        }
        Outcome::Disagrees(d) => {
            let label = shadow.endpoint_label(&request.endpoint);
            state
                .metrics
                .shadow(Some((label, d.direction.as_str())), false);
            Some(Box::new(ShadowDecision {
                policy: shadow.policy.clone(),
                policy_version: shadow.policy_version.clone(),
                decision: d.decision,
            }))
        }
    }
}

/// Hands `decision` of `parsed` (and the shadow's, when it disagrees) to the decision log,
/// when it is on.
async fn log(
    state: &AppState,
    caller: &ServiceCaller,
    api: Api,
    parsed: parse::Parsed,
    (decision, shadow): (Decision, Option<Box<ShadowDecision>>),
    batch: Option<BatchPosition>,
) {
    if let Some(log) = &state.decision_log {
        log.record(Entry {
            at: SystemTime::now(),
            api,
            context: caller.context.clone(),
            revision: caller.index.revision,
            policy_version: state.policy_version.clone(),
            body: Body::Decision {
                request: parsed.request,
                bearer: parsed.bearer,
                decision,
                batch,
                shadow,
            },
        })
        .await;
    }
}

/// `caller`'s index, once at the revision asked for in the body (`asked`) or the header
/// ([`crate::revision::at_least`]).
async fn at_least(
    state: &AppState,
    caller: &mut ServiceCaller,
    headers: &HeaderMap,
    asked: Option<u64>,
) -> Result<(), ApiError> {
    caller.index = crate::revision::at_least(state, caller.index.clone(), headers, asked).await?;
    Ok(())
}

/// `POST /v1/check`.
async fn check(
    State(state): State<AppState>,
    mut caller: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::one(&body, &state)?;
    at_least(&state, &mut caller, &headers, read.at_least_revision).await?;
    let parsed = parse::resolve(read, &state, &caller.index);
    let decision = decide(&state, &caller.index, &parsed.request);
    let shadowed = shadow(&state, &caller.index, &parsed.request, &decision);
    let response = render::one(&decision, &state.policy, caller.index.revision);
    log(
        &state,
        &caller,
        Api::Check,
        parsed,
        (decision, shadowed),
        None,
    )
    .await;
    Ok(response)
}

/// `POST /v1/check/batch`: every request decided over one index snapshot.
async fn batch(
    State(state): State<AppState>,
    mut caller: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::batch(&body, &state)?;
    at_least(&state, &mut caller, &headers, read.max_revision()).await?;
    let parsed: Vec<parse::Parsed> = read
        .requests
        .into_iter()
        .map(|r| parse::resolve(r, &state, &caller.index))
        .collect();
    let revision = caller.index.revision;
    let size = parsed.len();
    state.metrics.batch(size);
    let engine = Engine::new(&state.policy, &state.decision_manifest, &caller.index.world);
    let decide_one = |p: &parse::Parsed| {
        let d = state.metrics.v1(engine.decide(&p.request));
        let shadowed = shadow(&state, &caller.index, &p.request, &d);
        (d, shadowed)
    };
    if state.decision_log.is_none() {
        let decisions = parsed.iter().map(|p| decide_one(p).0);
        return Ok(render::batch(decisions, &state.policy, revision));
    }
    let decisions: Vec<(Decision, Option<Box<ShadowDecision>>)> =
        parsed.iter().map(decide_one).collect();
    let response = render::batch(decisions.iter().map(|(d, _)| *d), &state.policy, revision);
    for (index, (p, d)) in parsed.into_iter().zip(decisions).enumerate() {
        let at = Some(BatchPosition { index, size });
        log(&state, &caller, Api::CheckBatch, p, d, at).await;
    }
    Ok(response)
}

/// `POST /v1/explain`.
async fn explain(
    State(state): State<AppState>,
    mut caller: ServiceCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let read = parse::one(&body, &state)?;
    at_least(&state, &mut caller, &headers, read.at_least_revision).await?;
    let parsed = parse::resolve(read, &state, &caller.index);
    let (decision, trace) =
        Engine::new(&state.policy, &state.decision_manifest, &caller.index.world)
            .explain(&parsed.request);
    let decision = state.metrics.v1(decision);
    let shadowed = shadow(&state, &caller.index, &parsed.request, &decision);
    let response = render::explained(&decision, &trace, &state.policy, caller.index.revision);
    log(
        &state,
        &caller,
        Api::Explain,
        parsed,
        (decision, shadowed),
        None,
    )
    .await;
    Ok(response)
}
