//! Organizations: list and create (`/api/0/organizations/`), details
//! (`/api/0/organizations/{org}/`), and the audit log (`…/audit-logs/`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::{AuditEntry, OrgUpdate, Organization};
use serde::{Deserialize, Serialize};

use super::{check_name, check_slug, conflict, date, option_value, scope_names, slugify};
use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::paging::Paging;
use crate::AppState;

/// The option behind `eventsMemberAdmin`.
pub const EVENTS_MEMBER_ADMIN: &str = "sentry:events_member_admin";
/// The option behind `alertsMemberWrite`.
pub const ALERTS_MEMBER_WRITE: &str = "sentry:alerts_member_write";

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/0/organizations/", get(list).post(create))
        .route(
            "/api/0/organizations/{organization_id_or_slug}/",
            get(details).put(update).delete(remove),
        )
        .route(
            "/api/0/organizations/{organization_id_or_slug}/audit-logs/",
            get(audit_log),
        )
}

/// An organization.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationOut {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Creation time.
    pub date_created: String,
    /// Open membership.
    pub open_membership: bool,
    /// 2FA required.
    #[serde(rename = "require2FA")]
    pub require_2fa: bool,
    /// SSO required.
    pub require_sso: bool,
    /// Members may delete events (`sentry:events_member_admin`).
    pub events_member_admin: bool,
    /// Members may write alerts (`sentry:alerts_member_write`).
    pub alerts_member_write: bool,
    /// Features.
    pub features: Vec<String>,
    /// The caller's scopes in the organization (details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Vec<String>>,
}

impl OrganizationOut {
    fn new(o: &Organization, access: Option<Vec<String>>) -> OrganizationOut {
        OrganizationOut {
            id: o.id.to_string(),
            slug: o.slug.clone(),
            name: o.name.clone(),
            date_created: date(o.created_at),
            open_membership: o.open_membership,
            require_2fa: o.require_2fa,
            require_sso: o.require_sso,
            events_member_admin: option_value(o, EVENTS_MEMBER_ADMIN).unwrap_or(true),
            alerts_member_write: option_value(o, ALERTS_MEMBER_WRITE).unwrap_or(true),
            features: o.features.clone(),
            access,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let user = caller.require_user()?;
    let orgs = state
        .store
        .orgs_of_user(user.id, paging.store_page())
        .await?;
    let out: Vec<_> = orgs.iter().map(|o| OrganizationOut::new(o, None)).collect();
    Ok(paging.respond(out))
}

/// The body of `POST /api/0/organizations/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// Name.
    pub name: String,
    /// Slug (made from the name when absent).
    #[serde(default)]
    pub slug: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    AppJson(body): AppJson<CreateOrg>,
) -> Result<Response, ApiError> {
    let user = caller.require_user()?;
    let name = check_name("name", &body.name)?;
    let slug = body.slug.unwrap_or_else(|| slugify(&name));
    check_slug("slug", &slug)?;
    let owner_role = state
        .policy
        .org_roles
        .last()
        .map(|r| r.id.clone())
        .ok_or_else(|| ApiError::Internal("the policy has no org roles".into()))?;
    let features = vec![state.policy.team_roles_feature.clone()];
    let org = state
        .store
        .create_org(&slug, &name, &features, user.id, &owner_role, &caller.actor)
        .await
        .map_err(conflict("An organization with this slug already exists."))?;
    Ok((
        StatusCode::CREATED,
        AppJson(OrganizationOut::new(&org, None)),
    )
        .into_response())
}

async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<AppJson<OrganizationOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let access = scope_names(&state, caller.scopes);
    Ok(AppJson(OrganizationOut::new(&org, Some(access))))
}

/// The body of `PUT /api/0/organizations/{org}/`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateOrg {
    /// Name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// Open membership.
    pub open_membership: Option<bool>,
    /// 2FA requirement.
    #[serde(rename = "require2FA")]
    pub require_2fa: Option<bool>,
    /// SSO requirement.
    pub require_sso: Option<bool>,
    /// `sentry:events_member_admin`.
    pub events_member_admin: Option<bool>,
    /// `sentry:alerts_member_write`.
    pub alerts_member_write: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    AppJson(body): AppJson<UpdateOrg>,
) -> Result<AppJson<OrganizationOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let mut change = OrgUpdate {
        name: body
            .name
            .as_deref()
            .map(|n| check_name("name", n))
            .transpose()?,
        slug: body.slug,
        open_membership: body.open_membership,
        require_2fa: body.require_2fa,
        require_sso: body.require_sso,
        ..OrgUpdate::default()
    };
    if let Some(s) = &change.slug {
        check_slug("slug", s)?;
    }
    if body.require_2fa == Some(true) && caller.user.as_ref().is_some_and(|u| !u.has_2fa) {
        return Err(ApiError::BadRequest(
            "require2FA: Cannot require two-factor authentication without personal two-factor enabled.".into(),
        ));
    }
    if let Some(v) = body.events_member_admin {
        change.options.insert(EVENTS_MEMBER_ADMIN.into(), v.into());
    }
    if let Some(v) = body.alerts_member_write {
        change.options.insert(ALERTS_MEMBER_WRITE.into(), v.into());
    }
    let org = state
        .store
        .update_org(org.id, &change, &caller.actor)
        .await
        .map_err(conflict("An organization with this slug already exists."))?;
    let access = scope_names(&state, caller.scopes);
    Ok(AppJson(OrganizationOut::new(&org, Some(access))))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    let org = super::org(&state, &slug).await?;
    state.store.delete_org(org.id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An audit log entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditOut {
    /// Id.
    pub id: String,
    /// Who acted.
    pub actor: ActorOut,
    /// The event.
    pub event: String,
    /// What it acted on.
    pub target_object: String,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When.
    pub date_created: String,
}

/// The actor of an audit entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorOut {
    /// The user id, when a user acted.
    pub id: Option<String>,
    /// The label.
    pub name: String,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> AuditOut {
        AuditOut {
            id: e.id.to_string(),
            actor: ActorOut {
                id: e.actor_user_id.map(|i| i.to_string()),
                name: e.actor,
            },
            event: e.event,
            target_object: e.target,
            data: e.data,
            date_created: date(e.created_at),
        }
    }
}

async fn audit_log(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = super::org(&state, &slug).await?;
    let entries = state.store.audit_log(org.id, paging.store_page()).await?;
    let out: Vec<AuditOut> = entries.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}
