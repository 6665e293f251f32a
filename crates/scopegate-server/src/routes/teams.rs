//! Teams: list and create (`/api/0/organizations/{org}/teams/`), details, update and delete
//! (`/api/0/teams/{org}/{team}/`, the team by id or slug), and a team's members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::Team;
use serde::{Deserialize, Serialize};

use super::members::TeamMembershipOut;
use super::team_access::{team_by_id_or_slug, TeamAccess};
use super::{check_name, check_slug, conflict, slugify};
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::paging::Paging;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/organizations/{organization_id_or_slug}/teams/",
            get(list).post(create),
        )
        .route(
            "/api/0/teams/{organization_id_or_slug}/{team_id_or_slug}/",
            get(details).put(update).delete(remove),
        )
        .route(
            "/api/0/teams/{organization_id_or_slug}/{team_id_or_slug}/members/",
            get(members),
        )
}

/// A team.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamOut {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// The caller is a member of the team (Sentry's `isMember`).
    pub is_member: bool,
}

impl TeamOut {
    /// The team, with whether the caller is on it.
    pub fn new(t: Team, is_member: bool) -> TeamOut {
        TeamOut {
            id: t.id.to_string(),
            slug: t.slug,
            name: t.name,
            is_member,
        }
    }
}

const NOT_FOUND: &str = "The requested resource does not exist";

/// Sentry's `DEFAULT_SLUG_ERROR_MESSAGE`.
const SLUG_ERROR: &str = "Enter a valid slug consisting of lowercase letters, numbers, \
                          underscores or hyphens. It cannot be entirely numeric.";

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let access = TeamAccess::of(&state, &caller);
    let teams = state.store.teams(org.id, paging.store_page()).await?;
    let out: Vec<TeamOut> = teams
        .into_iter()
        .map(|t| {
            let on = access.has_team_membership(&t);
            TeamOut::new(t, on)
        })
        .collect();
    Ok(paging.respond(out))
}

/// The body of a team or project creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Name (made from the slug when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// Slug (made from the name when absent).
    #[serde(default)]
    pub slug: Option<String>,
}

impl CreateBody {
    /// The checked slug and name.
    pub fn resolve(self) -> Result<(String, String), ApiError> {
        let (slug, name) = match (self.slug, self.name) {
            (Some(s), Some(n)) => (s, check_name("name", &n)?),
            (Some(s), None) => (s.clone(), s),
            (None, Some(n)) => {
                let n = check_name("name", &n)?;
                (slugify(&n), n)
            }
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "slug: a name or a slug is required".into(),
                ))
            }
        };
        check_slug("slug", &slug)?;
        Ok((slug, name))
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    AppJson(body): AppJson<CreateBody>,
) -> Result<Response, ApiError> {
    let (team_slug, name) = body.resolve()?;
    let org = caller.require_org()?;
    let team = state
        .store
        .create_team(org.id, &team_slug, &name, &caller.actor)
        .await
        .map_err(conflict("A team with this slug already exists."))?;
    Ok((StatusCode::CREATED, AppJson(TeamOut::new(team, false))).into_response())
}

async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
) -> Result<AppJson<TeamOut>, ApiError> {
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    let on = TeamAccess::of(&state, &caller).has_team_membership(&team);
    Ok(AppJson(TeamOut::new(team, on)))
}

/// The body of a team update (Sentry's `TeamDetailsSerializer`): each field optional.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamBody {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New slug; it must be free in the organization.
    #[serde(default)]
    pub slug: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
    AppJson(body): AppJson<UpdateTeamBody>,
) -> Result<AppJson<TeamOut>, ApiError> {
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    let name = body
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    if let Some(s) = &body.slug {
        check_slug("slug", s).map_err(|_| ApiError::Field {
            field: "slug".into(),
            message: SLUG_ERROR.into(),
        })?;
    }
    let taken = |s: &str| ApiError::Field {
        field: "slug".into(),
        message: format!("The slug \"{s}\" is already in use."),
    };
    if let Some(s) = body.slug.as_deref().filter(|s| *s != team.slug) {
        if state.store.team_by_slug(org.id, s).await.is_ok() {
            return Err(taken(s));
        }
    }
    let updated = state
        .store
        .update_team(
            org.id,
            team.id,
            body.slug.as_deref(),
            name.as_deref(),
            &caller.actor,
        )
        .await
        .map_err(|e| match e {
            // A concurrent rename took the slug between the check and the write.
            scopegate_store::StoreError::Conflict => taken(body.slug.as_deref().unwrap_or("")),
            other => other.into(),
        })?;
    let on = TeamAccess::of(&state, &caller).has_team_membership(&updated);
    Ok(AppJson(TeamOut::new(updated, on)))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    state
        .store
        .delete_team(org.id, team.id, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
) -> Result<AppJson<Vec<TeamMembershipOut>>, ApiError> {
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    let members = state.store.team_members(team.id).await?;
    Ok(AppJson(members.into_iter().map(Into::into).collect()))
}
