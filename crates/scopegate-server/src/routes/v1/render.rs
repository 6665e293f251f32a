//! Rendering decisions as JSON responses, with the core's one decision writer
//! ([`scopegate_core::codec::write`]).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use scopegate_core::codec::{self, DecisionJson, Lead};
use scopegate_core::{Decision, Policy, TraceStep};

/// A JSON response from serialized bytes.
fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A decision body made at `revision` (its `"revision"` field written first by the core's
/// writer), with the `X-Scopegate-Revision` header ([`crate::revision`]).
fn at_revision(body: Vec<u8>, revision: u64) -> Response {
    let mut response = json_bytes(body);
    crate::revision::set_header(&mut response, revision);
    response
}

/// One decision, made at `revision`.
pub(super) fn one(decision: &Decision, policy: &Policy, revision: u64) -> Response {
    let mut body = Vec::with_capacity(200);
    codec::write_decision(&mut body, decision, policy, Some(Lead::Revision(revision)));
    at_revision(body, revision)
}

/// `{"revision": N, "decisions": [...]}`: every decision made at `revision`.
pub(super) fn batch(
    decisions: impl ExactSizeIterator<Item = Decision>,
    policy: &Policy,
    revision: u64,
) -> Response {
    at_revision(
        codec::write_batch(decisions, policy, Some(revision)),
        revision,
    )
}

/// One decision with its `trace`, made at `revision`.
pub(super) fn explained(
    decision: &Decision,
    trace: &[TraceStep],
    policy: &Policy,
    revision: u64,
) -> Response {
    let json = DecisionJson {
        decision,
        policy,
        trace: Some(trace),
        lead: Some(Lead::Revision(revision)),
    };
    // Writing into a `Vec` cannot fail, and every field serializes.
    at_revision(serde_json::to_vec(&json).unwrap_or_default(), revision)
}
