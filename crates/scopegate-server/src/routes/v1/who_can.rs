//! `GET /v1/who-can`: the members whose session (SSO done, no superuser or staff mode)
//! would be allowed, by member id, with each one's grant path; paged. Each answer goes to the
//! decision log when it is on: the question, the total and the page's members.

use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::response::Response;
use scopegate_core::codec::GrantCodes;
use scopegate_core::{Engine, Method, Principal, Request, Superuser};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::bad;
use crate::auth::ServiceCaller;
use crate::decision_log::{Api, Body, Entry};
use crate::error::ApiError;
use crate::paging::Paging;
use crate::AppState;

/// The query of `GET /v1/who-can`.
#[derive(Debug, Deserialize)]
pub(super) struct WhoCanQuery {
    organization: Option<String>,
    endpoint: Option<String>,
    method: Option<String>,
    project: Option<String>,
    team: Option<String>,
    at_least_revision: Option<String>,
}

/// One member who would be allowed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Allowed {
    /// The member's id.
    member: String,
    /// The member's user id.
    user: String,
    /// The member's org role.
    role: String,
    /// The grant path.
    grant: GrantCodes,
}

/// `GET /v1/who-can`.
pub(super) async fn who_can(
    State(state): State<AppState>,
    mut caller: ServiceCaller,
    headers: axum::http::HeaderMap,
    // `cursor` and `per_page`; links absolute as Sentry's (the Paging extractor).
    paging: Paging,
    query: Result<Query<WhoCanQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let from_query = q
        .at_least_revision
        .as_deref()
        .map(|t| crate::revision::parse("at_least_revision", t))
        .transpose()?;
    caller.index =
        crate::revision::at_least(&state, caller.index.clone(), &headers, from_query).await?;
    let required = |v: Option<String>, name: &str| v.ok_or_else(|| bad(name, "missing"));
    let organization = required(q.organization, "organization")?;
    let endpoint = required(q.endpoint, "endpoint")?;
    let method = required(q.method, "method")?
        .parse::<Method>()
        .map_err(|e| bad("method", e))?;
    if q.project.is_some() && q.team.is_some() {
        return Err(bad("team", "give a project or a team, not both"));
    }
    let mut request = Request {
        principal: Principal::Anonymous,
        endpoint,
        method,
        organization: Some(organization.clone()),
        project: q.project,
        team: q.team,
    };
    let index = &caller.index;
    let engine = Engine::new(&state.policy, &state.decision_manifest, &index.world);
    let mut allowed = Vec::new();
    if let Some(org) = index.world.org_by_slug(&organization) {
        for m in index.world.members_of(org) {
            let Some(user) = m.user else { continue };
            request.principal = Principal::Session {
                user,
                superuser: Superuser::None,
                staff: false,
                sso_ok: true,
            };
            if let Some(grant) = engine.decide(&request).grant {
                allowed.push(Allowed {
                    member: m.id.to_string(),
                    user: user.to_string(),
                    role: state
                        .policy
                        .org_roles
                        .get(m.role)
                        .map(|r| r.id.clone())
                        .unwrap_or_default(),
                    grant: GrantCodes(grant),
                });
            }
        }
    }
    allowed.sort_by_key(|a| a.member.parse::<u64>().unwrap_or(u64::MAX));
    let total = allowed.len();
    let page = paging.store_page();
    let items: Vec<Allowed> = allowed
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    if let Some(log) = &state.decision_log {
        log.record(Entry {
            at: SystemTime::now(),
            api: Api::WhoCan,
            context: caller.context.clone(),
            revision: index.revision,
            policy_version: state.policy_version.clone(),
            body: Body::WhoCan {
                request: json!({
                    "endpoint": request.endpoint,
                    "method": request.method.as_str(),
                    "organization": request.organization,
                    "project": request.project,
                    "team": request.team,
                }),
                answer: json!({"total": total, "offset": page.offset, "members": items}),
            },
        })
        .await;
    }
    let mut response = paging.respond(items);
    crate::revision::set_header(&mut response, index.revision);
    Ok(response)
}
