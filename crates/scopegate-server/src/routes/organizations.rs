//! Organizations: list and create (`/api/0/organizations/`), details
//! (`/api/0/organizations/{org}/`), and the audit log (`…/audit-logs/`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::{
    AuditEntry, GrantSelection, GranularEdit, OrgUpdate, Organization, StoreError,
};
use serde::{Deserialize, Serialize};

use super::granular::{check_manage, listed_user_ids, rejected, resource, toggle_on};
use super::{check_name, check_org_slug, conflict, date, option_value, scope_names, slugify};
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::paging::Paging;
use crate::AppState;

/// The option behind `eventsMemberAdmin`.
pub const EVENTS_MEMBER_ADMIN: &str = "sentry:events_member_admin";
/// The option behind `alertsMemberWrite`.
pub const ALERTS_MEMBER_WRITE: &str = "sentry:alerts_member_write";
/// The granular resource kind behind `hasGranularReplayPermissions` and
/// `replayAccessMembers`.
pub const REPLAY: &str = "replay";

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
    /// Status, as Sentry serializes it: `{"id": "active", "name": "active"}` or
    /// `{"id": "pending_deletion", "name": "pending deletion"}`.
    pub status: StatusOut,
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
    /// The replay allowlist is enforced (`sentry:granular-replay-permissions`; details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_granular_replay_permissions: Option<bool>,
    /// User ids of members on the replay allowlist, ascending; `[]` while the toggle is off
    /// (details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_access_members: Option<Vec<u64>>,
}

/// An organization's status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusOut {
    /// `active` or `pending_deletion`.
    pub id: &'static str,
    /// `active` or `pending deletion`.
    pub name: &'static str,
}

impl OrganizationOut {
    fn new(o: &Organization, access: Option<Vec<String>>) -> OrganizationOut {
        let status = if o.pending_deletion() {
            StatusOut {
                id: "pending_deletion",
                name: "pending deletion",
            }
        } else {
            StatusOut {
                id: "active",
                name: "active",
            }
        };
        OrganizationOut {
            id: o.id.to_string(),
            slug: o.slug.clone(),
            status,
            name: o.name.clone(),
            date_created: date(o.created_at),
            open_membership: o.open_membership,
            require_2fa: o.require_2fa,
            require_sso: o.require_sso,
            events_member_admin: option_value(o, EVENTS_MEMBER_ADMIN).unwrap_or(true),
            alerts_member_write: option_value(o, ALERTS_MEMBER_WRITE).unwrap_or(true),
            features: o.features.clone(),
            access,
            has_granular_replay_permissions: None,
            replay_access_members: None,
        }
    }

    /// Details: with the caller's access and the replay fields.
    async fn details(
        state: &AppState,
        o: &Organization,
        caller: &Caller,
    ) -> Result<OrganizationOut, ApiError> {
        let mut out = OrganizationOut::new(o, Some(scope_names(state, caller.scopes)));
        // While the feature is off (under a policy that requires it) the fields read as
        // unset (false, []), consistent with the PUT's 404: what is stored is not shown.
        let (on, listed) = match resource(state, REPLAY) {
            Ok(g) if g.enabled_by(&o.features) => {
                (toggle_on(o, g), listed_user_ids(state, o, g).await?)
            }
            _ => (false, Vec::new()),
        };
        out.has_granular_replay_permissions = Some(on);
        out.replay_access_members = Some(listed);
        Ok(out)
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
    let slug = check_org_slug("slug", &body.slug.unwrap_or_else(|| slugify(&name)))?;
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
    Ok(AppJson(
        OrganizationOut::details(&state, &org, &caller).await?,
    ))
}

/// Reads a present field, `null` included, as `Some(None)`: absent stays `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
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
    /// Turns the replay allowlist on or off (`sentry:granular-replay-permissions`).
    pub has_granular_replay_permissions: Option<bool>,
    /// User ids: replaces the replay allowlist's members that have a user (`null` = empty).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub replay_access_members: Option<Option<Vec<i64>>>,
    /// Member ids: replaces the whole member allowlist, pending invites included (beyond
    /// Sentry; not together with `replayAccessMembers`).
    pub replay_access_member_ids: Option<Vec<i64>>,
    /// `true` restores an organization pending deletion (callers holding `org:admin`, as
    /// Sentry's owner serializer; ignored for others and for an active organization).
    pub cancel_deletion: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    AppJson(body): AppJson<UpdateOrg>,
) -> Result<AppJson<OrganizationOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let granular = replay_edit(&state, &caller, &org, &body)?;
    let mut change = OrgUpdate {
        name: body
            .name
            .as_deref()
            .map(|n| check_name("name", n))
            .transpose()?,
        slug: body
            .slug
            .as_deref()
            .map(|s| check_org_slug("slug", s))
            .transpose()?,
        open_membership: body.open_membership,
        require_2fa: body.require_2fa,
        require_sso: body.require_sso,
        cancel_deletion: body.cancel_deletion == Some(true) && holds(&state, &caller, "org:admin"),
        ..OrgUpdate::default()
    };
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
        .edit_org(org.id, &change, granular.as_ref(), &caller.actor)
        .await
        .map_err(|e| match (e, &change.slug) {
            // Sentry: a slug in use is a field error (400), not a conflict.
            (StoreError::Conflict, Some(slug)) => {
                ApiError::field_list("slug", format!("The slug \"{slug}\" is already in use."))
            }
            (e, _) => rejected(
                "replayAccessMembers",
                "replayAccessMemberIds",
                "replayAccessTeams",
            )(e),
        })?;
    Ok(AppJson(
        OrganizationOut::details(&state, &org, &caller).await?,
    ))
}

/// The replay part of an organization PUT, after Sentry's checks (feature 404, scope 403);
/// `None` when the body has no replay field.
fn replay_edit(
    state: &AppState,
    caller: &Caller,
    org: &Organization,
    body: &UpdateOrg,
) -> Result<Option<GranularEdit>, ApiError> {
    if body.has_granular_replay_permissions.is_none()
        && body.replay_access_members.is_none()
        && body.replay_access_member_ids.is_none()
    {
        return Ok(None);
    }
    let g = resource(state, REPLAY)
        .map_err(|_| ApiError::NotFound(super::granular::FEATURE_OFF.into()))?;
    check_manage(caller, org, g).map_err(|e| match e {
        ApiError::Forbidden(_) => ApiError::Forbidden(
            "You do not have permission to modify granular replay permissions.".into(),
        ),
        other => other,
    })?;
    let members = match (&body.replay_access_members, &body.replay_access_member_ids) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Field {
                field: "replayAccessMemberIds".into(),
                message: "Give either replayAccessMembers or replayAccessMemberIds, not both."
                    .into(),
            })
        }
        (Some(users), None) => Some(GrantSelection::UserIds(users.clone().unwrap_or_default())),
        (None, Some(ids)) => Some(GrantSelection::MemberIds(ids.clone())),
        (None, None) => None,
    };
    Ok(Some(GranularEdit {
        kind: g.kind.clone(),
        toggle_option: g.toggle_option.clone(),
        toggle: body.has_granular_replay_permissions,
        members,
        teams: None,
        toggle_field: "hasGranularReplayPermissions".into(),
        members_field: "replayAccessMembers".into(),
    }))
}

/// Whether the caller holds scope `name` in the URL's organization.
fn holds(state: &AppState, caller: &Caller, name: &str) -> bool {
    state
        .policy
        .scopes
        .id(name)
        .is_some_and(|id| caller.scopes.contains(id))
}

/// Sentry's organization DELETE: 202 with the organization, now pending deletion (its
/// removal due after the grace period); again on a pending one: 202, the schedule kept.
async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_user()?;
    let org = super::org(&state, &slug).await?;
    let grace = i64::try_from(state.org_deletion_grace.as_secs()).unwrap_or(i64::MAX);
    let due = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .saturating_add(grace);
    let org = state
        .store
        .schedule_org_deletion(org.id, due, &caller.actor)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        AppJson(OrganizationOut::details(&state, &org, &caller).await?),
    )
        .into_response())
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
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let entries = state.store.audit_log(org.id, paging.store_page()).await?;
    let out: Vec<AuditOut> = entries.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}
