//! The one error type of the HTTP API, with one status table and Sentry's body shape
//! `{"detail": "…"}`.
//!
//! Client errors carry their message to the client; store and internal errors are logged
//! (through the `ApiError` response extension, by the logging middleware) and answered with
//! a generic body.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scopegate_store::StoreError;
use serde::Serialize;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: bad input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// 400 on one field, with Sentry's field-keyed body `{"<field>": "<message>"}`.
    #[error("{field}: {message}")]
    Field {
        /// The field.
        field: String,
        /// The message.
        message: String,
    },
    /// An error with Sentry's exact body for its status (a serializer's field-keyed lists,
    /// `{"email": ["Enter a valid email address."]}`, or a field-keyed 403).
    #[error("{status}: {body}")]
    Body {
        /// 400 or 403.
        status: StatusCode,
        /// The JSON body.
        body: serde_json::Value,
    },
    /// 401: no or invalid credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// A denial decided by the engine: its status, detail and challenge.
    #[error("{detail}")]
    Denied {
        /// 401, 403 or 404.
        status: StatusCode,
        /// The `detail` text.
        detail: String,
        /// The `WWW-Authenticate` challenge, if any.
        challenge: Option<String>,
    },
    /// 403: refused by a rule of the handler.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: a duplicate.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 408: the request took longer than the request timeout (reads only: a write is never
    /// cut short, see [`crate::deadline`]).
    #[error("{0}")]
    Timeout(String),
    /// 503 with `Retry-After: 1`: the index did not reach the revision a `/v1/` request
    /// named within the wait ([`crate::revision`]); the detail names both revisions.
    #[error(
        "The decision index has not reached revision {wanted} within {} ms (index at revision \
         {at}); retry",
        waited.as_millis()
    )]
    Behind {
        /// The revision asked for.
        wanted: u64,
        /// The revision the index is at.
        at: u64,
        /// How long the request waited.
        waited: std::time::Duration,
    },
    /// 503 with `Retry-After`: the store cannot serve now (full, I/O error, write lock busy
    /// past its timeout, unreachable). Nothing was written; the cause is logged, never shown.
    #[error("store unavailable: {0}")]
    Unavailable(StoreError),
    /// 500: a store failure (never shown to the client).
    #[error("store error: {0}")]
    Store(StoreError),
    /// 500: anything else (never shown to the client).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The `detail` of a 503 when the store cannot serve.
pub const UNAVAILABLE_DETAIL: &str = "The store is unavailable; retry later";

/// The `Retry-After` of a 503, in seconds.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Sentry's error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The message.
    pub detail: String,
}

impl ApiError {
    /// 400 with DRF's list body on one field, `{"<field>": ["<message>"]}` (Sentry's
    /// serializer errors, e.g. an organization slug).
    pub fn field_list(field: &str, message: impl Into<String>) -> ApiError {
        let mut body = serde_json::Map::new();
        body.insert(field.to_string(), serde_json::json!([message.into()]));
        ApiError::Body {
            status: StatusCode::BAD_REQUEST,
            body: body.into(),
        }
    }

    /// 400 with Sentry's list-valued detail, `{"detail": ["<message>"]}` (org auth token
    /// names).
    pub fn detail_list(message: impl Into<String>) -> ApiError {
        ApiError::field_list("detail", message)
    }

    /// The status of this error: the one status table.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Field { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Denied { status, .. } | ApiError::Body { status, .. } => *status,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) | ApiError::Behind { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => {
                ApiError::NotFound("The requested resource does not exist".into())
            }
            StoreError::Conflict => ApiError::Conflict("The resource already exists".into()),
            other if other.is_unavailable() => ApiError::Unavailable(other),
            other => ApiError::Store(other),
        }
    }
}

impl From<scopegate_core::world::WorldErrors> for ApiError {
    /// A stored world that does not build: a 500 whose log line names each problem's row and
    /// why (`members[3].role: unknown org role `ghost``); the client sees `Internal Error`.
    fn from(e: scopegate_core::world::WorldErrors) -> Self {
        ApiError::Internal(format!(
            "the stored world is invalid: {}",
            e.summary(LISTED_PROBLEMS)
        ))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
            _ => ApiError::BadRequest(text),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Body { status, body } = self {
            return (status, axum::Json(body)).into_response();
        }
        if let ApiError::Field { field, message } = &self {
            let mut body = serde_json::Map::new();
            body.insert(field.clone(), message.clone().into());
            return (status, axum::Json(body)).into_response();
        }
        let detail = match &self {
            ApiError::Store(_) | ApiError::Internal(_) => {
                // INVARIANT: internal details are logged, never returned.
                tracing::error!(error = %self, "request failed");
                "Internal Error".to_string()
            }
            ApiError::Unavailable(_) => {
                tracing::error!(error = %self, "store unavailable");
                UNAVAILABLE_DETAIL.to_string()
            }
            other => other.to_string(),
        };
        let mut response = (status, axum::Json(ErrorBody { detail })).into_response();
        let challenge = match &self {
            ApiError::Denied { challenge, .. } => challenge.clone(),
            ApiError::Unauthenticated(_) => Some("Bearer".to_string()),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        match &self {
            ApiError::Unavailable(_) => {
                response
                    .extensions_mut()
                    .insert(StoreFailure("unavailable"));
            }
            ApiError::Store(_) => {
                response.extensions_mut().insert(StoreFailure("database"));
            }
            _ => {}
        }
        if let ApiError::Behind { at, .. } = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(BEHIND_RETRY_AFTER_SECS),
            );
            response
                .headers_mut()
                .insert(REVISION_HEADER, HeaderValue::from(*at));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

/// The response header naming the revision of the store a response reflects: after a
/// write, the revision the index reached (at least the write's); on `/v1/`, the revision
/// the decision was made at ([`crate::revision`]).
pub const REVISION_HEADER: &str = "x-scopegate-revision";

/// The `Retry-After` (seconds) of a `/v1/` request whose revision the index did not reach
/// in time ([`ApiError::Behind`]).
pub const BEHIND_RETRY_AFTER_SECS: u32 = 1;

/// A response extension: the request failed in the store (`kind`: `unavailable` or
/// `database`). Set by [`ApiError`]'s response, counted by [`crate::metrics::count`].
#[derive(Debug, Clone, Copy)]
pub struct StoreFailure(pub &'static str);

/// How many problems of an invalid stored world an error message lists (the error holds all).
pub const LISTED_PROBLEMS: usize = 20;
