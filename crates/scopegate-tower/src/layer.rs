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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use scopegate_core::{Manifest, Method, Policy, Reason, Request};
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
    /// Endpoint name by route path (the manifest's `path`, verbatim).
    endpoints: HashMap<String, String>,
    source: Arc<dyn WorldSource>,
    resolver: Arc<dyn PrincipalResolver>,
    params: PathParams,
    metrics: Arc<Metrics>,
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
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone is kept.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            match authorize(&shared, req).await {
                Ok(req) => inner.call(req).await,
                Err(refusal) => Ok(refusal),
            }
        })
    }
}

/// Decides `req`: the request to pass on (with [`Authorized`]) or the refusal to answer.
async fn authorize(
    shared: &Shared,
    req: axum::extract::Request,
) -> Result<axum::extract::Request, Response> {
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
    let params = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok();
    let param = |name: &str| {
        params.as_ref().and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    let organization = param(&shared.params.organization);
    let project = param(&shared.params.project);
    let team = param(&shared.params.team);
    let principal = match shared.resolver.resolve(&parts).await {
        Ok(p) => p,
        Err(e) => {
            shared.metrics.inc(Counter::ResolverFailure);
            return Err(match e {
                ResolveError::Invalid(detail) => {
                    refusal(StatusCode::UNAUTHORIZED, &detail, Some("Bearer"))
                }
                ResolveError::Forbidden(detail) => refusal(StatusCode::FORBIDDEN, &detail, None),
                ResolveError::Unavailable(why) => {
                    tracing::error!(error = %why, endpoint = %endpoint,
                        "scopegate: the principal resolver failed; refusing (fail closed)");
                    unavailable()
                }
            });
        }
    };
    let request = Request {
        principal,
        endpoint,
        method,
        organization,
        project,
        team,
    };
    let cx = DecisionContext {
        policy: &shared.policy,
        manifest: &shared.manifest,
    };
    let verdict = match shared.source.decide(cx, &request).await {
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
fn unavailable() -> Response {
    let mut r = refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "Authorization is temporarily unavailable",
        None,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    r
}

/// A refusal: `status`, `{"detail": detail}` and the optional `WWW-Authenticate` value.
fn refusal(status: StatusCode, detail: &str, challenge: Option<&str>) -> Response {
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
    r
}
