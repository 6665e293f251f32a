//! Authentication and authorization of every API request.
//!
//! # What this module guarantees
//!
//! - **The engine decides every API request before its handler runs.** [`authorize`] is the
//!   route layer of the whole API router: it maps the matched route to its endpoint in the
//!   service's own manifest (`manifest.toml`), loads the organization's world from the store,
//!   and asks [`scopegate_core::Engine`]. A route that the manifest does not declare is
//!   denied (404): deny by default.
//! - **A denial's status, body and `WWW-Authenticate` challenge come from the decision.**
//! - **Secrets never reach logs.** The bearer token is read once, hashed, and dropped; the
//!   functions that see it are `#[instrument(skip_all)]`, and [`Caller`]'s `Debug` never
//!   prints it (the store's `Token` redacts its hash too).

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use scopegate_core::decision::Reason;
use scopegate_core::{Engine, Method, Principal, ScopeSet, World};
use scopegate_store::{Actor, StoreError, Token, TokenKind, User};
use tracing::instrument;

use crate::error::ApiError;
use crate::index::{token_principal, Index};
use crate::AppState;

/// The caller of an authorized request, for handlers (`Extension<Caller>`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal the engine decided for.
    pub principal: Principal,
    /// The user behind a user token.
    pub user: Option<User>,
    /// The token used.
    pub token: Option<Token>,
    /// The actor recorded in audit entries.
    pub actor: Actor,
    /// What the caller holds in the organization named by the URL: the member's
    /// (option-trimmed) role scopes bounded by a user token's scopes, or an org token's
    /// scopes (bounded by its creator's role scopes there when it has a creator). Empty
    /// when the URL names no organization.
    pub scopes: ScopeSet,
    /// The caller's member id in that organization, if a member.
    pub member_id: Option<i64>,
    /// The world the engine decided this request over (the URL's organization and the
    /// calling user), for handler rules that need more of it than [`Caller::scopes`].
    pub world: Arc<World>,
}

impl Caller {
    /// The user, or 403 for callers that are not users (org auth tokens).
    pub fn require_user(&self) -> Result<&User, ApiError> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::Forbidden("This endpoint requires a user".into()))
    }
}

/// The `detail` of a denial, as Sentry words it where it has a message
/// ([`Reason::detail`], shared with `scopegate-tower`).
pub fn denial_detail(reason: Reason) -> &'static str {
    reason.detail()
}

/// The credential of a request: `None` without an `Authorization` header.
#[instrument(skip_all)]
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("Invalid authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthenticated(
            "Invalid authorization header".into(),
        )),
    }
}

/// The 500 of a stored token that stands for no principal, naming the token (by id, never
/// its secret or hash) and which of its fields is wrong.
pub fn unusable(token: &Token) -> ApiError {
    ApiError::Internal(format!(
        "stored token {}: {}",
        token.id,
        token_problem(token)
    ))
}

/// Why [`token_principal`] gives no principal for `token`.
fn token_problem(token: &Token) -> String {
    match (token.kind, token.user_id, &token.organization_slug) {
        (TokenKind::User, None, _) => "a user token without a user".into(),
        (TokenKind::User | TokenKind::Org, Some(id), _) if id < 0 => {
            format!("user id {id} is negative (not an engine id)")
        }
        (TokenKind::Org, _, None) => "an org auth token without an organization".into(),
        (TokenKind::Service, _, _) => "a service token stands for no principal".into(),
        _ => "no principal (unexpected)".into(),
    }
}

/// Resolves the request's credential into a principal (a service token: 403).
#[instrument(skip_all)]
async fn principal(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Principal, Option<User>, Option<Token>), ApiError> {
    let Some(secret) = bearer(headers)? else {
        return Ok((Principal::Anonymous, None, None));
    };
    let token = match state.store.token_by_secret(secret).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Err(ApiError::Unauthenticated("Invalid token".into())),
        Err(e) => return Err(e.into()),
    };
    match token.kind {
        TokenKind::User => {
            let user_id = token.user_id.ok_or_else(|| unusable(&token))?;
            let user = state.store.user(user_id).await?;
            let p = token_principal(&token, &state.policy).ok_or_else(|| unusable(&token))?;
            Ok((p, Some(user), Some(token)))
        }
        TokenKind::Org => {
            let p = token_principal(&token, &state.policy).ok_or_else(|| unusable(&token))?;
            Ok((p, None, Some(token)))
        }
        TokenKind::Service => Err(ApiError::Forbidden(
            "A service token may only call the decision API (/v1/)".into(),
        )),
    }
}

/// The caller of a decision API (`/v1/`) route: a service token, and the index snapshot the
/// route decides over (read once per request).
///
/// Extracted before the body, so an unauthorized call is answered before its body is read.
/// No credential (or an unknown one) → 401; any other valid credential → 403.
///
/// INVARIANT: every `/v1/` handler takes a `ServiceCaller`; it is the only way a handler
/// gets the index it decides over.
#[derive(Debug)]
pub struct ServiceCaller {
    /// The index snapshot the request is decided over.
    pub index: Arc<Index>,
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ServiceCaller, ApiError> {
        service_caller(state, parts).await
    }
}

#[instrument(skip_all)]
async fn service_caller(state: &AppState, parts: &Parts) -> Result<ServiceCaller, ApiError> {
    let headers = &parts.headers;
    let Some(secret) = bearer(headers)? else {
        return Err(ApiError::Unauthenticated(
            denial_detail(Reason::Unauthenticated).into(),
        ));
    };
    let index = state.index.current();
    let (kind, id) = match index.token(secret) {
        Some(t) => (t.token.kind, t.token.id),
        // Not in the index yet (created by another process since the last resync).
        None => match state.store.token_by_secret(secret).await {
            Ok(t) => (t.kind, t.id),
            Err(StoreError::NotFound) => {
                return Err(ApiError::Unauthenticated("Invalid token".into()))
            }
            Err(e) => return Err(e.into()),
        },
    };
    let label = if kind == TokenKind::Service {
        "service-token"
    } else {
        "token"
    };
    crate::logging::record_caller(&parts.extensions, format!("{label}:{id}"));
    if kind != TokenKind::Service {
        return Err(ApiError::Forbidden(
            "Only a service token may call the decision API".into(),
        ));
    }
    Ok(ServiceCaller { index })
}

/// The index snapshot a management call is authorized from: never older than the store. One
/// single-row read of the store's revision; a catch-up ([`crate::index::LiveIndex::catch_up_to`])
/// only when the index is behind it (a write by another replica or process not yet
/// caught up by the sync loop). A management call thus never authorizes from a state older
/// than one it could have read itself (a revoked token, a removed member).
pub async fn index_at_store_revision(state: &AppState) -> Result<Arc<Index>, ApiError> {
    let revision = state.store.revision().await?;
    let current = state.index.current();
    if current.generation > 0 && current.revision >= revision {
        return Ok(current);
    }
    state
        .index
        .catch_up_to(&*state.store, &state.policy, revision)
        .await
        .map_err(|e| match e {
            crate::index::IndexError::Store(e) => ApiError::from(e),
            crate::index::IndexError::World(e) => ApiError::from(e),
        })?;
    Ok(state.index.current())
}

/// The route layer that authorizes every API request with the engine.
#[instrument(skip_all, fields(endpoint))]
pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let endpoint = matched
        .as_ref()
        .and_then(|m| state.endpoints.get(m.as_str()))
        .cloned();
    let Some(endpoint) = endpoint else {
        // INVARIANT: a route missing from the manifest is never served.
        return Err(ApiError::NotFound(denial_detail(Reason::NotFound).into()));
    };
    tracing::Span::current().record("endpoint", endpoint.as_str());
    let method = Method::from_str(req.method().as_str()).map_err(|_| ApiError::Denied {
        status: StatusCode::METHOD_NOT_ALLOWED,
        detail: format!("Method \"{}\" not allowed.", req.method()),
        challenge: None,
    })?;
    let param = |name: &str| {
        params.as_ref().ok().and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    // No stored slug or id holds a control character (and PostgreSQL rejects NUL in text):
    // such a path names nothing.
    if params
        .as_ref()
        .is_ok_and(|p| p.iter().any(|(_, v)| v.chars().any(char::is_control)))
    {
        return Err(ApiError::NotFound(denial_detail(Reason::NotFound).into()));
    }
    let organization = param("organization_id_or_slug");
    let (principal, user, token) = principal(&state, req.headers()).await?;

    // An organization pending deletion is unknown everywhere but its details routes, which
    // Sentry still answers for it (restore with `cancelDeletion`, redo the deletion).
    // The user behind the credential: a user token's owner, or an org token's creator (the
    // engine decides the creator too, docs/decision.md §7).
    let also_user = match (&user, &token) {
        (Some(u), _) => Some(u.id),
        (None, Some(t)) if t.kind == TokenKind::Org => t.user_id,
        _ => None,
    };
    let doc = if endpoint == DETAILS_ENDPOINT {
        state
            .store
            .world_including_pending(organization.as_deref(), also_user)
            .await?
    } else {
        state
            .store
            .world(organization.as_deref(), also_user)
            .await?
    };
    let world = World::build(&doc, &state.policy).map_err(ApiError::from)?;
    let request = scopegate_core::Request {
        principal: principal.clone(),
        endpoint: endpoint.clone(),
        method,
        organization: organization.clone(),
        project: param("project_id_or_slug"),
        // Teams are addressable by id or slug (Sentry's `team_id_or_slug`).
        team: param("team_id_or_slug").map(|t| team_slug_in(&doc, organization.as_deref(), &t)),
    };
    let decision = Engine::new(&state.policy, &state.manifest, &world).decide(&request);
    state
        .metrics
        .decision(crate::metrics::Api::Management, &decision);
    if !decision.allowed() {
        let status = StatusCode::from_u16(decision.status()).unwrap_or(StatusCode::FORBIDDEN);
        return Err(ApiError::Denied {
            status,
            detail: denial_detail(decision.reason).into(),
            challenge: decision.challenge_header(&state.policy),
        });
    }

    let org = organization
        .as_deref()
        .and_then(|slug| world.org_by_slug(slug));
    let (scopes, member_id) = match (&principal, org) {
        (
            Principal::OrgToken {
                scopes, creator, ..
            },
            Some(o),
        ) => match creator {
            None => (*scopes, None),
            // Bounded by what the creator holds here (nothing once she has left).
            Some(c) => (
                world
                    .member(o, *c)
                    .map_or(ScopeSet::EMPTY, |m| m.scopes.intersection(*scopes)),
                None,
            ),
        },
        (Principal::UserToken { user, scopes, .. }, Some(o)) => match world.member(o, *user) {
            Some(m) => (m.scopes.intersection(*scopes), i64::try_from(m.id).ok()),
            None => (ScopeSet::EMPTY, None),
        },
        _ => (ScopeSet::EMPTY, None),
    };
    let actor = match (&user, &token) {
        (Some(u), _) => Actor::user(u.id),
        (None, Some(t)) => Actor {
            user_id: None,
            label: format!("org-token:{}", t.id),
        },
        (None, None) => Actor::system(),
    };
    crate::logging::record_caller(req.extensions(), actor.label.clone());
    req.extensions_mut().insert(Caller {
        principal,
        user,
        token,
        actor,
        scopes,
        member_id,
        world: Arc::new(world),
    });
    Ok(next.run(req).await)
}

/// The manifest name of the organization details endpoint (the routes that still answer for
/// an organization pending deletion).
pub const DETAILS_ENDPOINT: &str = "OrganizationDetailsEndpoint";

/// The slug of the team a URL names by id (`/teams/{org}/42/`) in a stored world, so that the
/// engine, which looks teams up by slug, decides on the right team; anything else unchanged.
pub fn team_slug_in(doc: &scopegate_core::WorldDoc, org_slug: Option<&str>, raw: &str) -> String {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_string();
    }
    let org = org_slug.and_then(|s| doc.organizations.iter().find(|o| o.slug == s));
    let id = raw.parse::<u64>().ok();
    org.and_then(|o| {
        doc.teams
            .iter()
            .find(|t| t.organization == o.id && Some(t.id) == id)
    })
    .map_or_else(|| raw.to_string(), |t| t.slug.clone())
}
