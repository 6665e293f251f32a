//! The layer: every request of the wrapped routes is decided by the engine before its
//! handler runs.
//!
//! # What it guarantees
//!
//! - **Deny by default.** A request whose matched route (axum's [`MatchedPath`]) is not the
//!   `path` of a manifest endpoint is refused with **404** `{"detail": "The requested
//!   resource does not exist"}` — as the service refuses its own unmapped routes, and
//!   without telling a caller that the route exists — counted (`unmapped`) and logged
//!   (`warn`). A request without a matched route (the router's fallback) is refused alike.
//! - **A denial is the decision's answer**: its status, Sentry's `{"detail": …}` text
//!   ([`Reason::detail`]) and, for `insufficient_scope`, the `WWW-Authenticate` challenge —
//!   the bodies and headers `scopegate serve` answers its own API with.
//! - **Fail closed.** A [`WorldSource`] error or a resolver that cannot answer is **503**
//!   `{"detail": …}` with `Retry-After`, counted and logged (`error`); never an allow.
//! - **An allowed request carries its decision**: [`Authorized`] in the request extensions.
//!
//! Apply it with `Router::route_layer` (or `Router::layer`, which also guards the fallback:
//! unmatched requests are then refused 404 by the layer).

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use rustc_hash::FxHashMap;
use scopegate_core::{Manifest, Method, Policy, Principal, Reason, Request};
use tower::{Layer, Service};

use crate::metrics::{Counter, Metrics};
use crate::resolver::{PrincipalResolver, ResolveError};
use crate::source::{DecisionContext, SourceError, Verdict, WorldSource};

/// The `Retry-After` of a 503 (seconds), as the service sends it.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The names of the path parameters that name the request's objects. Sentry's names by
/// default (`organization_id_or_slug`, `project_id_or_slug`, `team_id_or_slug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParams {
    /// The organization's parameter.
    pub organization: String,
    /// The project's parameter.
    pub project: String,
    /// The team's parameter.
    pub team: String,
}

impl Default for PathParams {
    fn default() -> Self {
        PathParams {
            organization: "organization_id_or_slug".into(),
            project: "project_id_or_slug".into(),
            team: "team_id_or_slug".into(),
        }
    }
}

/// The decision of an allowed request, in its extensions (`Extension<Authorized>`).
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The request as decided (principal, endpoint, method, objects).
    pub request: Request,
    /// The source's verdict (always allowed here).
    pub verdict: Verdict,
}

/// What every clone of the layer and its services shares.
struct Shared {
    policy: Arc<Policy>,
    manifest: Arc<Manifest>,
    /// Endpoint name by route path (the manifest's `path`, verbatim). Fx-hashed: the keys
    /// are the manifest's and the looked-up value axum's matched route template, never
    /// text a client chose.
    endpoints: FxHashMap<String, String>,
    source: Arc<dyn WorldSource>,
    resolver: Arc<dyn PrincipalResolver>,
    params: PathParams,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn context(&self) -> DecisionContext<'_> {
        DecisionContext {
            policy: &self.policy,
            manifest: &self.manifest,
        }
    }
}

/// The [`tower::Layer`] that authorizes requests with scopegate.
#[derive(Clone)]
pub struct ScopegateLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ScopegateLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopegateLayer")
            .field("policy", &self.shared.policy.name)
            .field("endpoints", &self.shared.endpoints.len())
            .finish_non_exhaustive()
    }
}

impl ScopegateLayer {
    /// A layer deciding with `policy` and `manifest` (compiled against it) over `source`,
    /// for the principals `resolver` finds. Routes are matched to endpoints by the
    /// manifest's `path`, which must be the axum route path verbatim (`/{param}` syntax).
    pub fn new(
        policy: Arc<Policy>,
        manifest: Arc<Manifest>,
        source: impl WorldSource,
        resolver: impl PrincipalResolver,
    ) -> ScopegateLayer {
        let endpoints = manifest
            .endpoints
            .iter()
            .filter_map(|e| Some((e.path.clone()?, e.name.clone())))
            .collect();
        ScopegateLayer {
            shared: Arc::new(Shared {
                policy,
                manifest,
                endpoints,
                source: Arc::new(source),
                resolver: Arc::new(resolver),
                params: PathParams::default(),
                metrics: Arc::default(),
            }),
        }
    }

    /// Reads the request's objects from path parameters named `params`.
    #[must_use]
    pub fn with_path_params(mut self, params: PathParams) -> ScopegateLayer {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.params = params;
        } else {
            let s = &self.shared;
            self.shared = Arc::new(Shared {
                policy: s.policy.clone(),
                manifest: s.manifest.clone(),
                endpoints: s.endpoints.clone(),
                source: s.source.clone(),
                resolver: s.resolver.clone(),
                params,
                metrics: s.metrics.clone(),
            });
        }
        self
    }

    /// The layer's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }
}

impl<S> Layer<S> for ScopegateLayer {
    type Service = ScopegateService<S>;

    fn layer(&self, inner: S) -> ScopegateService<S> {
        ScopegateService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`ScopegateLayer`] around `S`.
#[derive(Clone)]
pub struct ScopegateService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for ScopegateService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopegateService").finish_non_exhaustive()
    }
}

impl<S> Service<axum::extract::Request> for ScopegateService<S>
where
    S: Service<axum::extract::Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone is kept.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = match prepare(&self.shared, req) {
            Err(refusal) => State::Refused {
                response: Some(refusal),
            },
            // The resolver and the source answered at once (in-process): no allocation
            // for the future, the handler's future is returned as it is.
            Ok(Prepared::Now(Ok(req))) => State::Inner {
                future: inner.call(req),
            },
            Ok(Prepared::Now(Err(refusal))) => State::Refused {
                response: Some(refusal),
            },
            Ok(Prepared::Later(pending)) => {
                let shared = self.shared.clone();
                State::Waiting {
                    future: Box::pin(async move {
                        match pending.finish(&shared).await {
                            Ok(req) => inner.call(req).await,
                            Err(refusal) => Ok(*refusal),
                        }
                    }),
                }
            }
        };
        ResponseFuture { state }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ScopegateService`]: the handler's own future when the decision was
    /// made at once, the refusal, or (a source or resolver that waits) a boxed future.
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        Inner { #[pin] future: F },
        Refused { response: Option<Refusal> },
        Waiting { future: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>> },
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(*r)),
                // Polled again after it answered: the response is gone.
                None => Poll::Ready(Ok(*unavailable())),
            },
            StateProj::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

/// What [`prepare`] leaves to do.
enum Prepared {
    /// Decided at once: the request to pass on (with [`Authorized`]) or the refusal.
    Now(Result<axum::extract::Request, Refusal>),
    /// The resolver or the source must be awaited.
    Later(Pending),
}

/// A request whose principal or verdict is awaited.
struct Pending {
    parts: Parts,
    body: Body,
    request: Request,
    /// Whether `request.principal` is the resolver's answer already.
    resolved: bool,
}

impl Pending {
    /// Awaits the resolver (unless it answered) and the source.
    async fn finish(mut self, shared: &Shared) -> Result<axum::extract::Request, Refusal> {
        if !self.resolved {
            let resolved = shared.resolver.resolve(&self.parts).await;
            self.request.principal = principal(shared, &self.request.endpoint, resolved)?;
        }
        let cx = shared.context();
        let decided = match shared.source.decide_now(cx, &self.request) {
            Some(d) => d,
            None => shared.source.decide(cx, &self.request).await,
        };
        admit(shared, self.parts, self.body, self.request, decided)
    }
}

/// Everything the layer decides before awaiting anything: the endpoint, the method, the
/// objects; then the principal and the verdict when the resolver and the source answer at
/// once ([`PrincipalResolver::resolve_now`], [`WorldSource::decide_now`]).
fn prepare(shared: &Shared, req: axum::extract::Request) -> Result<Prepared, Refusal> {
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| shared.endpoints.get(m.as_str()));
    let Some(endpoint) = endpoint.cloned() else {
        shared.metrics.inc(Counter::Unmapped);
        tracing::warn!(
            method = %req.method(),
            route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str),
            "scopegate: refused a request whose route has no manifest endpoint (deny by default)"
        );
        return Err(refusal(
            StatusCode::NOT_FOUND,
            Reason::NotFound.detail(),
            None,
        ));
    };
    let Ok(method) = Method::from_str(req.method().as_str()) else {
        shared.metrics.inc(Counter::Denied);
        return Err(refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("Method \"{}\" not allowed.", req.method()),
            None,
        ));
    };
    let (mut parts, body) = req.into_parts();
    let params = path_params(&mut parts);
    let param = |name: &str| {
        params.as_ref().and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    let mut request = Request {
        principal: Principal::Anonymous,
        endpoint,
        method,
        organization: param(&shared.params.organization),
        project: param(&shared.params.project),
        team: param(&shared.params.team),
    };
    let Some(resolved) = shared.resolver.resolve_now(&parts) else {
        return Ok(Prepared::Later(Pending {
            parts,
            body,
            request,
            resolved: false,
        }));
    };
    request.principal = match principal(shared, &request.endpoint, resolved) {
        Ok(p) => p,
        Err(refusal) => return Ok(Prepared::Now(Err(refusal))),
    };
    Ok(match shared.source.decide_now(shared.context(), &request) {
        Some(decided) => Prepared::Now(admit(shared, parts, body, request, decided)),
        None => Prepared::Later(Pending {
            parts,
            body,
            request,
            resolved: true,
        }),
    })
}

/// The request's path parameters as axum matched them (percent-decoded: what the
/// handler's extractors read). `None` when there are none or one is not UTF-8: the
/// request then names no object, and the engine decides so.
fn path_params(parts: &mut Parts) -> Option<RawPathParams> {
    // The extractor's future reads the request's extensions and never waits: one poll.
    let future = std::pin::pin!(RawPathParams::from_request_parts(parts, &()));
    match future.poll(&mut Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(params) => params.ok(),
        Poll::Pending => None,
    }
}

/// The principal, or the refusal of a resolver that refused or failed.
fn principal(
    shared: &Shared,
    endpoint: &str,
    resolved: Result<Principal, ResolveError>,
) -> Result<Principal, Refusal> {
    resolved.map_err(|e| {
        shared.metrics.inc(Counter::ResolverFailure);
        match e {
            ResolveError::Invalid(detail) => {
                refusal(StatusCode::UNAUTHORIZED, &detail, Some("Bearer"))
            }
            ResolveError::Forbidden(detail) => refusal(StatusCode::FORBIDDEN, &detail, None),
            ResolveError::Unavailable(why) => {
                tracing::error!(error = %why, endpoint,
                    "scopegate: the principal resolver failed; refusing (fail closed)");
                unavailable()
            }
        }
    })
}

/// The request to pass on, with [`Authorized`], when `decided` allows it; else the
/// refusal (the decision's answer, or 503 for a source that failed).
fn admit(
    shared: &Shared,
    mut parts: Parts,
    body: Body,
    request: Request,
    decided: Result<Verdict, SourceError>,
) -> Result<axum::extract::Request, Refusal> {
    let verdict = match decided {
        Ok(v) => v,
        Err(e) => {
            shared.metrics.inc(Counter::SourceFailure);
            log_source_failure(&e, &request.endpoint);
            return Err(unavailable());
        }
    };
    if !verdict.allowed() {
        shared.metrics.inc(Counter::Denied);
        tracing::debug!(endpoint = %request.endpoint, reason = verdict.reason.as_str(),
            "scopegate: denied");
        let status = StatusCode::from_u16(verdict.status).unwrap_or(StatusCode::FORBIDDEN);
        return Err(refusal(
            status,
            verdict.reason.detail(),
            verdict.challenge.as_deref(),
        ));
    }
    shared.metrics.inc(Counter::Allowed);
    parts.extensions.insert(Authorized { request, verdict });
    Ok(axum::extract::Request::from_parts(parts, body))
}

fn log_source_failure(e: &SourceError, endpoint: &str) {
    tracing::error!(error = %e, endpoint,
        "scopegate: the world source failed; refusing (fail closed)");
}

/// 503 with `Retry-After`: the decision could not be made.
fn unavailable() -> Refusal {
    let mut r = refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "Authorization is temporarily unavailable",
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    r
}

/// A refused request's answer, boxed: the allowed path carries no response-sized error.
type Refusal = Box<Response>;

/// A refusal: `status`, `{"detail": detail}` and the optional `WWW-Authenticate` value.
fn refusal(status: StatusCode, detail: &str, challenge: Option<&str>) -> Refusal {
    let body = serde_json::json!({ "detail": detail }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    Box::new(r)
}
