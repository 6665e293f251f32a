//! One line of the decision log (`docs/decision-log.md`, schema version 1), read for replay:
//! what was decided, when, under which policy version, and the request (its principal
//! already resolved) read with the core's codec.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::codec::{self, Options, WirePrincipal};
use crate::decision::Reason;
use crate::policy::Policy;
use crate::request::Request;

/// The decision log schema versions this reader knows.
pub const KNOWN_SCHEMA_VERSIONS: &[u32] = &[1];

/// A logged decision, ready to be decided again.
#[derive(Debug, Clone)]
pub struct LoggedDecision<'a> {
    /// The decision's id (a UUIDv7).
    pub decision_id: Cow<'a, str>,
    /// When it was decided (RFC 3339, UTC, milliseconds: sorts as text).
    pub timestamp: Cow<'a, str>,
    /// The policy version it was decided under.
    pub policy_version: Cow<'a, str>,
    /// The request, read against the log's policy.
    pub request: Request,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

/// What a line holds.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one line is read at a time and moved once: a box would allocate per line"
)]
pub enum Line<'a> {
    /// A decision (`check`, `check_batch`, `explain`).
    Decision(LoggedDecision<'a>),
    /// A line that records no decision to replay (`who_can`).
    Other,
}

/// A line that cannot be read: why (the caller adds where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError(pub String);

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LineError {}

#[derive(Deserialize)]
struct RawLine<'a> {
    schema_version: u32,
    #[serde(borrow)]
    decision_id: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    api: Cow<'a, str>,
    #[serde(borrow, default)]
    policy_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    request: &'a RawValue,
    #[serde(default)]
    decision: Option<RawDecision<'a>>,
}

#[derive(Deserialize)]
struct RawDecision<'a> {
    allowed: bool,
    #[serde(borrow)]
    reason: Cow<'a, str>,
}

/// Reads one line (without its `\n`) of a decision log; `policy` names the scopes of its
/// requests (the policy the log was written under).
pub fn read_line<'a>(text: &'a [u8], policy: &Policy) -> Result<Line<'a>, LineError> {
    let raw: RawLine<'a> = serde_json::from_slice(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .and_then(|i| message.get(..i))
            .unwrap_or(&message);
        LineError(match e.classify() {
            serde_json::error::Category::Data => {
                format!("column {}: not a decision log line: {message}", e.column())
            }
            _ => format!("column {}: invalid JSON: {message}", e.column()),
        })
    })?;
    if !KNOWN_SCHEMA_VERSIONS.contains(&raw.schema_version) {
        return Err(LineError(format!(
            "schema_version {} is not one this reader knows ({KNOWN_SCHEMA_VERSIONS:?})",
            raw.schema_version
        )));
    }
    match &*raw.api {
        "check" | "check_batch" | "explain" => {}
        "who_can" => return Ok(Line::Other),
        other => return Err(LineError(format!("unknown api `{other}`"))),
    }
    let Some(decision) = raw.decision else {
        return Err(LineError("a decision line without `decision`".into()));
    };
    let reason = Reason::from_code(&decision.reason)
        .ok_or_else(|| LineError(format!("unknown reason `{}`", decision.reason)))?;
    if decision.allowed != (reason == Reason::Allowed) {
        return Err(LineError(format!(
            "`decision.allowed` is {} with reason `{}`",
            decision.allowed, decision.reason
        )));
    }
    let wire = codec::read_request(raw.request.get().as_bytes(), policy, Options::default())
        .map_err(|e| LineError(format!("request.{e}")))?;
    let WirePrincipal::Known(principal) = wire.principal else {
        return Err(LineError("a bearer principal in a logged request".into()));
    };
    let mut request = wire.rest;
    request.principal = principal;
    Ok(Line::Decision(LoggedDecision {
        decision_id: raw.decision_id,
        timestamp: raw.timestamp,
        policy_version: raw.policy_version.unwrap_or_default(),
        request,
        allowed: decision.allowed,
        reason,
    }))
}
