//! `cargo bench -p scopegate-tower --bench layer`: the layer's overhead in-process.
//!
//! Three measurements over the same request (`GET` of an organization's details by a
//! member's session, allowed, over the repository's example world and manifest):
//!
//! - `bare`: the axum router with the handler and no layer, driven with `oneshot`;
//! - `layered`: the same router behind `ScopegateLayer` over a `StaticWorld`;
//! - `decision`: `Engine::decide` alone for the request the layer builds.
//!
//! The layer's own cost is `layered − bare − decision` (route lookup, path parameters,
//! resolver, request building, boxing, the `Authorized` extension).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::Criterion;
use scopegate_core::{Engine, Manifest, Policy, Principal, Source, Superuser, WorldDoc};
use scopegate_tower::{bearer, PrincipalResolver, ResolveError, ScopegateLayer, StaticWorld};
use tower::ServiceExt;

const MANIFEST: &str = include_str!("../../../examples/manifest.toml");
const WORLD: &str = include_str!("../../../examples/world.json");
const PATH: &str = "/api/0/organizations/acme/";
const ROUTE: &str = "/api/0/organizations/{organization_id_or_slug}/";

/// `u<id>` is user `id`'s session.
struct Sessions;

#[async_trait]
impl PrincipalResolver for Sessions {
    async fn resolve(&self, parts: &Parts) -> Result<Principal, ResolveError> {
        let user = bearer(&parts.headers)?
            .and_then(|s| s.strip_prefix('u'))
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ResolveError::Invalid("Invalid token".into()))?;
        Ok(Principal::Session {
            user,
            superuser: Superuser::None,
            staff: false,
            sso_ok: true,
        })
    }
}

fn request() -> Request<Body> {
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = axum::http::Uri::from_static(PATH);
    req.headers_mut().insert(
        axum::http::header::AUTHORIZATION,
        axum::http::HeaderValue::from_static("Bearer u12"),
    );
    req
}

fn main() {
    let policy = Arc::new(Policy::sentry());
    let manifest = match Manifest::load(&Source::new("manifest.toml", MANIFEST), &policy) {
        Ok(m) => Arc::new(m),
        Err(d) => {
            eprintln!("{d}");
            std::process::exit(2);
        }
    };
    let doc: WorldDoc = serde_json::from_str(WORLD).unwrap_or_default();
    let Ok(world) = StaticWorld::new(&doc, &policy) else {
        eprintln!("the example world does not build");
        std::process::exit(2);
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("no runtime");
        std::process::exit(2);
    };
    let bare: Router = Router::new().route(ROUTE, get(|| async { "ok" }));
    let layer = ScopegateLayer::new(policy.clone(), manifest.clone(), world, Sessions);
    let layered: Router = bare.clone().route_layer(layer);
    // Both must answer 200 before anything is timed.
    for app in [&bare, &layered] {
        let status = rt
            .block_on(app.clone().oneshot(request()))
            .map(|r| r.status().as_u16());
        if status != Ok(200) {
            eprintln!("setup: expected 200, got {status:?}");
            std::process::exit(2);
        }
    }
    let engine_world = match scopegate_core::World::build(&doc, &policy) {
        Ok(w) => w,
        Err(_) => std::process::exit(2),
    };
    let decided = scopegate_core::Request {
        principal: Principal::Session {
            user: 12,
            superuser: Superuser::None,
            staff: false,
            sso_ok: true,
        },
        endpoint: "OrganizationDetailsEndpoint".into(),
        method: scopegate_core::Method::Get,
        organization: Some("acme".into()),
        project: None,
        team: None,
    };
    let engine = Engine::new(&policy, &manifest, &engine_world);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("tower_layer");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bare", |b| {
        b.iter(|| rt.block_on(bare.clone().oneshot(black_box(request()))))
    });
    group.bench_function("layered", |b| {
        b.iter(|| rt.block_on(layered.clone().oneshot(black_box(request()))))
    });
    group.bench_function("decision", |b| {
        b.iter(|| engine.decide(black_box(&decided)).allowed())
    });
    group.finish();
    c.final_summary();
}
