//! [`RemoteSource`]: decisions made by a scopegate service (`scopegate serve`) over HTTP.
//!
//! Each request is sent to the service's `POST /v1/check` (`docs/wire.md` §5) with a
//! service token (`Authorization: Bearer …`); the service decides it over its own index and
//! manifest and answers a decision, `"revision"` first. The application's manifest and the
//! service's decision manifest (`serve --decision-manifest`) must be the same document: the
//! layer maps routes with its own, the service decides with its.
//!
//! # Cache
//!
//! Answers are kept in a bounded cache ([`RemoteOptions::cache_entries`], `quick_cache`)
//! for at most [`RemoteOptions::cache_ttl`], keyed by the full request as sent (principal,
//! endpoint, method, objects: two requests share an entry only when the service would read
//! the same thing). Each entry remembers the store revision it was decided at.
//!
//! # Revisions (read-your-writes)
//!
//! The source holds a **minimum revision** the application raises after its own writes
//! ([`RemoteSource::raise_min_revision`], or [`RemoteSource::observe`] with the
//! `X-Scopegate-Revision` header of a management API response). An entry decided before it
//! is not used, and every request sent names it (`X-Scopegate-At-Least-Revision`): the
//! service then decides at that revision or later, or answers 503 when its index is behind
//! (`docs/consistency.md`).
//!
//! # Failing closed
//!
//! The service unreachable, no answer within [`RemoteOptions::timeout`], a non-2xx answer
//! (503 when the service is behind the minimum revision included), or a body that is not a
//! consistent decision at the revision asked for: [`SourceError::Remote`], which the layer
//! answers 503 and logs once (`error`, the URL and what went wrong; never the token).
//! Each failure is counted by kind ([`RemoteMetrics`]). Failures are not cached.
//!
//! Plain `http://` only (the client has no TLS): reach the service on a private network,
//! loopback, or through a TLS-terminating sidecar.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request as HttpRequest, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scopegate_core::codec::RequestJson;
use scopegate_core::{Reason, Request};
use serde::Deserialize;

use crate::metrics::{RemoteCounter, RemoteMetrics};
use crate::source::{DecisionContext, SourceError, Verdict, WorldSource};

/// The header naming the revision a `/v1/` decision must be made at or after.
pub const AT_LEAST_REVISION_HEADER: &str = "x-scopegate-at-least-revision";

/// The header of a scopegate response naming the revision it reflects.
pub const REVISION_HEADER: &str = "x-scopegate-revision";

/// The largest decision body read from the service, in bytes (a decision is ~200).
const MAX_BODY: usize = 64 * 1024;

/// How a [`RemoteSource`] talks to the service and caches its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteOptions {
    /// The longest a decision may take, connection and body included (3 s by default:
    /// above the service's default `--revision-wait` of 2 s, so that a request naming a
    /// revision gets the service's own answer rather than a timeout).
    pub timeout: Duration,
    /// The most decisions kept (10,000 by default).
    pub cache_entries: usize,
    /// How long a cached decision is used (2 s by default): the longest a change (a revoked
    /// token, a removed member) may go unseen by a request whose answer is cached, on top
    /// of the service's own delay. `Duration::ZERO` turns the cache off.
    pub cache_ttl: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(3),
            cache_entries: 10_000,
            cache_ttl: Duration::from_secs(2),
        }
    }
}

/// A service URL or token the source cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteConfigError {
    /// Not an absolute `http://host[:port][/prefix]` URL.
    #[error("remote source URL `{url}`: {why}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A service token that cannot be sent in a header.
    #[error("the service token is not a valid header value (empty, or control characters)")]
    Token,
}

/// One cached answer.
#[derive(Debug, Clone)]
struct Cached {
    verdict: Verdict,
    /// The store revision the service decided at.
    revision: u64,
    /// When it was received.
    at: Instant,
}

/// A [`WorldSource`] that asks a scopegate service (see the [module docs](self)).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use axum::{http::request::Parts, routing::get, Router};
/// use scopegate_core::{Manifest, Policy, Principal, Source, Superuser};
/// use scopegate_tower::{bearer, PrincipalResolver, ResolveError, ScopegateLayer};
/// use scopegate_tower::{RemoteOptions, RemoteSource};
///
/// /// The application's sessions: a bearer `u<id>` is user `id` (a stand-in).
/// struct Sessions;
///
/// #[async_trait::async_trait]
/// impl PrincipalResolver for Sessions {
///     async fn resolve(&self, parts: &Parts) -> Result<Principal, ResolveError> {
///         let Some(secret) = bearer(&parts.headers)? else { return Ok(Principal::Anonymous) };
///         let user = secret.strip_prefix('u').and_then(|id| id.parse().ok())
///             .ok_or_else(|| ResolveError::Invalid("Invalid token".into()))?;
///         Ok(Principal::Session { user, superuser: Superuser::None, staff: false, sso_ok: true })
///     }
/// }
///
/// const MANIFEST: &str = r#"
///     [permissions.OrganizationPermission]
///     object = "organization"
///     scope_map = { GET = ["org:read"] }
///     [[endpoints]]
///     name = "OrganizationDetailsEndpoint"
///     path = "/api/0/organizations/{organization_id_or_slug}/"
///     permissions = ["OrganizationPermission"]
/// "#;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # // A scopegate service (`scopegate serve --decision-manifest manifest.toml`) on a
/// # // loopback port, over a SQLite store holding one organization and a service token.
/// # let dir = tempfile::tempdir()?;
/// # let db = format!("sqlite://{}", dir.path().join("scopegate.db").display());
/// # let store = scopegate_store::connect(&db).await?;
/// # let world: scopegate_core::WorldDoc = serde_json::from_str(
/// #     r#"{"organizations": [{"id": 1, "slug": "acme"}], "users": [{"id": 10}, {"id": 11}],
/// #         "members": [{"id": 100, "organization": 1, "user": 10, "role": "member"}]}"#)?;
/// # let system = scopegate_store::Actor::system();
/// # store.import_world(&world, &Policy::sentry(), &system).await?;
/// # let (_, secret) = store.create_token(&scopegate_store::NewToken {
/// #     kind: scopegate_store::TokenKind::Service, user_id: None, organization_id: None,
/// #     name: None, scopes: Vec::new() }, &system).await?;
/// # let service_token = secret.expose().to_string();
/// # let decisions = Manifest::load(&Source::new("manifest.toml", MANIFEST), &Policy::sentry())
/// #     .map_err(|d| d.to_string())?;
/// # let state = scopegate_server::AppState::new(store, Policy::sentry())?
/// #     .with_decision_manifest(decisions);
/// # state.load_index().await?;
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let scopegate_url = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(scopegate_server::serve(listener, state, std::future::pending()));
/// let policy = Arc::new(Policy::sentry());
/// let manifest = Manifest::load(&Source::new("manifest.toml", MANIFEST), &policy)
///     .map_err(|d| d.to_string())?;
/// // The service decides with the same manifest (`scopegate serve --decision-manifest`).
/// let remote = Arc::new(RemoteSource::new(&scopegate_url, &service_token, RemoteOptions::default())?);
/// let layer = ScopegateLayer::new(policy, Arc::new(manifest), remote.clone(), Sessions);
/// let app: Router = Router::new()
///     .route("/api/0/organizations/{organization_id_or_slug}/", get(|| async { "acme" }))
///     .route_layer(layer);
///
/// use tower::ServiceExt;
/// let ask = |token: &str| {
///     axum::http::Request::get("/api/0/organizations/acme/")
///         .header("authorization", format!("Bearer {token}"))
///         .body(axum::body::Body::empty())
/// };
/// assert_eq!(app.clone().oneshot(ask("u10")?).await?.status(), 200); // a member
/// assert_eq!(app.clone().oneshot(ask("u11")?).await?.status(), 403); // not a member
/// assert_eq!(app.oneshot(ask("u10")?).await?.status(), 200); // from the cache
/// assert_eq!(remote.metrics().snapshot().cache_hits, 1);
///
/// // After a write through scopegate's management API, its `X-Scopegate-Revision`:
/// // the next decisions are made at that revision or later.
/// # let mut write_response = axum::http::HeaderMap::new();
/// # write_response.insert("x-scopegate-revision", 1.into());
/// remote.observe(&write_response);
/// # assert_eq!(remote.min_revision(), 1);
/// # Ok(())
/// # }
/// ```
pub struct RemoteSource {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `<base>/v1/check`.
    check: Uri,
    /// `Bearer <service token>`, marked sensitive.
    authorization: HeaderValue,
    options: RemoteOptions,
    cache: quick_cache::sync::Cache<Box<[u8]>, Cached>,
    min_revision: AtomicU64,
    metrics: Arc<RemoteMetrics>,
}

impl std::fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("RemoteSource")
            .field("check", &self.check)
            .field("options", &self.options)
            .field("min_revision", &self.min_revision())
            .finish_non_exhaustive()
    }
}

impl RemoteSource {
    /// A source asking the service at `base_url` (`http://host:port`, optionally with a
    /// path prefix) with the service token `service_token` (`scopegate token create
    /// --service`). Checks the URL only: nothing is sent before the first decision.
    pub fn new(
        base_url: &str,
        service_token: &str,
        options: RemoteOptions,
    ) -> Result<RemoteSource, RemoteConfigError> {
        let check = check_uri(base_url)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {service_token}"))
            .map_err(|_| RemoteConfigError::Token)?;
        if service_token.trim().is_empty() {
            return Err(RemoteConfigError::Token);
        }
        authorization.set_sensitive(true);
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(RemoteSource {
            client,
            check,
            authorization,
            options,
            cache: quick_cache::sync::Cache::new(options.cache_entries.max(1)),
            min_revision: AtomicU64::new(0),
            metrics: Arc::default(),
        })
    }

    /// Raises the minimum revision to `revision` (never lowers it): from now on, no answer
    /// decided before `revision` is used, and every request sent names it.
    pub fn raise_min_revision(&self, revision: u64) {
        self.min_revision.fetch_max(revision, Ordering::AcqRel);
    }

    /// Raises the minimum revision to the `X-Scopegate-Revision` of `headers` (a
    /// scopegate management API response, after a write), when it has one.
    pub fn observe(&self, headers: &HeaderMap) {
        let revision = headers
            .get(REVISION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let Some(revision) = revision {
            self.raise_min_revision(revision);
        }
    }

    /// The minimum revision now.
    pub fn min_revision(&self) -> u64 {
        self.min_revision.load(Ordering::Acquire)
    }

    /// The source's counters.
    pub fn metrics(&self) -> Arc<RemoteMetrics> {
        self.metrics.clone()
    }

    /// Asks the service; on failure, counts it and says what went wrong.
    async fn ask(&self, body: Vec<u8>, min: u64) -> Result<(Verdict, u64), SourceError> {
        self.metrics.inc(RemoteCounter::Request);
        let fail = |counter: RemoteCounter, what: String| {
            self.metrics.inc(counter);
            SourceError::Remote(format!("POST {}: {what}", self.check))
        };
        let mut req = HttpRequest::new(Full::new(Bytes::from(body)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.check.clone();
        let headers = req.headers_mut();
        headers.insert(header::AUTHORIZATION, self.authorization.clone());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if min > 0 {
            headers.insert(AT_LEAST_REVISION_HEADER, HeaderValue::from(min));
        }
        let exchange = async {
            let response = self.client.request(req).await?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes);
            Ok::<_, hyper_util::client::legacy::Error>((parts, bytes))
        };
        let (parts, bytes) = match tokio::time::timeout(self.options.timeout, exchange).await {
            Err(_) => {
                return Err(fail(
                    RemoteCounter::Timeout,
                    format!("no answer within {} ms", self.options.timeout.as_millis()),
                ))
            }
            Ok(Err(e)) if e.is_connect() => {
                return Err(fail(
                    RemoteCounter::Unreachable,
                    format!("cannot connect: {}", source_chain(&e)),
                ))
            }
            Ok(Err(e)) => {
                return Err(fail(
                    RemoteCounter::Unreachable,
                    format!("the exchange failed: {}", source_chain(&e)),
                ))
            }
            Ok(Ok(answer)) => answer,
        };
        let bytes = bytes.map_err(|e| {
            fail(
                RemoteCounter::Body,
                format!("cannot read the answer's body: {e}"),
            )
        })?;
        let status = parts.status;
        if !status.is_success() {
            let detail = detail_of(&bytes);
            if status.as_u16() == 503 && min > 0 {
                return Err(fail(
                    RemoteCounter::Behind,
                    format!("503, the service is behind revision {min}: {detail}"),
                ));
            }
            return Err(fail(RemoteCounter::Status, format!("{status}: {detail}")));
        }
        let (verdict, revision) = parse_decision(&bytes).map_err(|why| {
            fail(
                RemoteCounter::Body,
                format!("{status} with an unusable decision: {why}"),
            )
        })?;
        if revision < min {
            return Err(fail(
                RemoteCounter::Body,
                format!("decided at revision {revision}, below the minimum {min}"),
            ));
        }
        Ok((verdict, revision))
    }
}

#[async_trait]
impl WorldSource for RemoteSource {
    async fn decide(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Result<Verdict, SourceError> {
        let body = serde_json::to_vec(&RequestJson::<()> {
            request,
            policy: cx.policy,
            principal: None,
        })
        .map_err(|e| SourceError::Remote(format!("cannot encode the request: {e}")))?;
        let min = self.min_revision();
        let caching = !self.options.cache_ttl.is_zero();
        if caching {
            if let Some(hit) = self.cache.get(body.as_slice()) {
                if hit.revision >= min && hit.at.elapsed() < self.options.cache_ttl {
                    self.metrics.inc(RemoteCounter::CacheHit);
                    return Ok(hit.verdict);
                }
            }
        }
        let (verdict, revision) = self.ask(body.clone(), min).await?;
        if caching {
            self.cache.insert(
                body.into_boxed_slice(),
                Cached {
                    verdict: verdict.clone(),
                    revision,
                    at: Instant::now(),
                },
            );
        }
        Ok(verdict)
    }
}

/// `<base>/v1/check`, for an absolute `http://` base URL without credentials, query or
/// fragment.
fn check_uri(base: &str) -> Result<Uri, RemoteConfigError> {
    let bad = |why| RemoteConfigError::Url {
        url: without_credentials(base),
        why,
    };
    let uri: Uri = base
        .parse()
        .map_err(|_| bad("not a URL (expected http://host:port)"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad(
                "https is not supported (no TLS client): use http:// on a private network or through a TLS-terminating sidecar",
            ))
        }
        _ => return Err(bad("expected an http:// URL")),
    }
    let Some(authority) = uri.authority() else {
        return Err(bad("no host"));
    };
    if authority.as_str().contains('@') {
        return Err(bad(
            "credentials in the URL are not allowed: pass the service token",
        ));
    }
    if uri.query().is_some() || base.contains('#') {
        return Err(bad("a query or fragment is not allowed"));
    }
    let prefix = uri.path().trim_end_matches('/');
    format!("http://{authority}{prefix}/v1/check")
        .parse()
        .map_err(|_| bad("not a URL (expected http://host:port)"))
}

/// `url` with the credentials of its authority (`user:password@`), if any, masked: an
/// error message must not carry them.
fn without_credentials(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..).unwrap_or_default();
    let authority = rest
        .find('/')
        .map_or(rest, |end| rest.get(..end).unwrap_or(rest));
    match authority.rfind('@') {
        Some(at) => format!(
            "{}***{}",
            url.get(..start).unwrap_or_default(),
            rest.get(at..).unwrap_or_default()
        ),
        None => url.to_string(),
    }
}

/// The `detail` of a JSON error body, shortened; or the body's size.
fn detail_of(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Detail {
        detail: String,
    }
    match serde_json::from_slice::<Detail>(body) {
        Ok(d) => {
            let mut detail: String = d.detail.chars().take(200).collect();
            if detail.len() < d.detail.len() {
                detail.push('…');
            }
            format!("{detail:?}")
        }
        Err(_) => format!("a body of {} bytes without a JSON detail", body.len()),
    }
}

/// A decision of the service (`docs/wire.md` §4, §5): the verdict and its revision. The
/// fields must agree (`allowed` only with `allowed`, the reason's status), else the body
/// is refused.
fn parse_decision(body: &[u8]) -> Result<(Verdict, u64), String> {
    #[derive(Deserialize)]
    struct DecisionBody {
        revision: Option<u64>,
        allowed: bool,
        status: u16,
        reason: String,
        challenge: Option<String>,
    }
    let d: DecisionBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let reason =
        Reason::from_code(&d.reason).ok_or_else(|| format!("unknown reason `{}`", d.reason))?;
    if d.allowed != (reason == Reason::Allowed) {
        return Err(format!(
            "`allowed` is {} with reason `{}`",
            d.allowed, d.reason
        ));
    }
    if d.status != reason.status() {
        return Err(format!(
            "status {} with reason `{}` (expected {})",
            d.status,
            d.reason,
            reason.status()
        ));
    }
    let revision = d.revision.ok_or("no `revision`")?;
    Ok((
        Verdict {
            reason,
            status: d.status,
            challenge: d.challenge,
            grant: None,
        },
        revision,
    ))
}

/// An error and its sources, `a: b: c` (hyper's errors say little at the top).
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_url_is_built_from_the_base_and_bad_urls_are_refused() {
        let uri = |u: &str| check_uri(u).map(|u| u.to_string());
        assert_eq!(
            uri("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080/v1/check")
        );
        assert_eq!(
            uri("http://authz.internal/scopegate/").as_deref(),
            Ok("http://authz.internal/scopegate/v1/check")
        );
        for bad in [
            "https://authz.internal",
            "http://user:secret@authz.internal",
            "authz.internal:8080",
            "http://authz.internal/?x=1",
            "not a url",
        ] {
            assert!(
                matches!(check_uri(bad), Err(RemoteConfigError::Url { .. })),
                "{bad}"
            );
        }
        let message = check_uri("http://user:secret@h/p").unwrap_err().to_string();
        assert!(message.contains("`http://***@h/p`"), "{message}");
        assert_eq!(without_credentials("h@x"), "***@x");
    }

    #[test]
    fn a_decision_body_must_be_consistent() {
        let ok =
            br#"{"revision": 4, "allowed": false, "status": 403, "reason": "insufficient_scope",
            "grant": null, "missing_scopes": ["org:write"], "challenge": "Bearer x"}"#;
        let (v, rev) = parse_decision(ok).unwrap();
        assert_eq!(
            (v.reason, v.status, rev),
            (Reason::InsufficientScope, 403, 4)
        );
        assert_eq!(v.challenge.as_deref(), Some("Bearer x"));
        for bad in [
            &br#"{"revision": 4, "allowed": true, "status": 403, "reason": "not_a_member"}"#[..],
            br#"{"revision": 4, "allowed": false, "status": 200, "reason": "not_a_member"}"#,
            br#"{"revision": 4, "allowed": true, "status": 200, "reason": "granted"}"#,
            br#"{"allowed": true, "status": 200, "reason": "allowed"}"#,
            b"<html>",
        ] {
            assert!(
                parse_decision(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn an_error_detail_is_shortened() {
        let long = format!(r#"{{"detail": "{}"}}"#, "x".repeat(500));
        assert!(detail_of(long.as_bytes()).chars().count() < 210);
        assert_eq!(
            detail_of(b"oops"),
            "a body of 4 bytes without a JSON detail"
        );
    }
}
