//! Paged list responses in Sentry's cursor style.
//!
//! A list route takes `?cursor=LIMIT:PAGE:IS_PREV` (Sentry's offset cursor, whose first
//! number is the page size, at most 100) and `?per_page=N` (1 to 100, default 100: the page
//! size when no cursor names one, as in Sentry's `OffsetPaginator`), and answers one page of
//! the JSON array with a `Link` header holding a `rel="previous"` and a `rel="next"` link,
//! each with `results="true"` or `"false"` and its `cursor`. As in Sentry's
//! `Endpoint.build_cursor_link` (`src/sentry/api/base.py`), a link is absolute — the
//! request's scheme and host, then its path and query without `cursor`, then
//! `&cursor=…` — so a request without a query links to `…/?&cursor=…`:
//!
//! ```text
//! Link: <http://127.0.0.1:8080/api/0/organizations/?&cursor=100:0:1>; rel="previous"; results="false"; cursor="100:0:1",
//!       <http://127.0.0.1:8080/api/0/organizations/?&cursor=100:1:0>; rel="next"; results="true"; cursor="100:1:0"
//! ```
//!
//! The host is the request's (`Host`, or the URI's authority); the scheme is `http` unless
//! `X-Forwarded-Proto: https` says a proxy terminated TLS. Without a usable host the links
//! are relative (`/api/0/…`).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use scopegate_store::Page;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The largest page.
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    per_page: Option<String>,
}

/// The page a list request asks for, and the path to link to.
#[derive(Debug, Clone)]
pub struct Paging {
    /// Items per page.
    pub limit: u32,
    /// Page number, from 0.
    pub page: u32,
    path: String,
}

impl Paging {
    /// The store page: one more row than shown, to know whether a next page exists.
    pub fn store_page(&self) -> Page {
        Page {
            offset: self.limit.saturating_mul(self.page),
            limit: self.limit.saturating_add(1),
        }
    }

    /// Parses a cursor `LIMIT:PAGE:IS_PREV` and a `per_page` (the page size when there is
    /// no cursor); links are relative unless `uri` is absolute (scheme and authority).
    pub fn parse_with(
        cursor: Option<&str>,
        per_page: Option<&str>,
        uri: &Uri,
    ) -> Result<Paging, ApiError> {
        let per_page = match per_page {
            None => MAX_PER_PAGE,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "per_page: must be an integer from 1 to {MAX_PER_PAGE}"
                    ))
                })?,
        };
        let bad = || {
            ApiError::BadRequest(format!(
                "cursor: invalid cursor `{}`",
                cursor.unwrap_or_default()
            ))
        };
        let (limit, page) = match cursor {
            None => (per_page, 0),
            Some(c) => {
                let mut parts = c.split(':');
                let limit: u32 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                let page: u32 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                match parts.next() {
                    None | Some("0") | Some("1") => {}
                    Some(_) => return Err(bad()),
                }
                if parts.next().is_some() || limit == 0 || limit > MAX_PER_PAGE || page > 1_000_000
                {
                    return Err(bad());
                }
                (limit, page)
            }
        };
        // Links keep the other query parameters (`/v1/who-can` filters by them, `per_page`).
        let origin = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => String::new(),
        };
        let query: Vec<&str> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="))
            .collect();
        let path = format!("{origin}{}?{}", uri.path(), query.join("&"));
        Ok(Paging { limit, page, path })
    }

    /// A JSON array response of `items` (fetched with [`Paging::store_page`]) with its
    /// `Link` header.
    pub fn respond<T: Serialize>(&self, mut items: Vec<T>) -> Response {
        let more = items.len() > self.limit as usize;
        items.truncate(self.limit as usize);
        let link = |page: u32, prev: u8, results: bool, rel: &str| {
            let cursor = format!("{}:{page}:{prev}", self.limit);
            format!(
                "<{}&cursor={cursor}>; rel=\"{rel}\"; results=\"{results}\"; cursor=\"{cursor}\"",
                self.path
            )
        };
        let value = format!(
            "{}, {}",
            link(self.page.saturating_sub(1), 1, self.page > 0, "previous"),
            link(self.page.saturating_add(1), 0, more, "next")
        );
        let mut response = Json(items).into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::LINK, v);
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let uri = absolute(parts).unwrap_or_else(|| parts.uri.clone());
        Paging::parse_with(q.cursor.as_deref(), q.per_page.as_deref(), &uri)
    }
}

/// The request's URI made absolute: its scheme (`X-Forwarded-Proto` when `http` or `https`,
/// else `http`) and host (the URI's authority or the `Host` header, when it is a plain
/// `host[:port]`); `None` without a usable host.
fn absolute(parts: &Parts) -> Option<Uri> {
    let host = match parts.uri.authority() {
        Some(a) => a.as_str().to_string(),
        None => parts.headers.get(header::HOST)?.to_str().ok()?.to_string(),
    };
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plain {
        return None;
    }
    let scheme = match parts.uri.scheme_str() {
        Some(s) => s.to_string(),
        None => match parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
        {
            Some("https") => "https".to_string(),
            _ => "http".to_string(),
        },
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("{scheme}://{host}{path_and_query}").parse().ok()
}
