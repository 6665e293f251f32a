//! Access requests (`/api/0/organizations/{org}/access-requests/` and `…/{request_id}/`), as
//! Sentry's `OrganizationAccessRequestDetailsEndpoint`: a member who may not join a team
//! directly (closed membership, not a team admin) gets a request (`member_teams.rs`, 202);
//! those who may approve it list and resolve it here.
//!
//! Who may resolve a request for team T (Sentry's `_can_access`): a holder of `org:admin`,
//! `org:write`, `member:admin` or `member:write`, or a caller holding `team:admin` or
//! `team:write` for T (team reach required: an org admin who is not on T, in a closed
//! organization, may not). The list holds every open request for `org:write` holders, and
//! otherwise those of the teams the caller is on and may resolve.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Extension, Router};
use scopegate_store::{AccessRequest, Team};
use serde::{Deserialize, Serialize};

use super::members::MemberOut;
use super::team_access::TeamAccess;
use super::teams::TeamOut;
use super::UserOut;
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/organizations/{organization_id_or_slug}/access-requests/",
            get(list),
        )
        .route(
            "/api/0/organizations/{organization_id_or_slug}/access-requests/{request_id}/",
            put(resolve),
        )
}

/// An access request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequestOut {
    /// Id.
    pub id: String,
    /// The member who would join.
    pub member: MemberOut,
    /// The team.
    pub team: TeamOut,
    /// The user who asked on the member's behalf (`null`: the member asked).
    #[schema(value_type = Option<Object>)]
    pub requester: Option<UserOut>,
}

/// The body of a resolution.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolveBody {
    /// Approve (`true`, or `1`) or deny (`false`, or `0`).
    #[allow(dead_code, reason = "the schema of the body, parsed from a JSON value")]
    pub is_approved: bool,
}

/// Sentry's `_can_access`.
fn can_resolve(access: &TeamAccess, team: &Team) -> bool {
    ["org:admin", "org:write", "member:admin", "member:write"]
        .iter()
        .any(|s| access.has_scope(s))
        || access.has_team_scope(team, "team:admin")
        || access.has_team_scope(team, "team:write")
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<AppJson<Vec<AccessRequestOut>>, ApiError> {
    let org = caller.require_org()?;
    let access = TeamAccess::of(&state, &caller);
    let every = access.has_scope("org:write");
    let mut out = Vec::new();
    for r in state.store.access_requests(org.id).await? {
        let team = state.store.team(org.id, r.team_id).await?;
        let theirs = access.has_team_membership(&team) && can_resolve(&access, &team);
        if !(every || theirs) {
            continue;
        }
        out.push(request_out(&state, &access, r, team).await?);
    }
    Ok(AppJson(out))
}

async fn request_out(
    state: &AppState,
    access: &TeamAccess,
    r: AccessRequest,
    team: Team,
) -> Result<AccessRequestOut, ApiError> {
    let member = state.store.member(r.organization_id, r.member_id).await?;
    let requester = match r.requester_user_id {
        Some(id) => state.store.user(id).await.ok().map(|u| UserOut {
            id: u.id.to_string(),
            email: u.email,
        }),
        None => None,
    };
    let on = access.has_team_membership(&team);
    Ok(AccessRequestOut {
        id: r.id.to_string(),
        member: member.into(),
        team: TeamOut::new(team, on),
        requester,
    })
}

/// `isApproved` as Sentry's `BooleanField` reads JSON: a boolean, or 1 / 0.
fn is_approved(body: &serde_json::Value) -> Result<bool, ApiError> {
    let field = |message: &str| ApiError::Field {
        field: "isApproved".into(),
        message: message.into(),
    };
    let Some(obj) = body.as_object() else {
        return Err(ApiError::BadRequest(
            "body: expected a JSON object with `isApproved`".into(),
        ));
    };
    match obj.get("isApproved") {
        None | Some(serde_json::Value::Null) => Err(field("This field is required.")),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(v) if v.as_u64() == Some(1) => Ok(true),
        Some(v) if v.as_u64() == Some(0) => Ok(false),
        Some(_) => Err(field("Must be a valid boolean.")),
    }
}

async fn resolve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    AppJson(body): AppJson<serde_json::Value>,
) -> Result<StatusCode, ApiError> {
    let org = caller.require_org()?;
    let id = super::parse_id(&id)?;
    let request = state
        .store
        .access_request(org.id, id)
        .await
        .map_err(super::missing("The requested resource does not exist"))?;
    let team = state.store.team(org.id, request.team_id).await?;
    let access = TeamAccess::of(&state, &caller);
    if !can_resolve(&access, &team) {
        return Err(ApiError::Forbidden(
            "You do not have permission to perform this action.".into(),
        ));
    }
    let approve = is_approved(&body)?;
    state
        .store
        .resolve_access_request(org.id, id, approve, &caller.actor)
        .await
        .map_err(super::missing("The requested resource does not exist"))?;
    Ok(StatusCode::NO_CONTENT)
}
