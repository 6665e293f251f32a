//! Team membership (`/api/0/organizations/{org}/members/{member}/teams/{team}/`), as Sentry's
//! `OrganizationMemberTeamDetailsEndpoint`: read, join (or ask to join), change the team
//! role, leave.
//!
//! The engine admits what Sentry's `OrganizationTeamMemberPermission` admits (`org:read`
//! included, with the manifest's exception note); the handlers then apply Sentry's rules:
//!
//! - **Join / add** (POST): allowed with global access (open membership, or a manager or
//!   owner) or to a team admin of the team (`can_admin_team`); anyone else gets an access
//!   request (202) that a team admin or an `org:write` / `member:write` holder approves
//!   (`access_requests.rs`). Already on the team: 204.
//! - **Leave / remove** (DELETE): yourself always; anyone when your org role holds
//!   `org:write` (manager, owner); else only a team admin of that team (400
//!   [`ERR_INSUFFICIENT_ROLE`]). Idempotent: 200 with the team when already gone.
//! - **Team role** (PUT, with the team-roles feature): the caller must be allowed to set both
//!   the new role and the member's current one (a team admin of the team, an org role whose
//!   minimum team role covers it, or their own team role covering it); else 400.
//!   Without the feature the role is ignored, as in Sentry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::{Member, Team};
use serde::Serialize;

use super::members::TeamRoleBody;
use super::team_access::{team_by_id_or_slug, TeamAccess, ERR_INSUFFICIENT_ROLE};
use super::teams::TeamOut;
use crate::auth::{Caller, CallerOrg};
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/0/organizations/{organization_id_or_slug}/members/{member_id}/teams/{team_id_or_slug}/",
        get(details).post(join).put(set_role).delete(leave),
    )
}

const NOT_FOUND: &str = "The requested resource does not exist";

/// A membership as Sentry's GET and PUT return it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberTeamOut {
    /// Always true (Sentry's `isActive`).
    pub is_active: bool,
    /// The explicit team role (`null`: the minimum for the org role).
    pub team_role: Option<String>,
}

/// The member named by the URL: an id, or `me` (the caller), as in Sentry.
async fn member(
    state: &AppState,
    caller: &Caller,
    org: &CallerOrg,
    raw: &str,
) -> Result<Member, ApiError> {
    let id = if raw == "me" {
        caller
            .member_id
            .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?
    } else {
        super::parse_id(raw)?
    };
    state
        .store
        .member(org.id, id)
        .await
        .map_err(super::missing(NOT_FOUND))
}

/// The organization (as `authorize` resolved it), member and team of the URL.
async fn resolve<'c>(
    state: &AppState,
    caller: &'c Caller,
    (_, member_raw, team_raw): &(String, String, String),
) -> Result<(&'c CallerOrg, Member, Team), ApiError> {
    let org = caller.require_org()?;
    let m = member(state, caller, org, member_raw).await?;
    let team = team_by_id_or_slug(state, org.id, team_raw, NOT_FOUND).await?;
    Ok((org, m, team))
}

/// The explicit team role of `member` on `team`, if a member of it (outer `None`: not on it).
async fn membership(
    state: &AppState,
    team: &Team,
    member: &Member,
) -> Result<Option<Option<String>>, ApiError> {
    Ok(state
        .store
        .team_members(team.id)
        .await?
        .into_iter()
        .find(|m| m.member_id == member.id)
        .map(|m| m.role))
}

/// The team as returned after a join or a leave, with `isMember` for the caller read from
/// the store: the answer shows the handler's own write, which the index snapshot the
/// request was decided over predates.
async fn team_out(
    state: &AppState,
    caller: &Caller,
    org: &CallerOrg,
    team: Team,
) -> Result<TeamOut, ApiError> {
    let is_member = match caller.member_id {
        Some(own) => state
            .store
            .member_teams(org.id, own)
            .await?
            .iter()
            .any(|t| t.team_id == team.id),
        None => false,
    };
    Ok(TeamOut::new(team, is_member))
}

async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
) -> Result<AppJson<MemberTeamOut>, ApiError> {
    let (_, m, team) = resolve(&state, &caller, &path).await?;
    let role = membership(&state, &team, &m)
        .await?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    Ok(AppJson(MemberTeamOut {
        is_active: true,
        team_role: role,
    }))
}

async fn join(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Some(user) = caller.user.as_ref() else {
        // Sentry answers 401 to callers that are not users (org auth tokens).
        return Err(ApiError::Unauthenticated(
            "Joining a team needs a user's credential".into(),
        ));
    };
    let (org, m, team) = resolve(&state, &caller, &path).await?;
    if membership(&state, &team, &m).await?.is_some() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let access = TeamAccess::of(&state, &caller);
    if !(access.global || access.can_admin_team(&team)) {
        let requester = (m.user_id != Some(user.id)).then_some(user.id);
        state
            .store
            .create_access_request(org.id, team.id, m.id, requester)
            .await?;
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    // Joined concurrently since the check above: as "already on the team" (no downgrade).
    if state
        .store
        .join_team(org.id, team.id, m.id, &caller.actor)
        .await?
        .is_none()
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let out = team_out(&state, &caller, org, team).await?;
    Ok((StatusCode::CREATED, AppJson(out)).into_response())
}

/// Sentry's `can_set_team_role`: a team admin of the team, an org role whose minimum team
/// role covers `role`, or the caller's own team role on the team covering it.
async fn can_set_team_role(
    state: &AppState,
    caller: &Caller,
    access: &TeamAccess,
    team: &Team,
    role: usize,
) -> Result<bool, ApiError> {
    if access.can_admin_team(team) {
        return Ok(true);
    }
    let Some(org_role) = access.org_role else {
        return Ok(false);
    };
    let minimum = state.policy.minimum_team_role(org_role);
    if minimum.is_some_and(|min| min >= role) {
        return Ok(true);
    }
    let own = match caller.member_id {
        Some(id) => state
            .store
            .team_members(team.id)
            .await?
            .into_iter()
            .find(|m| m.member_id == id),
        None => None,
    };
    let Some(own) = own else {
        return Ok(false);
    };
    let explicit = own
        .role
        .as_deref()
        .and_then(|r| state.policy.team_role(r))
        .map(|(i, _)| i)
        .filter(|_| access.team_roles);
    let effective = match (minimum, explicit) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(effective.is_some_and(|e| e >= role))
}

async fn set_role(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
    AppJson(body): AppJson<TeamRoleBody>,
) -> Result<AppJson<MemberTeamOut>, ApiError> {
    let (org, m, team) = resolve(&state, &caller, &path).await?;
    let Some(current) = membership(&state, &team, &m).await? else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    let Some((new_role, _)) = state.policy.team_role(&body.team_role) else {
        return Err(ApiError::BadRequest(format!(
            "teamRole: unknown team role `{}`",
            body.team_role
        )));
    };
    let access = TeamAccess::of(&state, &caller);
    if !access.team_roles {
        // Sentry ignores `teamRole` without the team-roles feature.
        return Ok(AppJson(MemberTeamOut {
            is_active: true,
            team_role: current,
        }));
    }
    let member_role = state.policy.org_role(&m.role).map(|(i, _)| i);
    let minimum = member_role.and_then(|r| state.policy.minimum_team_role(r));
    let old_role = current
        .as_deref()
        .and_then(|r| state.policy.team_role(r))
        .map(|(i, _)| i)
        .or(minimum);
    let can_new = can_set_team_role(&state, &caller, &access, &team, new_role).await?;
    let can_old = match old_role {
        Some(old) => can_set_team_role(&state, &caller, &access, &team, old).await?,
        None => true,
    };
    // Both, so that nobody downgrades a role above what they may grant (Sentry's VULN-734).
    if !(can_new && can_old) {
        return Err(ApiError::BadRequest(ERR_INSUFFICIENT_ROLE.into()));
    }
    // A role no higher than the member's minimum is stored as none, as Sentry does.
    let stored = if minimum.is_some_and(|min| new_role <= min) {
        None
    } else {
        Some(body.team_role.as_str())
    };
    let updated = state
        .store
        .set_team_role(org.id, team.id, m.id, stored, &caller.actor)
        .await?;
    Ok(AppJson(MemberTeamOut {
        is_active: true,
        team_role: updated.role,
    }))
}

async fn leave(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
) -> Result<AppJson<TeamOut>, ApiError> {
    let (org, m, team) = resolve(&state, &caller, &path).await?;
    let access = TeamAccess::of(&state, &caller);
    let own = caller
        .user
        .as_ref()
        .is_some_and(|u| m.user_id == Some(u.id));
    // Org owners and managers (their role holds org:write) remove from any team; an org
    // admin's team:admin does not reach teams they are not on.
    let allowed = caller.user.is_some()
        && (own || access.role_has("org:write") || access.can_admin_team(&team));
    if !allowed {
        return Err(ApiError::BadRequest(ERR_INSUFFICIENT_ROLE.into()));
    }
    state
        .store
        .remove_team_member(org.id, team.id, m.id, &caller.actor)
        .await?;
    Ok(AppJson(team_out(&state, &caller, org, team).await?))
}
