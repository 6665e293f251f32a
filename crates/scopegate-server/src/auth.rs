//! Authentication and authorization of every API request.
//!
//! # What this module guarantees
//!
//! - **The engine decides every API request before its handler runs.** [`authorize`] is the
//!   route layer of the whole API router: it maps the matched route to its endpoint in the
//!   service's own manifest (`manifest.toml`), resolves the bearer token and the URL's
//!   organization in the decision index snapshot ([`crate::index::LiveIndex::current`], the
//!   one `/v1/` decides over), and asks [`scopegate_core::Engine`]. A route that the
//!   manifest does not declare is denied (404): deny by default.
//! - **No per-request export.** The store is read only for the calling user's row and when
//!   the index cannot answer: a secret the index does not know (a token created by another
//!   process since the last sync; its user may be unknown to the index too, then the
//!   organization and the user are exported as before the index existed), and the details
//!   routes of an organization the index does not know (one pending deletion is left out
//!   of the index; exported likewise).
//!   Each is counted (`scopegate_auth_store_fallbacks_total`).
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
use crate::index::{token_principal, Index, IndexError};
use crate::metrics::AuthFallback;
use crate::AppState;

/// The caller of an authorized request, for handlers (`Extension<Caller>`).
#[derive(Clone)]
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
    /// The index snapshot the engine decided this request over, for handler rules that
    /// need more of it than [`Caller::scopes`] (`routes/team_access.rs`). On the rare
    /// paths that [`authorize`] decides over a store export (the details routes of an
    /// organization pending deletion, a user the live index does not know yet) it is an
    /// index of that export alone, without tokens.
    pub index: Arc<Index>,
    /// The organization the URL names, as the engine found it in [`Caller::index`]; `None`
    /// when the URL names none.
    pub org: Option<CallerOrg>,
}

impl std::fmt::Debug for Caller {
    /// The index snapshot is named by its generation only: its world is large, and its
    /// token map is keyed by secret hashes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .field("user", &self.user)
            .field("token", &self.token)
            .field("actor", &self.actor)
            .field("scopes", &self.scopes)
            .field("member_id", &self.member_id)
            .field("index_generation", &self.index.generation)
            .field("org", &self.org)
            .finish()
    }
}

/// The organization of an authorized request's URL, resolved once by [`authorize`] so that
/// handlers do not look its slug up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerOrg {
    /// Its id.
    pub id: i64,
    /// Its slug.
    pub slug: String,
}

impl Caller {
    /// The user, or 403 for callers that are not users (org auth tokens).
    pub fn require_user(&self) -> Result<&User, ApiError> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::Forbidden("This endpoint requires a user".into()))
    }

    /// The organization of the URL, or 404 for a route that names none (a handler of an
    /// organization route always has one: the engine found it before allowing the request).
    pub fn require_org(&self) -> Result<&CallerOrg, ApiError> {
        self.org
            .as_ref()
            .ok_or_else(|| ApiError::NotFound(denial_detail(Reason::NotFound).into()))
    }

    /// The world the engine decided this request over.
    pub fn world(&self) -> &World {
        &self.index.world
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

/// The principal of a request's credential, with the user behind a user token and the
/// token itself.
struct Credential {
    principal: Principal,
    user: Option<User>,
    token: Option<Token>,
    /// The token came from the store: the index did not know it yet.
    unsynced: bool,
}

/// Resolves the request's credential into a principal (a service token: 403): the token
/// from the index snapshot `index`, from the store only when the index does not know the
/// secret. The user behind a user token is read from the store (handlers need its row).
#[instrument(skip_all)]
async fn principal(
    state: &AppState,
    index: &Index,
    headers: &HeaderMap,
) -> Result<Credential, ApiError> {
    let Some(secret) = bearer(headers)? else {
        return Ok(Credential {
            principal: Principal::Anonymous,
            user: None,
            token: None,
            unsynced: false,
        });
    };
    let (token, principal, unsynced) = match index.token(secret) {
        Some(t) => (t.token.clone(), t.principal.clone(), false),
        // Not in the index yet (created by another process since the last sync), or no
        // token at all: the store decides.
        None => {
            state.metrics.auth_fallback(AuthFallback::Token);
            match state.store.token_by_secret(secret).await {
                Ok(t) => {
                    let p = token_principal(&t, &state.policy);
                    (t, p, true)
                }
                Err(StoreError::NotFound) => {
                    return Err(ApiError::Unauthenticated("Invalid token".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match token.kind {
        TokenKind::User => {
            let user_id = token.user_id.ok_or_else(|| unusable(&token))?;
            let p = principal.ok_or_else(|| unusable(&token))?;
            let user = state.store.user(user_id).await?;
            Ok(Credential {
                principal: p,
                user: Some(user),
                token: Some(token),
                unsynced,
            })
        }
        TokenKind::Org => {
            let p = principal.ok_or_else(|| unusable(&token))?;
            Ok(Credential {
                principal: p,
                user: None,
                token: Some(token),
                unsynced,
            })
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
    /// Who called and the request id, for the decision log; only when the log is on.
    pub context: Option<Arc<crate::decision_log::CallContext>>,
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
    let logging = state.decision_log.is_some();
    let name = |n: &Option<String>| if logging { n.clone() } else { None };
    let (kind, id, name) = match index.token(secret) {
        Some(t) => (t.token.kind, t.token.id, name(&t.token.name)),
        // Not in the index yet (created by another process since the last resync).
        None => match state.store.token_by_secret(secret).await {
            Ok(t) => (t.kind, t.id, name(&t.name)),
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
    let context = logging.then(|| {
        Arc::new(crate::decision_log::CallContext {
            caller: crate::decision_log::LoggedCaller {
                token_id: id.to_string(),
                name,
            },
            request_id: headers
                .get(crate::logging::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    });
    Ok(ServiceCaller { index, context })
}

/// The index snapshot a management call is authorized from: never older than the store. One
/// single-row read of the store's revision; a catch-up ([`crate::index::LiveIndex::catch_up_to`])
/// only when the index is behind it (a write by another replica or process not yet
/// caught up by the sync loop). A management call thus never authorizes from a state older
/// than one it could have read itself (a revoked token, a removed member) — unless the
/// stored world no longer builds, when the last good index stays (logged).
pub async fn index_at_store_revision(state: &AppState) -> Result<Arc<Index>, ApiError> {
    let revision = state.store.revision().await?;
    let current = state.index.current();
    if current.generation > 0 && current.revision >= revision {
        return Ok(current);
    }
    match state
        .index
        .catch_up_to(&*state.store, &state.policy, revision)
        .await
    {
        Ok(_) => Ok(state.index.current()),
        Err(crate::index::IndexError::Store(e)) => Err(ApiError::from(e)),
        // A stored world that does not build (a role the policy dropped) is not transient:
        // the last good index stays, as it does for `/v1/`, and the failure is logged with
        // every problem.
        Err(e @ (crate::index::IndexError::World(_) | crate::index::IndexError::Build(_))) => {
            tracing::error!(error = %e, "cannot rebuild the decision index; authorizing from the last good one");
            Ok(state.index.current())
        }
    }
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
    // One snapshot for the whole request: the token, the engine's world and the handler's;
    // never older than the store (a write by another replica or process is caught up first).
    let index = index_at_store_revision(&state).await?;
    let Credential {
        principal,
        user,
        token,
        unsynced,
    } = principal(&state, &index, req.headers()).await?;

    // The user behind the credential: a user token's owner, or an org token's creator (the
    // engine decides the creator too, docs/decision.md §7).
    let also_user = match (&user, &token) {
        (Some(u), _) => Some(u.id),
        (None, Some(t)) if t.kind == TokenKind::Org => t.user_id,
        _ => None,
    };
    // Rare paths, decided over the store's export of the organization and the user as
    // before the index existed:
    // - an organization pending deletion is not in the index, but its details routes still
    //   answer for it, as Sentry's do (restore with `cancelDeletion`, redo the deletion): the
    //   store is asked about any organization the index does not know on those routes;
    // - a token the index did not know yet (created by another process since the last
    //   sync) may belong to a user the index does not know yet either.
    let fallback = match organization.as_deref() {
        Some(slug) if endpoint == DETAILS_ENDPOINT && index.world.org_by_slug(slug).is_none() => {
            Some(AuthFallback::UnindexedOrganization)
        }
        _ if unsynced
            && also_user
                .and_then(|u| u64::try_from(u).ok())
                .is_some_and(|u| index.world.user(u).is_none()) =>
        {
            Some(AuthFallback::UnsyncedUser)
        }
        _ => None,
    };
    let index = match fallback {
        Some(why) => {
            state.metrics.auth_fallback(why);
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
            let exported = Index::build(&doc, Vec::new(), &state.policy, index.generation)
                .map_err(|e| match e {
                    IndexError::World(e) => ApiError::from(e),
                    IndexError::Store(e) => ApiError::from(e),
                    IndexError::Build(e) => ApiError::Internal(e),
                })?;
            Arc::new(exported)
        }
        None => index,
    };
    let world = &index.world;
    let request = scopegate_core::Request {
        principal: principal.clone(),
        endpoint: endpoint.clone(),
        method,
        organization: organization.clone(),
        project: param("project_id_or_slug"),
        // Teams are addressable by id or slug (Sentry's `team_id_or_slug`).
        team: param("team_id_or_slug").map(|t| team_slug_in(world, organization.as_deref(), &t)),
    };
    let decision = Engine::new(&state.policy, &state.manifest, world).decide(&request);
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
    let org = org.and_then(|o| {
        Some(CallerOrg {
            id: i64::try_from(o.id).ok()?,
            slug: o.slug.clone(),
        })
    });
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
        index,
        org,
    });
    Ok(next.run(req).await)
}

/// The manifest name of the organization details endpoint (the routes that still answer for
/// an organization pending deletion).
pub const DETAILS_ENDPOINT: &str = "OrganizationDetailsEndpoint";

/// The slug of the team a URL names by id (`/teams/{org}/42/`) in `world`, so that the
/// engine, which looks teams up by slug, decides on the right team; anything else unchanged.
pub fn team_slug_in(world: &World, org_slug: Option<&str>, raw: &str) -> String {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_string();
    }
    let org = org_slug.and_then(|s| world.org_by_slug(s));
    let id = raw.parse::<u64>().ok();
    org.zip(id)
        .and_then(|(o, id)| world.team_by_id(o, id))
        .map_or_else(|| raw.to_string(), |t| t.slug.clone())
}
