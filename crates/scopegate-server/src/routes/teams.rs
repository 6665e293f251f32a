//! Teams: list and create (`/api/0/organizations/{org}/teams/`), details and delete
//! (`/api/0/teams/{org}/{team}/`), and a team's members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::Team;
use serde::{Deserialize, Serialize};

use super::members::TeamMembershipOut;
use super::{check_name, check_slug, conflict, slugify};
use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
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
            get(details).delete(remove),
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
}

impl From<Team> for TeamOut {
    fn from(t: Team) -> TeamOut {
        TeamOut {
            id: t.id.to_string(),
            slug: t.slug,
            name: t.name,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = super::org(&state, &slug).await?;
    let teams = state.store.teams(org.id, paging.store_page()).await?;
    let out: Vec<TeamOut> = teams.into_iter().map(Into::into).collect();
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
    Path(slug): Path<String>,
    AppJson(body): AppJson<CreateBody>,
) -> Result<Response, ApiError> {
    let (team_slug, name) = body.resolve()?;
    let org = super::org(&state, &slug).await?;
    let team = state
        .store
        .create_team(org.id, &team_slug, &name, &caller.actor)
        .await
        .map_err(conflict("A team with this slug already exists."))?;
    Ok((StatusCode::CREATED, AppJson(TeamOut::from(team))).into_response())
}

async fn details(
    State(state): State<AppState>,
    Path((slug, team)): Path<(String, String)>,
) -> Result<AppJson<TeamOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    Ok(AppJson(
        state.store.team_by_slug(org.id, &team).await?.into(),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, team)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = super::org(&state, &slug).await?;
    let team = state.store.team_by_slug(org.id, &team).await?;
    state
        .store
        .delete_team(org.id, team.id, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(state): State<AppState>,
    Path((slug, team)): Path<(String, String)>,
) -> Result<AppJson<Vec<TeamMembershipOut>>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let team = state.store.team_by_slug(org.id, &team).await?;
    let members = state.store.team_members(team.id).await?;
    Ok(AppJson(members.into_iter().map(Into::into).collect()))
}
