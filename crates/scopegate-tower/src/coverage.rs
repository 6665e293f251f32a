//! Route coverage: Sentry's CI test, generalised to any axum router.
//!
//! Sentry's test walks Django's URL patterns and fails when an API endpoint has no
//! permission declared. axum has no public listing of a router's routes, so routes are
//! registered through a [`RouteRecorder`], which builds the `Router` *and* remembers each
//! path with its `MethodRouter`. [`RecordedRoutes::methods`] then finds each route's methods
//! by probing a copy of its `MethodRouter` whose handlers are replaced by a probe (axum
//! answers 405 for a method the route lacks, before any layer or handler): no handler
//! runs.
//!
//! [`coverage`] compares the routes with the manifest and reports:
//!
//! - every route path with no manifest endpoint (the layer refuses them: 404),
//! - every routed method that no permission class of its endpoint maps to a scope,
//! - every manifest endpoint whose `path` is routed by nothing (or that has no `path`),
//! - every mutation admitting a read-only scope without a note: `scopegate-lint`'s rule
//!   SG001 over the same manifest text (the rule itself, not a copy).
//!
//! [`Coverage::assert_clean`] is the test helper.

use std::fmt;
use std::str::FromStr;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;
use scopegate_core::{Manifest, Method, Policy, Source};
use scopegate_lint::{lint_text, Finding, Options};
use tower::ServiceExt;

/// The methods probed on every route (`HEAD` is served by `GET` in axum).
const PROBED: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The header a probe answers with.
const PROBE_HEADER: &str = "x-scopegate-route-probe";

/// An axum [`Router`] built through a recorder that remembers every route.
///
/// ```
/// use axum::routing::get;
/// let (router, routes) = scopegate_tower::RouteRecorder::<()>::new()
///     .route("/api/0/organizations/{organization_id_or_slug}/", get(|| async { "" }))
///     .finish();
/// # let _: axum::Router = router;
/// # let _ = routes;
/// ```
#[derive(Debug)]
pub struct RouteRecorder<S = ()> {
    router: Router<S>,
    routes: Vec<(String, MethodRouter<S>)>,
}

impl<S: Clone + Send + Sync + 'static> Default for RouteRecorder<S> {
    fn default() -> Self {
        RouteRecorder::new()
    }
}

impl<S: Clone + Send + Sync + 'static> RouteRecorder<S> {
    /// An empty router.
    pub fn new() -> Self {
        RouteRecorder {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// [`Router::route`], remembered.
    #[must_use]
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.routes.push((path.to_string(), method_router.clone()));
        self.router = self.router.route(path, method_router);
        self
    }

    /// The router (add layers, state, fallbacks to it as usual) and the recorded routes.
    pub fn finish(self) -> (Router<S>, RecordedRoutes<S>) {
        (
            self.router,
            RecordedRoutes {
                routes: self.routes,
            },
        )
    }
}

/// One route method.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteMethod {
    /// The axum route path (`/{param}` syntax).
    pub path: String,
    /// The method, upper case.
    pub method: String,
}

/// The routes a [`RouteRecorder`] registered.
#[derive(Debug, Clone)]
pub struct RecordedRoutes<S = ()> {
    routes: Vec<(String, MethodRouter<S>)>,
}

impl<S: Clone + Send + Sync + 'static> RecordedRoutes<S> {
    /// Every route method, found by probing (no handler runs; `state` is only needed to
    /// turn each `MethodRouter<S>` into a service).
    pub async fn methods(&self, state: S) -> Vec<RouteMethod> {
        let mut out = Vec::new();
        for (path, mr) in &self.routes {
            // `route_layer` panics on a MethodRouter without any method (a route that
            // serves nothing): such a route contributes no method.
            let probed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                mr.clone()
                    .route_layer(axum::middleware::from_fn(probe))
                    .with_state::<()>(state.clone())
            }));
            let Ok(svc) = probed else { continue };
            for method in PROBED {
                let Ok(req) = Request::builder()
                    .method(method)
                    .uri("/")
                    .body(Body::empty())
                else {
                    continue;
                };
                let Ok(resp) = svc.clone().oneshot(req).await;
                if resp.headers().contains_key(PROBE_HEADER) {
                    out.push(RouteMethod {
                        path: path.clone(),
                        method: method.to_string(),
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// [`coverage`] of these routes against the manifest `text` (named `name` in
    /// findings).
    pub async fn coverage(
        &self,
        state: S,
        name: &str,
        text: &str,
        policy: &Policy,
    ) -> Result<Coverage, CoverageError> {
        coverage(&self.methods(state).await, name, text, policy)
    }
}

/// The probe standing in for every handler.
async fn probe(_req: axum::extract::Request, _next: axum::middleware::Next) -> Response {
    let mut r = Response::new(Body::empty());
    r.headers_mut()
        .insert(PROBE_HEADER, HeaderValue::from_static("1"));
    r
}

/// What [`coverage`] found.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Routes whose path is no manifest endpoint's `path`.
    pub unmapped_routes: Vec<RouteMethod>,
    /// Routed methods for which no permission class of the endpoint maps any scope.
    pub unmapped_methods: Vec<RouteMethod>,
    /// Manifest endpoints (by name) whose path no route has, or that have no path.
    pub unrouted_endpoints: Vec<String>,
    /// SG001 findings: mutations admitting a read-only scope without a note.
    pub readonly_mutations: Vec<Finding>,
}

/// The manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// It does not compile against the policy.
    #[error("{0}")]
    Manifest(String),
}

/// Compares `routes` with the manifest `text` (named `name`) compiled against `policy`.
pub fn coverage(
    routes: &[RouteMethod],
    name: &str,
    text: &str,
    policy: &Policy,
) -> Result<Coverage, CoverageError> {
    let manifest = Manifest::load(&Source::new(name, text), policy)
        .map_err(|d| CoverageError::Manifest(d.to_string()))?;
    let mut report = Coverage::default();
    for route in routes {
        let Some(endpoint) = manifest
            .endpoints
            .iter()
            .find(|e| e.path.as_deref() == Some(route.path.as_str()))
        else {
            report.unmapped_routes.push(route.clone());
            continue;
        };
        let Ok(method) = Method::from_str(&route.method) else {
            continue;
        };
        // OPTIONS is allowed before any check (the preflight).
        let mapped = method == Method::Options
            || endpoint
                .classes
                .iter()
                .filter_map(|c| manifest.class(*c))
                .any(|c| !c.scopes_for(method).is_empty());
        if !mapped {
            report.unmapped_methods.push(route.clone());
        }
    }
    for e in &manifest.endpoints {
        let routed = e
            .path
            .as_deref()
            .is_some_and(|p| routes.iter().any(|r| r.path == p));
        if !routed {
            report.unrouted_endpoints.push(e.name.clone());
        }
    }
    let options = Options {
        select: vec!["SG001".into()],
        ..Options::new(policy)
    };
    let lint = lint_text(name, text, policy, &options)
        .map_err(|e| CoverageError::Manifest(e.to_string()))?;
    report.readonly_mutations = lint.findings;
    Ok(report)
}

impl Coverage {
    /// Nothing to report.
    pub fn is_clean(&self) -> bool {
        self.unmapped_routes.is_empty()
            && self.unmapped_methods.is_empty()
            && self.unrouted_endpoints.is_empty()
            && self.readonly_mutations.is_empty()
    }

    /// The test helper: panics with the report unless [`Coverage::is_clean`].
    #[track_caller]
    #[allow(
        clippy::panic,
        reason = "a test helper: failing the test is its purpose"
    )]
    pub fn assert_clean(&self) {
        if !self.is_clean() {
            panic!("route coverage:\n{self}");
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.unmapped_routes {
            writeln!(
                f,
                "{} {}: route with no manifest endpoint",
                r.method, r.path
            )?;
        }
        for r in &self.unmapped_methods {
            writeln!(
                f,
                "{} {}: no permission class maps this method to a scope",
                r.method, r.path
            )?;
        }
        for e in &self.unrouted_endpoints {
            writeln!(f, "{e}: manifest endpoint with no route")?;
        }
        for d in &self.readonly_mutations {
            writeln!(
                f,
                "{}:{}:{}: {} {}",
                d.file, d.line, d.column, d.code, d.message
            )?;
        }
        Ok(())
    }
}
