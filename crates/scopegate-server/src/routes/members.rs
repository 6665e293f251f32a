//! Members: list, invite, accept an invite, change role, remove; and team membership with
//! team roles.
//!
//! # Role rules (sentry-model.md §2.4)
//!
//! - Nobody may change their own role: 400 "You cannot make changes to your own role."
//! - Nobody may assign a role whose scopes are not a subset of their own, nor change or
//!   remove a member whose current role is above theirs (400).
//! - A retired role may not be newly assigned (400); members holding it keep it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use scopegate_store::{Member, Organization, Page, TeamMembership};
use serde::{Deserialize, Serialize};

use super::{check_assignable, conflict, date, missing, parse_id, role_scopes};
use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::paging::Paging;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/organizations/{organization_id_or_slug}/members/",
            get(list).post(invite),
        )
        .route(
            "/api/0/organizations/{organization_id_or_slug}/members/{member_id}/",
            get(details).put(change_role).delete(remove),
        )
        .route(
            "/api/0/accept-invite/{organization_id_or_slug}/{member_id}/",
            post(accept),
        )
}

/// A member or a pending invite.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    /// Id.
    pub id: String,
    /// Email (the invited address for invites).
    pub email: Option<String>,
    /// The org role.
    pub org_role: String,
    /// The user id; `null` for a pending invite.
    pub user: Option<String>,
    /// A pending invite.
    pub pending: bool,
    /// Creation time.
    pub date_created: String,
}

impl From<Member> for MemberOut {
    fn from(m: Member) -> MemberOut {
        MemberOut {
            id: m.id.to_string(),
            email: m.email,
            org_role: m.role,
            user: m.user_id.map(|u| u.to_string()),
            pending: m.user_id.is_none(),
            date_created: date(m.created_at),
        }
    }
}

async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = super::org(&state, &slug).await?;
    let members = state.store.members(org.id, paging.store_page()).await?;
    let out: Vec<MemberOut> = members.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}

/// The body of an invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteBody {
    /// The address to invite.
    pub email: String,
    /// The org role (Sentry's `orgRole`; `role` is accepted as its older name).
    #[serde(alias = "role")]
    pub org_role: String,
}

fn check_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_string())
    } else {
        Err(ApiError::BadRequest(
            "email: Enter a valid email address.".into(),
        ))
    }
}

async fn invite(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    AppJson(body): AppJson<InviteBody>,
) -> Result<Response, ApiError> {
    let org = super::org(&state, &slug).await?;
    let email = check_email(&body.email)?;
    check_assignable(&state, &caller, &org, &body.org_role)?;
    let member = state
        .store
        .invite_member(org.id, &email, &body.org_role, &caller.actor)
        .await
        .map_err(conflict(
            "The user is already a member or has already been invited.",
        ))?;
    Ok((StatusCode::CREATED, AppJson(MemberOut::from(member))).into_response())
}

async fn target(state: &AppState, org: &Organization, raw: &str) -> Result<Member, ApiError> {
    state
        .store
        .member(org.id, parse_id(raw)?)
        .await
        .map_err(missing("The requested resource does not exist"))
}

async fn details(
    State(state): State<AppState>,
    Path((slug, member)): Path<(String, String)>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    Ok(AppJson(target(&state, &org, &member).await?.into()))
}

/// The body of a role change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleBody {
    /// The new org role.
    #[serde(alias = "role")]
    pub org_role: String,
}

/// 400 unless the caller outranks or equals `member`'s current role.
fn check_outranks(
    state: &AppState,
    caller: &Caller,
    org: &Organization,
    member: &Member,
    what: &str,
) -> Result<(), ApiError> {
    let current = role_scopes(state, org, &member.role).unwrap_or_default();
    if current.is_subset(caller.scopes) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "You do not have permission to {what} this member."
        )))
    }
}

async fn change_role(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
    AppJson(body): AppJson<RoleBody>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let member = target(&state, &org, &member).await?;
    if caller.member_id == Some(member.id) {
        return Err(ApiError::BadRequest(
            "You cannot make changes to your own role.".into(),
        ));
    }
    check_outranks(&state, &caller, &org, &member, "modify")?;
    check_assignable(&state, &caller, &org, &body.org_role)?;
    let member = state
        .store
        .set_member_role(org.id, member.id, &body.org_role, &caller.actor)
        .await?;
    Ok(AppJson(member.into()))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = super::org(&state, &slug).await?;
    let member = target(&state, &org, &member).await?;
    check_outranks(&state, &caller, &org, &member, "remove")?;
    let top = state.policy.org_roles.last().map(|r| r.id.as_str());
    if top == Some(member.role.as_str()) && member.user_id.is_some() {
        let all = Page {
            offset: 0,
            limit: u32::MAX >> 1,
        };
        let owners = state
            .store
            .members(org.id, all)
            .await?
            .iter()
            .filter(|m| Some(m.role.as_str()) == top && m.user_id.is_some())
            .count();
        if owners <= 1 {
            return Err(ApiError::BadRequest(
                "You cannot remove the only remaining owner of the organization.".into(),
            ));
        }
    }
    state
        .store
        .remove_member(org.id, member.id, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn accept(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let user = caller.require_user()?;
    let gone = || ApiError::NotFound("The invite does not exist or is not for you.".into());
    let org = state.store.org_by_slug(&slug).await.map_err(|_| gone())?;
    let invite = target(&state, &org, &member).await.map_err(|_| gone())?;
    // INVARIANT: an invite is accepted only by the user it was sent to.
    let for_caller = invite
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(&user.email));
    if invite.user_id.is_some() || !for_caller {
        return Err(gone());
    }
    let member = state
        .store
        .accept_invite(org.id, invite.id, user.id, &caller.actor)
        .await
        .map_err(conflict("You are already a member of this organization."))?;
    Ok(AppJson(member.into()))
}

/// A team membership.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMembershipOut {
    /// The member id.
    pub id: String,
    /// The team id.
    pub team: String,
    /// The explicit team role (`null`: the minimum for the org role).
    pub team_role: Option<String>,
}

impl From<TeamMembership> for TeamMembershipOut {
    fn from(m: TeamMembership) -> TeamMembershipOut {
        TeamMembershipOut {
            id: m.member_id.to_string(),
            team: m.team_id.to_string(),
            team_role: m.role,
        }
    }
}

/// The body of a team-role change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeamRoleBody {
    /// The team role.
    pub team_role: String,
}
