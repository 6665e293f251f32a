//! The HTTP boundary against hostile input, in one place:
//!
//! - **No control character in any text field.** Every JSON body read by [`AppJson`]
//!   or by the decision API, and every query string ([`reject_control_queries`], a layer on
//!   the whole service), is refused with 400 naming the field
//!   (`{"detail": "<field>: must not contain control characters"}`) before any handler or
//!   store sees it. Control characters are Unicode's `Cc` (`char::is_control`: C0, DEL and
//!   C1, tab and newline included); no field of the API is free text. The same answer on
//!   SQLite and PostgreSQL (which refuses NUL in `text`), and nothing is written. Path
//!   segments with control characters name nothing: [`crate::auth::authorize`] answers 404.
//! - **Every error is JSON.** [`json_errors`], the outermost layer but the trace, turns any
//!   error response that is not JSON (axum's own rejections, a timeout, a probe's text) into
//!   `{"detail": "…"}` with the same status and headers.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;

/// The message of a field holding a control character.
pub const CONTROL_MESSAGE: &str = "must not contain control characters";

/// The largest error body [`json_errors`] reads to reword.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// Whether JSON text `bytes` may hold a control character in a string: a `\u` escape, DEL,
/// or a raw C1 character (raw C0 characters are not valid inside JSON strings). A cheap
/// pre-check: `false` means none can be there.
pub fn may_hold_control(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        0x7f => true,
        b'\\' => bytes.get(i + 1) == Some(&b'u'),
        0xc2 => bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
        _ => false,
    })
}

/// A field name for messages: control characters written as JSON escapes.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        printable(key)
    } else {
        format!("{prefix}.{}", printable(key))
    }
}

/// The path (`a.b[2].c`) of the first string (value or key) in `value` that holds a control
/// character, if any. Iterative: the depth of `value` costs no stack.
pub fn control_field(value: &Value) -> Option<String> {
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::String(s) if s.chars().any(char::is_control) => {
                return Some(if path.is_empty() { "body".into() } else { path });
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), item));
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter().rev() {
                    let field = join(&path, k);
                    if k.chars().any(char::is_control) {
                        return Some(field);
                    }
                    stack.push((field, item));
                }
            }
            _ => {}
        }
    }
    None
}

/// 400 naming the field of `value` that holds a control character, if one does.
pub fn check_value(value: &Value) -> Result<(), ApiError> {
    match control_field(value) {
        Some(field) => Err(control_error(&field)),
        None => Ok(()),
    }
}

/// 400 naming the field of JSON text `bytes` that holds a control character, if one does
/// (text that is not JSON passes: its parser words that error).
pub fn check_json_bytes(bytes: &[u8]) -> Result<(), ApiError> {
    if !may_hold_control(bytes) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => check_value(&value),
        Err(_) => Ok(()),
    }
}

/// The 400 for `field`.
pub fn control_error(field: &str) -> ApiError {
    ApiError::BadRequest(format!("{field}: {CONTROL_MESSAGE}"))
}

/// The layer refusing a query string whose decoded names or values hold a control
/// character: 400 naming the parameter.
pub async fn reject_control_queries(req: Request, next: Next) -> Response {
    if let Some(query) = req.uri().query() {
        for (name, value) in form_pairs(query) {
            if name.chars().any(char::is_control) || value.chars().any(char::is_control) {
                return control_error(&printable(&name)).into_response();
            }
        }
    }
    next.run(req).await
}

/// The decoded `name=value` pairs of a query string (`+` is a space, `%XX` a byte; bytes
/// that are not UTF-8 are replaced).
fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(name), percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|h| char::from(*h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The layer making every error response JSON: an error (4xx, 5xx) whose body is not
/// JSON gets `{"detail": <its text, or the status's reason>}`, status and headers kept.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    let body = serde_json::json!({ "detail": detail }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_holding_a_control_character() {
        let v: Value =
            serde_json::from_str(r#"{"a": "ok", "b": [1, {"c": "x\u0000"}], "d": "y\u007f"}"#)
                .unwrap();
        assert_eq!(control_field(&v).as_deref(), Some("b[1].c"));
        let v: Value = serde_json::from_str(r#"{"k\u0001": 1}"#).unwrap();
        assert_eq!(control_field(&v).as_deref(), Some("k\\u0001"));
        let v: Value = serde_json::from_str(r#""\u0085""#).unwrap();
        assert_eq!(control_field(&v).as_deref(), Some("body"));
        let v: Value = serde_json::from_str(r#"{"a": ["é", "\t"]}"#).unwrap();
        assert_eq!(control_field(&v).as_deref(), Some("a[1]"));
        let v: Value = serde_json::from_str(r#"{"a": ["é", " ", "\u00a0"]}"#).unwrap();
        assert_eq!(control_field(&v), None);
    }

    #[test]
    fn the_pre_check_misses_no_control_character() {
        for text in [r#""\u0000""#, "\"\u{7f}\"", "\"\u{85}\"", r#""\u009f""#] {
            assert!(may_hold_control(text.as_bytes()), "{text}");
        }
        // Any `\u` escape takes the full check, even one that is no control character.
        assert!(may_hold_control(br#"["\u00e9"]"#.as_slice()));
        assert!(!may_hold_control("{\"a\": \"é\u{a0}\"}\n\t".as_bytes()));
    }

    #[test]
    fn decodes_query_pairs() {
        let pairs: Vec<_> = form_pairs("a=1&b=x%00y&c+d=e+f&&g&h=%zz").collect();
        assert_eq!(
            pairs,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x\u{0}y".into()),
                ("c d".into(), "e f".into()),
                ("g".into(), String::new()),
                ("h".into(), "%zz".into()),
            ]
        );
    }
}

/// `Json` with the API's error format for bad bodies: 400 naming the field (a control
/// character in any string of the body included, this module), 413, 415.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

/// Whether the request says its body is JSON (`application/json` or `application/*+json`),
/// as axum's `Json` requires.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<AppJson<T>, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| match r.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(r.body_text()),
                _ => ApiError::BadRequest(r.body_text()),
            })?;
        check_json_bytes(&bytes)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(AppJson(value))
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
