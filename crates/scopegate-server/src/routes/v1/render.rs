//! Rendering decisions as JSON responses, with the core's one decision writer
//! ([`scopegate_core::codec::write`]).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use scopegate_core::codec::{self, DecisionJson};
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

/// One decision.
pub(super) fn one(decision: &Decision, policy: &Policy) -> Response {
    let mut body = Vec::with_capacity(160);
    codec::write_decision(&mut body, decision, policy);
    json_bytes(body)
}

/// `{"decisions": [...]}`.
pub(super) fn batch(
    decisions: impl ExactSizeIterator<Item = Decision>,
    policy: &Policy,
) -> Response {
    json_bytes(codec::write_batch(decisions, policy))
}

/// One decision with its `trace`.
pub(super) fn explained(decision: &Decision, trace: &[TraceStep], policy: &Policy) -> Response {
    let json = DecisionJson {
        decision,
        policy,
        trace: Some(trace),
    };
    // Writing into a `Vec` cannot fail, and every field serializes.
    json_bytes(serde_json::to_vec(&json).unwrap_or_default())
}
