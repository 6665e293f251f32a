//! Projects: create under a team (`/api/0/teams/{org}/{team}/projects/`), list
//! (`/api/0/organizations/{org}/projects/`), details and delete
//! (`/api/0/projects/{org}/{project}/`), and the teams owning a project.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use scopegate_store::{Page, Project};
use serde::Serialize;

use super::conflict;
use super::team_access::{team_by_id_or_slug, TeamAccess};
use super::teams::CreateBody;
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::paging::Paging;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/teams/{organization_id_or_slug}/{team_id_or_slug}/projects/",
            get(team_projects).post(create),
        )
        .route(
            "/api/0/organizations/{organization_id_or_slug}/projects/",
            get(list),
        )
        .route(
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/",
            get(details).delete(remove),
        )
        .route(
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/teams/{team_id_or_slug}/",
            post(add_team).delete(remove_team),
        )
}

/// A project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectOut {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Owning team ids.
    pub teams: Vec<String>,
}

impl From<Project> for ProjectOut {
    fn from(p: Project) -> ProjectOut {
        ProjectOut {
            id: p.id.to_string(),
            slug: p.slug,
            name: p.name,
            teams: p.teams.iter().map(i64::to_string).collect(),
        }
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
    AppJson(body): AppJson<CreateBody>,
) -> Result<Response, ApiError> {
    let (project_slug, name) = body.resolve()?;
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    let project = state
        .store
        .create_project(org.id, &project_slug, &name, &[team.id], &caller.actor)
        .await
        .map_err(conflict("A project with this slug already exists."))?;
    Ok((StatusCode::CREATED, AppJson(ProjectOut::from(project))).into_response())
}

async fn team_projects(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, team)): Path<(String, String)>,
) -> Result<AppJson<Vec<ProjectOut>>, ApiError> {
    let org = caller.require_org()?;
    let team = team_by_id_or_slug(&state, org.id, &team, NOT_FOUND).await?;
    let all = Page {
        offset: 0,
        limit: u32::MAX >> 1,
    };
    let projects = state.store.projects(org.id, all).await?;
    Ok(AppJson(
        projects
            .into_iter()
            .filter(|p| p.teams.contains(&team.id))
            .map(Into::into)
            .collect(),
    ))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let projects = state.store.projects(org.id, paging.store_page()).await?;
    let out: Vec<ProjectOut> = projects.into_iter().map(Into::into).collect();
    Ok(paging.respond(out))
}

async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, project)): Path<(String, String)>,
) -> Result<AppJson<ProjectOut>, ApiError> {
    let org = caller.require_org()?;
    Ok(AppJson(
        state.store.project_by_slug(org.id, &project).await?.into(),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, project)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = caller.require_org()?;
    let project = state.store.project_by_slug(org.id, &project).await?;
    state
        .store
        .delete_project(org.id, project.id, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sentry's 404 for an unknown team on the project-team routes.
const TEAM_NOT_FOUND: &str = "Team does not exist.";

const NOT_FOUND: &str = "The requested resource does not exist";

/// Gives the project to a team (201 with the project, also when the team had it already, as
/// in Sentry); audited as `project-team.add` when it changed something.
async fn add_team(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, project, team)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let org = caller.require_org()?;
    let project = state.store.project_by_slug(org.id, &project).await?;
    let team = team_by_id_or_slug(&state, org.id, &team, TEAM_NOT_FOUND).await?;
    state
        .store
        .add_project_team(org.id, project.id, team.id, &caller.actor)
        .await?;
    let project = state.store.project_by_slug(org.id, &project.slug).await?;
    Ok((StatusCode::CREATED, AppJson(ProjectOut::from(project))).into_response())
}

/// Takes the project from a team: only with `project:write` for that team (a team admin
/// unlinks the teams they administer, not others: 403). 200 with the project, also when
/// the team did not have it.
async fn remove_team(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, project, team)): Path<(String, String, String)>,
) -> Result<AppJson<ProjectOut>, ApiError> {
    let org = caller.require_org()?;
    let project = state.store.project_by_slug(org.id, &project).await?;
    let team = team_by_id_or_slug(&state, org.id, &team, TEAM_NOT_FOUND).await?;
    let access = TeamAccess::of(&state, &caller);
    if !access.has_team_scope(&team, "project:write") {
        return Err(ApiError::Forbidden(
            "You do not have permission to perform this action.".into(),
        ));
    }
    state
        .store
        .remove_project_team(org.id, project.id, team.id, &caller.actor)
        .await?;
    let project = state.store.project_by_slug(org.id, &project.slug).await?;
    Ok(AppJson(project.into()))
}
