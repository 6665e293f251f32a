//! Rendering decisions: their wire form serialized straight from [`Decision`], one or a
//! batch, as a JSON response.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use scopegate_core::decision::Grant;
use scopegate_core::{Decision, Policy, ScopeSet};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::error::ApiError;

/// A decision in its wire form (docs/wire.md), serialized straight from the decision:
/// the same JSON as [`Decision::to_doc`] without building the document.
struct Rendered<'a> {
    decision: Decision,
    policy: &'a Policy,
}

/// A grant path, as a list of one or two codes.
struct GrantCodes(Grant);

/// Scope names, sorted.
struct ScopeNames<'a>(ScopeSet, &'a Policy);

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.decision;
        let mut out = s.serialize_struct("DecisionDoc", 6)?;
        out.serialize_field("allowed", &d.allowed())?;
        out.serialize_field("status", &d.status())?;
        out.serialize_field("reason", d.reason.as_str())?;
        out.serialize_field("grant", &d.grant.map(GrantCodes))?;
        out.serialize_field("missing_scopes", &ScopeNames(d.missing_scopes, self.policy))?;
        out.serialize_field("challenge", &d.challenge_header(self.policy))?;
        out.end()
    }
}

impl Serialize for GrantCodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut out = s.serialize_seq(Some(1 + usize::from(g.granular.is_some())))?;
        out.serialize_element(g.path.as_str())?;
        if let Some(granular) = g.granular {
            out.serialize_element(granular.as_str())?;
        }
        out.end()
    }
}

impl Serialize for ScopeNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_seq(Some(0))?.end();
        }
        s.collect_seq(self.1.scopes.sorted_names(self.0))
    }
}

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

/// Renders one decision.
pub(super) fn render(decision: Decision, policy: &Policy) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(160);
    serde_json::to_writer(&mut body, &Rendered { decision, policy })
        .map_err(|e| ApiError::Internal(format!("cannot render a decision: {e}")))?;
    Ok(json_bytes(body))
}

/// Renders `{"decisions": [...]}`.
pub(super) fn render_all(
    decisions: impl ExactSizeIterator<Item = Decision>,
    policy: &Policy,
) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(24 + decisions.len() * 128);
    body.extend_from_slice(b"{\"decisions\":[");
    for (i, decision) in decisions.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &Rendered { decision, policy })
            .map_err(|e| ApiError::Internal(format!("cannot render a decision: {e}")))?;
    }
    body.extend_from_slice(b"]}");
    Ok(json_bytes(body))
}
