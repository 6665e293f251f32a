//! The request deadline, which never fires after a write committed.
//!
//! A read (any method on `/v1/`, `/healthz`, …, and `GET`/`HEAD`/`OPTIONS`/`TRACE` on
//! `/api/`) that takes longer than [`AppState::request_timeout`](crate::Shared::request_timeout)
//! is cut short with a 408 and a JSON detail. A write (any other method on `/api/`) is not:
//! cutting it short could drop the handler after its transaction committed (or while the
//! commit is in flight, or while the index is rebuilt after it) and tell the client it failed
//! when it did not. For a write the deadline covers reading the body (a slow client cannot
//! hold a handler); then the handler and the index rebuild run to the end. A write is bounded
//! by the store instead, and fails before it commits: SQLite's busy timeout, PostgreSQL's
//! connection acquire timeout and lock timeout (503 with `Retry-After`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::{AppState, BODY_LIMIT};

/// The middleware.
pub async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.request_timeout;
    if !is_write(&req) {
        return match tokio::time::timeout(limit, next.run(req)).await {
            Ok(response) => response,
            Err(_) => timed_out(),
        };
    }
    let (parts, body) = req.into_parts();
    // One byte past the limit, so that the handler's extractor still answers an oversized
    // body with its own 413.
    let bytes = match tokio::time::timeout(limit, axum::body::to_bytes(body, BODY_LIMIT + 1)).await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return unreadable(&e),
        Err(_) => return timed_out(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether the request may write: a mutating method on the management API.
fn is_write(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
        && !matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
}

fn timed_out() -> Response {
    ApiError::Timeout("The request took too long".into()).into_response()
}

/// The answer to a body that could not be read: too large (413), or cut off (400).
fn unreadable(e: &axum::Error) -> Response {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if err.to_string().contains("length limit exceeded") {
            return ApiError::PayloadTooLarge(
                "Failed to buffer the request body: length limit exceeded".into(),
            )
            .into_response();
        }
        source = err.source();
    }
    ApiError::BadRequest("Failed to read the request body".into()).into_response()
}
