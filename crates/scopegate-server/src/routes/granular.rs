//! Granular access (product.md §5): the allowlist of a resource kind of the policy
//! (`replay`), by member and by team, at `/api/0/organizations/{org}/granular-access/{kind}/`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_store::{GranularGrant, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/0/organizations/{organization_id_or_slug}/granular-access/{kind}/",
        get(show).put(replace),
    )
}

/// An allowlist.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GranularAccessOut {
    /// The resource kind.
    pub kind: String,
    /// Member ids on the list.
    pub members: Vec<String>,
    /// Team ids on the list (their members are listed through them).
    pub teams: Vec<String>,
}

/// The body of a replacement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GranularAccessBody {
    /// Member ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// Team ids.
    #[serde(default)]
    pub teams: Vec<String>,
}

fn check_kind(state: &AppState, kind: &str) -> Result<(), ApiError> {
    match state.policy.granular(kind) {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!(
            "No granular resource kind `{kind}`"
        ))),
    }
}

async fn current(state: &AppState, org: i64, kind: &str) -> Result<GranularAccessOut, ApiError> {
    let grants = state.store.grants(org).await?;
    let of_kind = || grants.iter().filter(|g| g.kind == kind);
    Ok(GranularAccessOut {
        kind: kind.to_string(),
        members: of_kind()
            .filter_map(|g| g.member_id.map(|i| i.to_string()))
            .collect(),
        teams: of_kind()
            .filter_map(|g| g.team_id.map(|i| i.to_string()))
            .collect(),
    })
}

async fn show(
    State(state): State<AppState>,
    Path((slug, kind)): Path<(String, String)>,
) -> Result<AppJson<GranularAccessOut>, ApiError> {
    check_kind(&state, &kind)?;
    let org = super::org(&state, &slug).await?;
    Ok(AppJson(current(&state, org.id, &kind).await?))
}

fn ids(field: &str, raw: &[String]) -> Result<Vec<i64>, ApiError> {
    let mut out: Vec<i64> = raw
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| ApiError::BadRequest(format!("{field}: `{s}` is not an id")))
        })
        .collect::<Result<_, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, kind)): Path<(String, String)>,
    AppJson(body): AppJson<GranularAccessBody>,
) -> Result<AppJson<GranularAccessOut>, ApiError> {
    check_kind(&state, &kind)?;
    let members = ids("members", &body.members)?;
    let teams = ids("teams", &body.teams)?;
    let org = super::org(&state, &slug).await?;
    let grants: Vec<GranularGrant> = members
        .iter()
        .map(|m| GranularGrant {
            kind: kind.clone(),
            member_id: Some(*m),
            team_id: None,
        })
        .chain(teams.iter().map(|t| GranularGrant {
            kind: kind.clone(),
            member_id: None,
            team_id: Some(*t),
        }))
        .collect();
    state
        .store
        .set_grants(org.id, &kind, &grants, &caller.actor)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::BadRequest(
                "members: every member and team must belong to the organization".into(),
            ),
            other => other.into(),
        })?;
    Ok(AppJson(current(&state, org.id, &kind).await?))
}
