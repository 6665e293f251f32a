//! Shared fixtures: the repository's example manifest and world, a test resolver, and a
//! router over the manifest's routes.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::routing::{get, MethodRouter};
use axum::{Extension, Router};
use http_body_util::BodyExt;
use scopegate_core::{Manifest, Policy, Principal, ScopeSet, Source, Superuser};
use scopegate_tower::{bearer, Authorized, PrincipalResolver, ResolveError};
use tower::ServiceExt;

pub const MANIFEST: &str = include_str!("../../../../examples/manifest.toml");
pub const WORLD: &str = include_str!("../../../../examples/world.json");

pub fn policy() -> Arc<Policy> {
    Arc::new(Policy::sentry())
}

pub fn manifest(policy: &Policy) -> Arc<Manifest> {
    Arc::new(Manifest::load(&Source::new("examples/manifest.toml", MANIFEST), policy).unwrap())
}

/// `u<id>`: user `id`'s session; `t<id>:<scope>,<scope>`: a user token with those scopes;
/// anything else is an invalid token; `down` is a resolver that cannot answer.
pub struct TestTokens(pub Arc<Policy>);

#[async_trait]
impl PrincipalResolver for TestTokens {
    async fn resolve(&self, parts: &Parts) -> Result<Principal, ResolveError> {
        let Some(secret) = bearer(&parts.headers)? else {
            return Ok(Principal::Anonymous);
        };
        if secret == "down" {
            return Err(ResolveError::Unavailable("token store down".into()));
        }
        if let Some(id) = secret.strip_prefix('u') {
            if let Ok(user) = id.parse() {
                return Ok(Principal::Session {
                    user,
                    superuser: Superuser::None,
                    staff: false,
                    sso_ok: true,
                });
            }
        }
        if let Some((id, scopes)) = secret.strip_prefix('t').and_then(|s| s.split_once(':')) {
            let mut set = ScopeSet::EMPTY;
            for s in scopes.split(',') {
                set.insert(self.0.scopes.id(s).unwrap());
            }
            return Ok(Principal::UserToken {
                user: id.parse().unwrap(),
                scopes: set,
                organization: None,
            });
        }
        Err(ResolveError::Invalid("Invalid token".into()))
    }
}

/// A handler that answers the endpoint the layer decided for.
async fn handler(Extension(a): Extension<Authorized>) -> String {
    format!("{} {}", a.request.endpoint, a.verdict.reason.as_str())
}

/// Every route of the example manifest, with GET (and DELETE on replays), plus one
/// route the manifest lacks.
pub fn routes() -> Vec<(&'static str, MethodRouter)> {
    vec![
        (
            "/api/0/organizations/{organization_id_or_slug}/",
            get(handler).put(handler),
        ),
        (
            "/api/0/organizations/{organization_id_or_slug}/org-auth-tokens/",
            get(handler).post(handler),
        ),
        (
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/",
            get(handler),
        ),
        (
            "/api/0/teams/{organization_id_or_slug}/{team_id_or_slug}/",
            get(handler),
        ),
        (
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/replays/{replay_id}/",
            get(handler).delete(handler),
        ),
        ("/api/0/internal/health/", get(handler)),
    ]
}

pub fn router() -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (path, mr)| r.route(path, mr))
}

/// Sends `method path` with `token` (if any) and returns status, headers and body text.
pub async fn send(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}
