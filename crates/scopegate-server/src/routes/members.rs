//! Members: list, invite, accept an invite, change role, remove. Team membership (join,
//! leave, team roles) is in [`super::member_teams`]; the shapes it returns are here.
//!
//! The member routes follow Sentry's tests (`tests/sentry/core/endpoints/
//! test_organization_member_index.py`, `test_organization_member_details.py`): invites in
//! [`super::member_invite`], member details (GET, PUT, DELETE) in [`super::member_details`].
//! `me` names the caller's own membership wherever a member id is expected.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use scopegate_store::{Member, MemberTeam, TeamMembership};
use serde::{Deserialize, Serialize};

use super::member_details::{details, edit, remove};
pub use super::member_details::{RoleBody, TeamRoleItem};
use super::member_invite::invite;
pub use super::member_invite::InviteBody;
use super::{conflict, date, missing, parse_id};
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
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
            get(details).put(edit).delete(remove),
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
    /// The org role under its deprecated name (Sentry still returns both).
    pub role: String,
    /// The user id; `null` for a pending invite.
    pub user: Option<String>,
    /// A pending invite.
    pub pending: bool,
    /// A pending invite past its expiry (Sentry's `expired`); always false for members.
    pub expired: bool,
    /// Creation time.
    pub date_created: String,
    /// The member's team slugs (member details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    /// The member's teams with their explicit team roles (member details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_roles: Option<Vec<TeamRoleOut>>,
}

/// A team of a member with its explicit team role.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRoleOut {
    /// The team slug.
    pub team_slug: String,
    /// The explicit team role (`null`: the minimum for the org role).
    pub role: Option<String>,
}

impl From<Member> for MemberOut {
    fn from(m: Member) -> MemberOut {
        MemberOut {
            id: m.id.to_string(),
            expired: m.invite_expired(now()),
            email: m.email,
            org_role: m.role.clone(),
            role: m.role,
            user: m.user_id.map(|u| u.to_string()),
            pending: m.user_id.is_none(),
            date_created: date(m.created_at),
            teams: None,
            team_roles: None,
        }
    }
}

impl MemberOut {
    /// With the member's teams (member details).
    pub fn with_teams(mut self, teams: Vec<MemberTeam>) -> MemberOut {
        self.teams = Some(teams.iter().map(|t| t.slug.clone()).collect());
        self.team_roles = Some(
            teams
                .into_iter()
                .map(|t| TeamRoleOut {
                    team_slug: t.slug,
                    role: t.role,
                })
                .collect(),
        );
        self
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let members = state.store.members(org.id, paging.store_page()).await?;
    let out: Vec<MemberOut> = members.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}

/// The member of organization `org` (an id) named by a path segment.
async fn target(state: &AppState, org: i64, raw: &str) -> Result<Member, ApiError> {
    state
        .store
        .member(org, parse_id(raw)?)
        .await
        .map_err(missing("The requested resource does not exist"))
}

/// The member named by a path segment: an id, or `me` for the caller's own membership
/// (Sentry's `OrganizationMemberEndpoint._get_member`); 404 otherwise.
pub(crate) async fn member_or_me(
    state: &AppState,
    org: i64,
    raw: &str,
    caller: &Caller,
) -> Result<Member, ApiError> {
    if raw != "me" {
        return target(state, org, raw).await;
    }
    let id = caller
        .member_id
        .ok_or_else(|| ApiError::NotFound("The requested resource does not exist".into()))?;
    state
        .store
        .member(org, id)
        .await
        .map_err(missing("The requested resource does not exist"))
}

async fn accept(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, member)): Path<(String, String)>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let user = caller.require_user()?;
    let gone = || ApiError::NotFound("The invite does not exist or is not for you.".into());
    let org = caller.org.as_ref().ok_or_else(gone)?;
    let invite = target(&state, org.id, &member).await.map_err(|_| gone())?;
    // INVARIANT: an invite is accepted only by the user it was sent to, before it expires.
    let for_caller = invite
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(&user.email));
    if invite.user_id.is_some() || !for_caller || invite.invite_expired(now()) {
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
