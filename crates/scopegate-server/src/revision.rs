//! Read-your-writes on the decision API: `at_least_revision`.
//!
//! Every committed write has a revision of the store; a write's response names the revision
//! this replica's index reached (`X-Scopegate-Revision`, at least the write's). A `/v1/`
//! request may name a revision its decision must be made at or after: the body field
//! `at_least_revision` (`/v1/check`, `/v1/check/batch`, `/v1/explain`), the query parameter
//! of the same name (`/v1/who-can`), or the header `X-Scopegate-At-Least-Revision` (all
//! four; the largest one given counts). The request waits, up to `serve --revision-wait`
//! ([`DEFAULT_REVISION_WAIT`]), for this replica's index to reach it; past that it is
//! answered 503 with `Retry-After` and a detail naming both revisions — never a decision
//! made at an older state. Every `/v1/` response carries `X-Scopegate-Revision`, the
//! revision its decision was made at ([`stamp`]), and every decision body `"revision"`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ApiError, REVISION_HEADER};
use crate::index::Index;
use crate::AppState;

/// How long a request naming `at_least_revision` waits by default.
pub const DEFAULT_REVISION_WAIT: Duration = Duration::from_secs(2);

/// The request header naming the revision a decision must be made at or after.
pub const AT_LEAST_REVISION_HEADER: &str = "x-scopegate-at-least-revision";

/// A revision as a request names it: a non-negative integer; anything else is 400 naming
/// `field`.
pub fn parse(field: &str, text: &str) -> Result<u64, ApiError> {
    text.trim().parse::<u64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "{field}: expected a revision (a non-negative integer), got `{text}`"
        ))
    })
}

/// The revision named by the `X-Scopegate-At-Least-Revision` header, if any.
fn from_headers(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(AT_LEAST_REVISION_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::BadRequest(
            "X-Scopegate-At-Least-Revision: expected a revision (a non-negative integer)".into(),
        )
    })?;
    parse("X-Scopegate-At-Least-Revision", text).map(Some)
}

/// The index to decide over: `index` when at the revision asked for — the larger of
/// `asked` (the body field or query parameter) and the `X-Scopegate-At-Least-Revision`
/// header of `headers` — or when nothing is asked; else the live index once it reaches that
/// revision, waiting up to the state's `revision_wait`; [`ApiError::Behind`] past it, and
/// 400 for a header that is no revision.
pub async fn at_least(
    state: &AppState,
    index: Arc<Index>,
    headers: &HeaderMap,
    asked: Option<u64>,
) -> Result<Arc<Index>, ApiError> {
    let at_least = asked.max(from_headers(headers)?);
    let Some(wanted) = at_least else {
        return Ok(index);
    };
    if index.revision >= wanted {
        return Ok(index);
    }
    state
        .index
        .wait_for(wanted, state.revision_wait)
        .await
        .map_err(|at| ApiError::Behind {
            wanted,
            at,
            waited: state.revision_wait,
        })
}

/// Sets `X-Scopegate-Revision` on `response` to `revision`.
pub fn set_header(response: &mut Response, revision: u64) {
    response
        .headers_mut()
        .insert(REVISION_HEADER, HeaderValue::from(revision));
}

/// The `/v1/` layer: a response without `X-Scopegate-Revision` (an error answered before any
/// decision) gets the current index's.
pub async fn stamp(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if !response.headers().contains_key(REVISION_HEADER) {
        set_header(&mut response, state.index.current().revision);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_non_negative_integers() {
        assert_eq!(parse("f", "12").unwrap(), 12);
        for bad in ["-1", "x", "", "1.0", "18446744073709551616"] {
            assert!(
                matches!(parse("f", bad), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
