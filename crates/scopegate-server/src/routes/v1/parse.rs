//! Reading `/v1/` bodies: the core's codec ([`scopegate_core::codec::read`]) after the
//! boundary's control-character check, and bearer principals resolved against the index.

use axum::body::Bytes;
use scopegate_core::codec::{self, Options, ReadError, ReadErrorKind, WireBatch, WireRequest};
use scopegate_core::{Principal, Request};

use crate::decision_log::LoggedBearer;
use crate::error::ApiError;
use crate::index::{Index, IndexedToken};
use crate::AppState;

/// What the service reads beyond §4.1: `bearer` principals and `at_least_revision`.
const OPTIONS: Options = Options {
    bearer: true,
    revision: true,
};

/// One request read, and what the decision log writes of its bearer principal.
pub(super) struct Parsed {
    /// The request, its principal resolved.
    pub request: Request,
    /// The bearer principal as logged; only built when the decision log is on.
    pub bearer: Option<LoggedBearer>,
}

/// Reads the body of `/v1/check` and `/v1/explain` (its bearer principal is resolved by
/// [`resolve`], over the index the request is decided on).
pub(super) fn one<'a>(body: &'a Bytes, state: &AppState) -> Result<WireRequest<'a>, ApiError> {
    check_controls(body)?;
    codec::read_request(body, &state.policy, OPTIONS).map_err(api_error)
}

/// Reads the body of `/v1/check/batch`.
pub(super) fn batch<'a>(body: &'a Bytes, state: &AppState) -> Result<WireBatch<'a>, ApiError> {
    check_controls(body)?;
    codec::read_batch_at(body, &state.policy, OPTIONS).map_err(api_error)
}

/// A control character in any string is 400 naming the field ([`crate::boundary`]), before
/// the codec reads anything; most bodies cannot hold one and skip the check.
fn check_controls(body: &Bytes) -> Result<(), ApiError> {
    if crate::boundary::may_hold_control(body) {
        crate::boundary::check_json_bytes(body)?;
    }
    Ok(())
}

/// 400 naming the field; 413 past the batch limit.
fn api_error(e: ReadError) -> ApiError {
    match e.kind {
        ReadErrorKind::TooMany => ApiError::PayloadTooLarge(e.to_string()),
        ReadErrorKind::Syntax { .. } | ReadErrorKind::Invalid => {
            ApiError::BadRequest(e.to_string())
        }
    }
}

/// Resolves a bearer secret against the index: its token's principal, or anonymous for an
/// unknown secret or a service token.
pub(super) fn resolve(read: WireRequest<'_>, state: &AppState, index: &Index) -> Parsed {
    let mut bearer = None;
    let request = read.resolve(|secret| {
        let token = index.token(secret);
        if state.decision_log.is_some() {
            bearer = Some(logged(token));
        }
        token
            .and_then(|t| t.principal.clone())
            .unwrap_or(Principal::Anonymous)
    });
    Parsed { request, bearer }
}

/// What the decision log writes for a bearer principal: the token's id and prefix.
fn logged(token: Option<&IndexedToken>) -> LoggedBearer {
    LoggedBearer {
        token_id: token.map(|t| t.token.id.to_string()),
        token_prefix: token.map(|t| t.token.prefix.clone()),
    }
}
