//! scopegate-tower: protect a Rust web service in-process with scopegate.
//!
//! - [`ScopegateLayer`] — a [`tower::Layer`] for axum routers: the matched route is mapped
//!   to a manifest endpoint, the principal comes from the application's
//!   [`PrincipalResolver`], the engine decides over a [`WorldSource`], and the request is
//!   passed on with [`Authorized`] in its extensions or answered with the decision's status,
//!   `{"detail": …}` body and `WWW-Authenticate` challenge. Deny by default: an unmapped
//!   route is refused (404) and logged.
//! - World sources behind one trait, [`WorldSource`]: [`Replica`] (in-process, kept
//!   current from scopegate's store), [`RemoteSource`] (a scopegate service's `/v1/check`
//!   over HTTP, with a bounded cache and the revision protocol) and [`StaticWorld`] (a world
//!   document). A failing or stale source fails closed (503).
//! - [`coverage`] — Sentry's CI check generalised: every route declared, every declared
//!   endpoint routed, no mutation admitting a read-only scope without a note.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::{http::request::Parts, routing::get, Router};
//! use scopegate_core::{Manifest, Policy, Principal, Source, Superuser};
//! use scopegate_tower::{bearer, PrincipalResolver, ResolveError, ScopegateLayer, StaticWorld};
//!
//! /// The application's authentication: here, a bearer token `u<id>` is user `id`'s
//! /// session (a real application checks a session cookie or its own tokens).
//! struct Tokens;
//!
//! #[async_trait::async_trait]
//! impl PrincipalResolver for Tokens {
//!     async fn resolve(&self, parts: &Parts) -> Result<Principal, ResolveError> {
//!         let Some(secret) = bearer(&parts.headers)? else { return Ok(Principal::Anonymous) };
//!         let user = secret.strip_prefix('u').and_then(|id| id.parse().ok())
//!             .ok_or_else(|| ResolveError::Invalid("Invalid token".into()))?;
//!         Ok(Principal::Session { user, superuser: Superuser::None, staff: false, sso_ok: true })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = Arc::new(Policy::sentry());
//! let manifest = r#"
//!     [permissions.OrganizationPermission]
//!     object = "organization"
//!     scope_map = { GET = ["org:read"] }
//!     [[endpoints]]
//!     name = "OrganizationDetailsEndpoint"
//!     path = "/api/0/organizations/{organization_id_or_slug}/"
//!     permissions = ["OrganizationPermission"]
//! "#;
//! let manifest = Manifest::load(&Source::new("manifest.toml", manifest), &policy)
//!     .map_err(|d| d.to_string())?;
//! let world = StaticWorld::from_json(
//!     r#"{"organizations": [{"id": 1, "slug": "acme"}], "users": [{"id": 10}, {"id": 11}],
//!         "members": [{"id": 100, "organization": 1, "user": 10, "role": "member"}]}"#,
//!     &policy,
//! )?;
//!
//! let layer = ScopegateLayer::new(policy, Arc::new(manifest), world, Tokens);
//! let app: Router = Router::new()
//!     .route("/api/0/organizations/{organization_id_or_slug}/", get(|| async { "acme" }))
//!     .route_layer(layer);
//!
//! use tower::ServiceExt;
//! let ask = |token: &str| {
//!     axum::http::Request::get("/api/0/organizations/acme/")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//! };
//! assert_eq!(app.clone().oneshot(ask("u10")?).await?.status(), 200); // a member
//! assert_eq!(app.oneshot(ask("u11")?).await?.status(), 403); // not a member
//! # Ok(())
//! # }
//! ```

pub mod coverage;
pub mod layer;
pub mod metrics;
pub mod remote;
pub mod replica;
pub mod resolver;
pub mod source;

pub use coverage::{Coverage, RouteRecorder};
pub use layer::{Authorized, PathParams, ScopegateLayer, ScopegateService};
pub use metrics::{Metrics, MetricsSnapshot, RemoteMetrics, RemoteMetricsSnapshot};
pub use remote::{RemoteConfigError, RemoteOptions, RemoteSource};
pub use replica::{Replica, ReplicaOptions, ReplicaTokens};
pub use resolver::{bearer, PrincipalResolver, ResolveError};
pub use source::{DecisionContext, SourceError, StaticWorld, Verdict, WorldSource};
