//! Paged list responses in Sentry's cursor style.
//!
//! A list route takes `?cursor=LIMIT:PAGE:IS_PREV` (Sentry's offset cursor; default
//! `100:0:0`, `LIMIT` at most 100) and answers one page of the JSON array with a `Link`
//! header holding a `rel="previous"` and a `rel="next"` link, each with `results="true"` or
//! `"false"` and its `cursor`, as Sentry does:
//!
//! ```text
//! Link: </api/0/organizations/?cursor=100:0:1>; rel="previous"; results="false"; cursor="100:0:1",
//!       </api/0/organizations/?cursor=100:1:0>; rel="next"; results="true"; cursor="100:1:0"
//! ```

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

    /// Parses a cursor `LIMIT:PAGE:IS_PREV`.
    pub fn parse(cursor: Option<&str>, uri: &Uri) -> Result<Paging, ApiError> {
        let bad = || {
            ApiError::BadRequest(format!(
                "cursor: invalid cursor `{}`",
                cursor.unwrap_or_default()
            ))
        };
        let (limit, page) = match cursor {
            None => (MAX_PER_PAGE, 0),
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
        // Links keep the other query parameters (`/v1/who-can` filters by them).
        let mut path = uri.path().to_string();
        path.push('?');
        for pair in uri.query().unwrap_or_default().split('&') {
            if !pair.is_empty() && !pair.starts_with("cursor=") {
                path.push_str(pair);
                path.push('&');
            }
        }
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
                "<{}cursor={cursor}>; rel=\"{rel}\"; results=\"{results}\"; cursor=\"{cursor}\"",
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
        Paging::parse(q.cursor.as_deref(), &parts.uri)
    }
}
