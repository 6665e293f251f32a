//! The decision API (`/v1/`): applications ask scopegate before serving a request.
//!
//! - `POST /v1/check`: one request (docs/wire.md) → one decision.
//! - `POST /v1/check/batch`: `{"requests": [...]}` (or a bare array), at most
//!   [`MAX_BATCH`] → `{"decisions": [...]}` in order; more → 413.
//! - `POST /v1/explain`: one request → its decision with `trace`.
//! - `GET /v1/who-can?organization=…&endpoint=…&method=…[&project=…|&team=…]`: every member
//!   (with a user) whose session would be allowed, with each one's grant path; paged.
//!
//! A principal is one of §4.1's shapes or `{"kind": "bearer", "token": "…"}`, resolved
//! against the stored tokens: an unknown secret (or a service token) is decided as
//! anonymous. Every decision reads the in-memory [`crate::index`] (never the database) and
//! the decision manifest the service was started with. Bad input → 400 naming the field;
//! an unknown endpoint, organization, project or team is a `not_found` decision.
//!
//! Only a service token may call these routes ([`crate::auth::ServiceCaller`]).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scopegate_core::decision::DecisionDoc;
use scopegate_core::wire::{PrincipalDoc, RequestDoc};
use scopegate_core::{Decision, Engine, Principal, Request, Superuser};
use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::ServiceCaller;
use crate::error::ApiError;
use crate::index::Index;
use crate::paging::Paging;
use crate::AppState;

mod decision_log;
mod fast;
mod render;

pub use decision_log::DecisionLog;
use fast::{fast_one, FastBatch};
use render::{render, render_all};

/// The most requests in one batch.
pub const MAX_BATCH: usize = 1000;

/// The largest body of a `/v1/` request, in bytes (a full batch).
pub const V1_BODY_LIMIT: usize = 1024 * 1024;

/// The decision API's routes. Every handler takes a [`ServiceCaller`]: only a service
/// token gets through.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/check", post(check))
        .route("/v1/check/batch", post(batch))
        .route("/v1/explain", post(explain))
        .route("/v1/who-can", get(who_can))
}

const FIELDS: [&str; 6] = [
    "principal",
    "endpoint",
    "method",
    "organization",
    "project",
    "team",
];

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

fn bad(field: String, message: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{field}: {message}"))
}

/// Parses the JSON body.
fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    let value = serde_json::from_slice(body)
        .map_err(|e| bad("body".into(), format!("invalid JSON: {e}")))?;
    crate::boundary::check_value(&value)?;
    Ok(value)
}

/// One parsed request, and what the decision log records of it.
struct Parsed {
    request: Request,
    /// The request as sent, with a bearer secret replaced by the token's id and prefix;
    /// only built when the decision log is on.
    logged: Option<Value>,
}

/// Converts one wire request (`prefix` names it in errors, e.g. `requests[3]`).
fn parse_one(
    value: &Value,
    prefix: &str,
    state: &AppState,
    index: &Index,
) -> Result<Parsed, ApiError> {
    let field = |f: &str| at(prefix, f);
    let obj = value.as_object().ok_or_else(|| {
        bad(
            if prefix.is_empty() {
                "body".into()
            } else {
                prefix.to_string()
            },
            "expected a request object",
        )
    })?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(field(k), "unknown field"));
    }
    let string = |name: &str, required: bool| -> Result<Option<String>, ApiError> {
        match obj.get(name) {
            None | Some(Value::Null) if !required => Ok(None),
            None | Some(Value::Null) => Err(bad(field(name), "missing")),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(field(name), "expected a string")),
        }
    };
    let endpoint = string("endpoint", true)?.unwrap_or_default();
    let method = string("method", true)?.unwrap_or_default();
    let organization = string("organization", false)?;
    let project = string("project", false)?;
    let team = string("team", false)?;
    let principal_value = obj
        .get("principal")
        .ok_or_else(|| bad(field("principal"), "missing"))?;
    let mut bearer: Option<Principal> = None;
    let mut logged_principal: Option<Value> = None;
    let principal_doc = if principal_value.get("kind").and_then(Value::as_str) == Some("bearer") {
        let p = principal_value
            .as_object()
            .ok_or_else(|| bad(field("principal"), "expected an object"))?;
        if let Some(k) = p.keys().find(|k| *k != "kind" && *k != "token") {
            return Err(bad(field(&format!("principal.{k}")), "unknown field"));
        }
        let secret = p
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(field("principal.token"), "missing or not a string"))?;
        let token = index.token(secret);
        bearer = Some(bearer_principal(token));
        if state.decision_log.is_some() {
            logged_principal = Some(match token {
                Some(t) => serde_json::json!({
                    "kind": "bearer", "token_id": t.token.id.to_string(), "token_prefix": t.token.prefix,
                }),
                None => serde_json::json!({"kind": "bearer", "token_id": null}),
            });
        }
        PrincipalDoc::Anonymous
    } else {
        PrincipalDoc::deserialize(principal_value).map_err(|e| bad(field("principal"), e))?
    };
    let doc = RequestDoc {
        principal: principal_doc,
        endpoint,
        method,
        organization,
        project,
        team,
    };
    let mut request =
        Request::from_doc(doc, &state.policy).map_err(|e| bad(field(&e.field), e.message))?;
    if let Some(p) = bearer {
        request.principal = p;
    }
    let logged = state.decision_log.as_ref().map(|_| {
        let mut v = value.clone();
        if let (Some(lp), Some(o)) = (logged_principal, v.as_object_mut()) {
            o.insert("principal".into(), lp);
        }
        v
    });
    Ok(Parsed { request, logged })
}

/// The principal a `bearer` secret stands for: its token's, or anonymous for an unknown
/// secret or a service token.
fn bearer_principal(token: Option<&crate::index::IndexedToken>) -> Principal {
    token
        .and_then(|t| t.principal.clone())
        .unwrap_or(Principal::Anonymous)
}

/// Decides one request over `index` with the decision manifest.
fn decide(state: &AppState, index: &Index, request: &Request) -> Decision {
    state
        .metrics
        .v1(Engine::new(&state.policy, &state.decision_manifest, &index.world).decide(request))
}

/// Writes `decision` of `parsed` to the decision log, when it is on.
fn log(state: &AppState, parsed: &Parsed, decision: &Decision, doc: Option<&DecisionDoc>) {
    if let (Some(log), Some(request)) = (&state.decision_log, &parsed.logged) {
        let written = match doc {
            Some(doc) => log.write(request, decision, doc, &state.policy_version),
            None => log.write(
                request,
                decision,
                &decision.to_doc(&state.policy),
                &state.policy_version,
            ),
        };
        state.metrics.decision_log(written);
    }
}

/// `POST /v1/check`.
async fn check(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(request) = fast_one(&body, &state, &index) {
        return render(decide(&state, &index, &request), &state.policy);
    }
    let parsed = parse_one(&body_json(&body)?, "", &state, &index)?;
    let decision = decide(&state, &index, &parsed.request);
    log(&state, &parsed, &decision, None);
    render(decision, &state.policy)
}

/// `POST /v1/check/batch`.
async fn batch(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    if state.decision_log.is_none() && !crate::boundary::may_hold_control(&body) {
        let fast = FastBatch {
            state: &state,
            index: &index,
        };
        let mut de = serde_json::Deserializer::from_slice(&body);
        if let Ok(Some(requests)) = fast.deserialize(&mut de).and_then(|r| de.end().map(|()| r)) {
            let engine = Engine::new(&state.policy, &state.decision_manifest, &index.world);
            state.metrics.batch(requests.len());
            return render_all(
                requests.iter().map(|r| state.metrics.v1(engine.decide(r))),
                &state.policy,
            );
        }
    }
    let value = body_json(&body)?;
    let items = match &value {
        Value::Array(a) => a,
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| *k != "requests") {
                return Err(bad(k.clone(), "unknown field"));
            }
            o.get("requests")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("requests".into(), "missing or not an array"))?
        }
        _ => return Err(bad("requests".into(), "expected an array")),
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::PayloadTooLarge(format!(
            "requests: at most {MAX_BATCH} requests per batch, got {}",
            items.len()
        )));
    }
    state.metrics.batch(items.len());
    let parsed = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_one(v, &format!("requests[{i}]"), &state, &index))
        .collect::<Result<Vec<_>, _>>()?;
    let decisions: Vec<Decision> = parsed
        .iter()
        .map(|p| {
            let decision = decide(&state, &index, &p.request);
            log(&state, p, &decision, None);
            decision
        })
        .collect();
    render_all(decisions.into_iter(), &state.policy)
}

/// `POST /v1/explain`.
async fn explain(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let parsed = match fast_one(&body, &state, &index) {
        Some(request) => Parsed {
            request,
            logged: None,
        },
        None => parse_one(&body_json(&body)?, "", &state, &index)?,
    };
    let (decision, trace) =
        Engine::new(&state.policy, &state.decision_manifest, &index.world).explain(&parsed.request);
    let decision = state.metrics.v1(decision);
    let mut doc = decision.to_doc(&state.policy);
    log(&state, &parsed, &decision, Some(&doc));
    doc.trace = Some(trace);
    Ok(Json(doc).into_response())
}

/// The query of `GET /v1/who-can`.
#[derive(Debug, Deserialize)]
struct WhoCanQuery {
    organization: Option<String>,
    endpoint: Option<String>,
    method: Option<String>,
    project: Option<String>,
    team: Option<String>,
    cursor: Option<String>,
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
    grant: Vec<&'static str>,
}

/// `GET /v1/who-can`: the members whose session (SSO done, no superuser or staff mode)
/// would be allowed, by member id.
async fn who_can(
    State(state): State<AppState>,
    ServiceCaller { index }: ServiceCaller,
    uri: Uri,
    query: Result<Query<WhoCanQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let required = |v: Option<String>, name: &str| v.ok_or_else(|| bad(name.into(), "missing"));
    let organization = required(q.organization, "organization")?;
    let endpoint = required(q.endpoint, "endpoint")?;
    let method = required(q.method, "method")?;
    if q.project.is_some() && q.team.is_some() {
        return Err(bad("team".into(), "give a project or a team, not both"));
    }
    let paging = Paging::parse(q.cursor.as_deref(), &uri)?;
    let template = Request::from_doc(
        RequestDoc {
            principal: PrincipalDoc::Anonymous,
            endpoint,
            method,
            organization: Some(organization.clone()),
            project: q.project,
            team: q.team,
        },
        &state.policy,
    )
    .map_err(|e| bad(e.field, e.message))?;
    let engine = Engine::new(&state.policy, &state.decision_manifest, &index.world);
    let mut allowed = Vec::new();
    if let Some((org, _)) = index.world.org_by_slug(&organization) {
        let mut request = template;
        for m in index.world.members().iter().filter(|m| m.org == org) {
            let Some(user) = m.user else { continue };
            request.principal = Principal::Session {
                user,
                superuser: Superuser::None,
                staff: false,
                sso_ok: true,
            };
            let decision = engine.decide(&request);
            if let Some(grant) = decision.to_doc(&state.policy).grant {
                allowed.push(Allowed {
                    member: m.id.to_string(),
                    user: user.to_string(),
                    role: state
                        .policy
                        .org_roles
                        .get(m.role)
                        .map(|r| r.id.clone())
                        .unwrap_or_default(),
                    grant,
                });
            }
        }
    }
    allowed.sort_by_key(|a| a.member.parse::<u64>().unwrap_or(u64::MAX));
    let page = paging.store_page();
    let items: Vec<Allowed> = allowed
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    Ok(paging.respond(items))
}
