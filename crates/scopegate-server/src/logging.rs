//! The service's logs: the subscriber (`serve --log-format text|json`), the request id and
//! one access line per request.
//!
//! # What this module guarantees
//!
//! - **One access line per request**, at `info` on target `scopegate::access`, written when
//!   the response leaves: `method`, `route` (the route *template*, `unmatched` for the 404
//!   fallback), `status`, `duration_ms`, `request_id` and `caller` (`user:ID`,
//!   `org-token:ID`, `service-token:ID`, or `-` before or without authentication).
//! - **Every request has an id.** A valid incoming `x-request-id` (1–128 of
//!   `A-Z a-z 0-9 - _ . :`) is kept; anything else is replaced by a generated UUID. The id is
//!   returned in the response's `x-request-id` (tower-http's request-id layers).
//! - **No secret reaches a log.** The access line holds no header, query or body; the
//!   caller is named by id. Bearer secrets are read only by [`crate::auth`], whose functions
//!   are not instrumented with their arguments.
//! - **ANSI colour only on a terminal**: the text format colours only when stderr is one.

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::AppState;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id kept from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The log format (`serve --log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, the event's fields at the top level.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format `{other}` (expected text or json)"
            )),
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// Installs the process's subscriber: `RUST_LOG` (default `scopegate=info,tower_http=info`),
/// written to stderr in `format`. A second call keeps the first subscriber.
pub fn init(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("scopegate=info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// Where the authentication step records who called, for the access line (a request
/// extension).
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<String>>);

/// Records the caller of the request whose extensions are `extensions` (`user:ID`,
/// `org-token:ID`, `service-token:ID`). Never a secret.
pub fn record_caller(extensions: &axum::http::Extensions, caller: impl Into<String>) {
    if let Some(slot) = extensions.get::<CallerSlot>() {
        let _ = slot.0.set(caller.into());
    }
}

/// Whether a client's request id is kept as sent.
fn valid_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Drops an incoming `x-request-id` that is not [`valid_request_id`] (one is generated).
async fn sanitize_request_id(mut req: Request, next: Next) -> Response {
    let invalid = req
        .headers()
        .get_all(&REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(i, v)| i > 0 || !valid_request_id(v));
    if invalid {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

/// Writes the access line of each request.
async fn access(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "scopegate::access",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms,
        request_id = %request_id,
        caller = slot.0.get().map_or("-", String::as_str),
        "request"
    );
    response
}

/// Adds the logging layers to `router` (every route and the fallback): the request id
/// checked, set when missing and returned, then the access line.
pub fn layers(router: Router<AppState>) -> Router<AppState> {
    router
        .layer(axum::middleware::from_fn(access))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(sanitize_request_id))
}
