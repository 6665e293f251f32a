//! Granular access (docs/sentry-model.md §5): the allowlist of a resource kind of
//! the policy (`replay`), by member and by team, at
//! `/api/0/organizations/{org}/granular-access/{kind}/`, and the checks shared with the
//! Sentry-compatible fields of organization details (`hasGranularReplayPermissions`,
//! `replayAccessMembers`, `replayAccessMemberIds`).
//!
//! # What this module guarantees
//!
//! - **Sentry's checks in Sentry's order**: feature off → 404, caller without a
//!   `manage_scopes` scope of the kind → 403, ids outside the organization → 400 naming
//!   them sorted ([`check_manage`], [`rejected`]).
//! - **One transaction per edit** (`Store::edit_org`): the allowlist, the toggle, the other
//!   organization fields and every audit entry commit together or not at all.
//! - **Reads and writes see the same set**: `replayAccessMembers` lists user ids of granted
//!   members that have a user, and a user-id edit plans over exactly those members
//!   (`scopegate_core::granular`), so writing back what was read changes nothing.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Router};
use scopegate_core::policy::GranularResource;
use scopegate_store::{GrantSelection, GranularEdit, OrgUpdate, Organization, StoreError, Unknown};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/0/organizations/{organization_id_or_slug}/granular-access/{kind}/",
        get(show).put(replace),
    )
}

/// Sentry's 404 body when the kind's feature is off.
pub const FEATURE_OFF: &str = "This feature is not enabled for your organization.";

/// An allowlist.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GranularAccessOut {
    /// The resource kind.
    pub kind: String,
    /// Whether the allowlist is enforced (the kind's toggle option).
    pub enabled: bool,
    /// Member ids on the list (pending invites included), ascending.
    pub members: Vec<String>,
    /// Slugs of the teams on the list (their members are listed through them), sorted.
    pub teams: Vec<String>,
}

/// The body of a replacement; each field is optional and left unchanged when absent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GranularAccessBody {
    /// Turns enforcement on or off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Member ids: replaces the member list.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Team slugs: replaces the team list.
    #[serde(default)]
    pub teams: Option<Vec<String>>,
}

/// The policy's granular resource `kind`, or 404.
pub fn resource<'a>(state: &'a AppState, kind: &str) -> Result<&'a GranularResource, ApiError> {
    state
        .policy
        .granular(kind)
        .map(|(_, g)| g)
        .ok_or_else(|| ApiError::NotFound(format!("No granular resource kind `{kind}`")))
}

/// Sentry's checks before an edit, in Sentry's order: the kind's feature (404), then a
/// `manage_scopes` scope held by the caller in the organization (403).
pub fn check_manage(
    caller: &Caller,
    org: &Organization,
    g: &GranularResource,
) -> Result<(), ApiError> {
    if !g.enabled_by(&org.features) {
        return Err(ApiError::NotFound(FEATURE_OFF.into()));
    }
    if !caller.scopes.intersects(g.manage_scopes) {
        return Err(ApiError::Forbidden(format!(
            "You do not have permission to modify granular {} permissions.",
            g.kind
        )));
    }
    Ok(())
}

/// Maps the store's rejection of ids outside the organization to Sentry's field-keyed 400;
/// `users`, `members` and `teams` name the request fields.
pub fn rejected(users: &str, members: &str, teams: &str) -> impl Fn(StoreError) -> ApiError {
    let (users, members, teams) = (users.to_string(), members.to_string(), teams.to_string());
    move |e| match e {
        StoreError::NotInOrganization { what, ids } => {
            let (field, text) = match what {
                Unknown::Users => (
                    &users,
                    "Invalid user IDs (not members of this organization)",
                ),
                Unknown::Members => (
                    &members,
                    "Invalid member IDs (not members of this organization)",
                ),
                Unknown::Teams => (
                    &teams,
                    "Invalid team slugs (not teams of this organization)",
                ),
            };
            ApiError::Field {
                field: field.clone(),
                message: format!("{text}: [{}]", ids.join(", ")),
            }
        }
        StoreError::Conflict => {
            ApiError::Conflict("An organization with this slug already exists.".into())
        }
        other => other.into(),
    }
}

/// Whether `kind`'s toggle is on in `org`.
pub fn toggle_on(org: &Organization, g: &GranularResource) -> bool {
    super::option_value(org, &g.toggle_option).unwrap_or(false)
}

/// Sentry's `replayAccessMembers` read: user ids of members with a direct grant of `kind`
/// that have a user, ascending; empty while the toggle is off.
pub async fn listed_user_ids(
    state: &AppState,
    org: &Organization,
    g: &GranularResource,
) -> Result<Vec<u64>, ApiError> {
    if !toggle_on(org, g) {
        return Ok(Vec::new());
    }
    let ids = state.store.granted_user_ids(org.id, &g.kind).await?;
    Ok(ids
        .into_iter()
        .filter_map(|u| u64::try_from(u).ok())
        .collect())
}

async fn current(
    state: &AppState,
    org: &Organization,
    g: &GranularResource,
) -> Result<GranularAccessOut, ApiError> {
    let grants = state.store.grants(org.id).await?;
    let of_kind = || grants.iter().filter(|x| x.kind == g.kind);
    let mut members: Vec<i64> = of_kind().filter_map(|x| x.member_id).collect();
    members.sort_unstable();
    members.dedup();
    // The granted teams alone (not every team of the organization), in one read.
    let team_slugs = state.store.granted_team_slugs(org.id, &g.kind).await?;
    Ok(GranularAccessOut {
        kind: g.kind.clone(),
        enabled: toggle_on(org, g),
        members: members.iter().map(ToString::to_string).collect(),
        teams: team_slugs,
    })
}

async fn show(
    State(state): State<AppState>,
    Path((slug, kind)): Path<(String, String)>,
) -> Result<AppJson<GranularAccessOut>, ApiError> {
    let g = resource(&state, &kind)?;
    let org = super::org(&state, &slug).await?;
    Ok(AppJson(current(&state, &org, g).await?))
}

async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, kind)): Path<(String, String)>,
    AppJson(body): AppJson<GranularAccessBody>,
) -> Result<AppJson<GranularAccessOut>, ApiError> {
    let g = resource(&state, &kind)?;
    let org = super::org(&state, &slug).await?;
    check_manage(&caller, &org, g)?;
    let members = match &body.members {
        None => None,
        Some(raw) => {
            let mut bad: Vec<&str> = raw
                .iter()
                .filter(|s| s.parse::<i64>().is_err())
                .map(String::as_str)
                .collect();
            if !bad.is_empty() {
                bad.sort_unstable();
                bad.dedup();
                return Err(ApiError::Field {
                    field: "members".into(),
                    message: format!(
                        "Invalid member IDs (not members of this organization): [{}]",
                        bad.join(", ")
                    ),
                });
            }
            Some(GrantSelection::MemberIds(
                raw.iter().filter_map(|s| s.parse().ok()).collect(),
            ))
        }
    };
    let edit = GranularEdit {
        kind: g.kind.clone(),
        toggle_option: g.toggle_option.clone(),
        toggle: body.enabled,
        members,
        teams: body.teams,
        toggle_field: format!("granular:{}:enabled", g.kind),
        members_field: format!("granular:{}:members", g.kind),
    };
    let org = state
        .store
        .edit_org(org.id, &OrgUpdate::default(), Some(&edit), &caller.actor)
        .await
        .map_err(rejected("members", "members", "teams"))?;
    Ok(AppJson(current(&state, &org, g).await?))
}
