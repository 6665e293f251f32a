//! Personal user tokens (`/api/0/api-tokens/`) and org auth tokens
//! (`/api/0/organizations/{org}/org-auth-tokens/`).
//!
//! # What this module guarantees
//!
//! - The secret is in the creation response only; lists and logs never hold it (the store
//!   keeps only its SHA-256 hash).
//! - A user token never holds more than its creator could use: its scopes, once the policy's
//!   implication map has expanded them (docs/sentry-model.md §1.3–§1.4), must be held by the
//!   calling token and, for a token bound to an organization, by the owner's role there
//!   (400 otherwise).
//! - An org auth token holds exactly the policy's `org_token_scopes` (Sentry: `org:ci`),
//!   whatever the request asks, and records its creator (the calling user, or the creator
//!   of the calling org token): the engine never allows it what its creator is denied
//!   (`docs/decision.md` §7).
//! - Names as Sentry words them: an org auth token's name is required (at most 255
//!   characters, `{"detail": ["The name cannot be blank."]}`), a personal token's is
//!   optional (`null` when not given).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Router};
use scopegate_core::{Principal, ScopeSet};
use scopegate_store::{NewToken, StoreError, Token, TokenKind};
use serde::{Deserialize, Serialize};

use super::{date, parse_id, role_scopes, scope_names};
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::paging::Paging;
use crate::AppState;

/// The longest token name Sentry accepts.
pub const MAX_NAME_CHARS: usize = 255;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/0/api-tokens/", get(list_user).post(create_user))
        .route("/api/0/api-tokens/{token_id}/", delete(delete_user))
        .route(
            "/api/0/organizations/{organization_id_or_slug}/org-auth-tokens/",
            get(list_org).post(create_org),
        )
        .route(
            "/api/0/organizations/{organization_id_or_slug}/org-auth-tokens/{token_id}/",
            delete(delete_org),
        )
}

/// A token as listed (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenOut {
    /// Id.
    pub id: String,
    /// Name (`null`: a personal token created without one).
    pub name: Option<String>,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
    /// The first characters of the secret.
    pub token_prefix: String,
    /// The last four characters of the secret (`null` for tokens made before they were
    /// kept).
    pub token_last_characters: Option<String>,
    /// The organization the token belongs or is bound to.
    pub organization: Option<String>,
    /// Creation time.
    pub date_created: String,
    /// The secret: in the creation response only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<Token> for TokenOut {
    fn from(t: Token) -> TokenOut {
        TokenOut {
            id: t.id.to_string(),
            name: t.name,
            scopes: t.scopes,
            token_prefix: t.prefix,
            token_last_characters: t.last_characters,
            organization: t.organization_slug,
            date_created: date(t.created_at),
            token: None,
        }
    }
}

/// The body of a token creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Name: optional for a personal token (`null` when absent), required for an org auth
    /// token; at most 255 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Scopes of a personal token (required). Ignored for an org auth token, which always
    /// gets the policy's org token scopes (as Sentry).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The organization slug to bind a user token to.
    #[serde(default)]
    pub organization: Option<String>,
}

fn parse_scopes(state: &AppState, names: &[String]) -> Result<ScopeSet, ApiError> {
    let mut set = ScopeSet::EMPTY;
    for name in names {
        let id = state
            .policy
            .scopes
            .id(name)
            .ok_or_else(|| ApiError::BadRequest(format!("scopes: unknown scope `{name}`")))?;
        set.insert(id);
    }
    Ok(set)
}

/// A token name: at most 255 characters (Sentry's message), no control characters; kept
/// as given otherwise.
fn token_name(name: &str) -> Result<String, ApiError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::detail_list(format!(
            "The name cannot be longer than {MAX_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "name: must contain no control characters".into(),
        ));
    }
    Ok(name.to_string())
}

fn first_missing(state: &AppState, want: ScopeSet, have: ScopeSet) -> Option<String> {
    scope_names(state, want.difference(have)).into_iter().next()
}

async fn list_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let user = caller.require_user()?;
    let tokens = state
        .store
        .user_tokens(user.id, paging.store_page())
        .await?;
    let out: Vec<TokenOut> = tokens.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}

async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    AppJson(body): AppJson<CreateToken>,
) -> Result<Response, ApiError> {
    let user = caller.require_user()?;
    let name = match body.name.as_deref() {
        None => None,
        Some(name) => Some(token_name(name)?),
    };
    let requested = body.scopes.unwrap_or_default();
    if requested.is_empty() {
        return Err(ApiError::BadRequest(
            "scopes: at least one scope is required".into(),
        ));
    }
    let scopes = state
        .policy
        .expand_implied(parse_scopes(&state, &requested)?);
    if let Principal::UserToken { scopes: held, .. } = &caller.principal {
        if let Some(s) = first_missing(&state, scopes, *held) {
            return Err(ApiError::BadRequest(format!(
                "scopes: `{s}` is not held by the token making the request"
            )));
        }
    }
    let organization = match body.organization.as_deref() {
        None => None,
        Some(slug) => {
            let bad =
                || ApiError::BadRequest(format!("organization: you are not a member of `{slug}`"));
            let org = state.store.org_by_slug(slug).await.map_err(|e| match e {
                StoreError::NotFound => bad(),
                other => other.into(),
            })?;
            let member =
                state
                    .store
                    .member_of_user(org.id, user.id)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => bad(),
                        other => other.into(),
                    })?;
            let role = role_scopes(&state, &org, &member.role).unwrap_or_default();
            if let Some(s) = first_missing(&state, scopes, role) {
                return Err(ApiError::BadRequest(format!(
                    "scopes: your role `{}` in `{slug}` does not hold `{s}`",
                    member.role
                )));
            }
            Some(org.id)
        }
    };
    let new = NewToken {
        kind: TokenKind::User,
        user_id: Some(user.id),
        organization_id: organization,
        name,
        scopes: scope_names(&state, scopes),
    };
    let (token, secret) = state.store.create_token(&new, &caller.actor).await?;
    let mut out = TokenOut::from(token);
    out.token = Some(secret.expose().to_string());
    Ok((StatusCode::CREATED, AppJson(out)).into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = caller.require_user()?;
    let gone = || ApiError::NotFound("The requested resource does not exist".into());
    let token = state
        .store
        .token(parse_id(&id)?)
        .await
        .map_err(|_| gone())?;
    if token.kind != TokenKind::User || token.user_id != Some(user.id) {
        return Err(gone());
    }
    state.store.delete_token(token.id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_org(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let tokens = state.store.org_tokens(org.id, paging.store_page()).await?;
    let out: Vec<TokenOut> = tokens.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}

async fn create_org(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    AppJson(body): AppJson<CreateToken>,
) -> Result<Response, ApiError> {
    if body.organization.is_some() {
        return Err(ApiError::BadRequest(
            "organization: an org auth token belongs to the organization of the URL".into(),
        ));
    }
    // Sentry: `{"detail": ["The name cannot be blank."]}` for a missing or empty name.
    let name = match body.name.as_deref() {
        None | Some("") => {
            return Err(ApiError::detail_list("The name cannot be blank."));
        }
        Some(name) => token_name(name)?,
    };
    // Sentry creates org auth tokens with exactly `org:ci`, whatever the request says: the
    // policy names the set. The requested scopes are not even read.
    let scopes = state.policy.org_token_scopes;
    if scopes.is_empty() {
        return Err(ApiError::BadRequest(
            "scopes: the policy gives org auth tokens no scopes (`tokens.org_token_scopes`)".into(),
        ));
    }
    // The creator bounds the token: the calling user, or the creator of a calling org token.
    let creator = match (&caller.user, &caller.principal) {
        (Some(user), _) => Some(user.id),
        (None, Principal::OrgToken { creator, .. }) => match creator {
            Some(id) => {
                Some(i64::try_from(*id).map_err(|_| ApiError::Internal("creator id".into()))?)
            }
            None => None,
        },
        (None, _) => None,
    };
    let org = caller.require_org()?;
    let new = NewToken {
        kind: TokenKind::Org,
        user_id: creator,
        organization_id: Some(org.id),
        name: Some(name),
        scopes: scope_names(&state, scopes),
    };
    let (token, secret) = state.store.create_token(&new, &caller.actor).await?;
    let mut out = TokenOut::from(token);
    out.token = Some(secret.expose().to_string());
    Ok((StatusCode::CREATED, AppJson(out)).into_response())
}

async fn delete_org(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = caller.require_org()?;
    let gone = || ApiError::NotFound("The requested resource does not exist".into());
    let token = state
        .store
        .token(parse_id(&id)?)
        .await
        .map_err(|_| gone())?;
    if token.kind != TokenKind::Org || token.organization_id != Some(org.id) {
        return Err(gone());
    }
    state.store.delete_token(token.id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
