//! The decision API (`/v1/`): applications ask scopegate before serving a request.
//!
//! - `POST /v1/check`: one request (product.md §4.1) → one decision.
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
//! Only a service token may call these routes ([`crate::auth::service_only`]).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scopegate_core::decision::DecisionDoc;
use scopegate_core::wire::{PrincipalDoc, RequestDoc, SuperuserDoc};
use scopegate_core::{Decision, Engine, Principal, Request, Superuser};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::token_principal;
use crate::error::ApiError;
use crate::index::Index;
use crate::paging::Paging;
use crate::AppState;

/// The most requests in one batch.
pub const MAX_BATCH: usize = 1000;

/// The largest body of a `/v1/` request, in bytes (a full batch).
pub const V1_BODY_LIMIT: usize = 1024 * 1024;

/// The decision API's routes.
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
    serde_json::from_slice(body).map_err(|e| bad("body".into(), format!("invalid JSON: {e}")))
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
        bearer = Some(
            token
                .and_then(|t| token_principal(t, &state.policy))
                .unwrap_or(Principal::Anonymous),
        );
        if state.decision_log.is_some() {
            logged_principal = Some(match token {
                Some(t) => serde_json::json!({
                    "kind": "bearer", "token_id": t.id.to_string(), "token_prefix": t.prefix,
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

/// Decides one parsed request, logging it when the decision log is on.
fn decide(state: &AppState, index: &Index, parsed: &Parsed) -> DecisionDoc {
    let decision =
        Engine::new(&state.policy, &state.decision_manifest, &index.world).decide(&parsed.request);
    let doc = decision.to_doc(&state.policy);
    log(state, parsed, &decision, &doc);
    doc
}

fn log(state: &AppState, parsed: &Parsed, decision: &Decision, doc: &DecisionDoc) {
    if let (Some(log), Some(request)) = (&state.decision_log, &parsed.logged) {
        log.write(request, decision, doc, &state.policy_version);
    }
}

/// The fast path: a request parsed straight into typed fields, with no `Value` in between.
/// Anything unusual (an unknown field, a missing or misplaced one, an unknown scope) falls
/// back to [`parse_one`], which words the error; so both paths accept the same requests.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastRequest {
    principal: FastPrincipal,
    endpoint: String,
    method: String,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

/// Every principal field of §4.1 (and `token` of a bearer), flat.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastPrincipal {
    kind: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    user: Option<u64>,
    #[serde(default)]
    superuser: Option<SuperuserDoc>,
    #[serde(default)]
    staff: Option<bool>,
    #[serde(default)]
    sso_ok: Option<bool>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    integration: Option<u64>,
}

impl FastPrincipal {
    /// Whether only the fields in `allowed` (besides `kind`) are present.
    fn only(&self, allowed: &[&str]) -> bool {
        [
            ("token", self.token.is_some()),
            ("user", self.user.is_some()),
            ("superuser", self.superuser.is_some()),
            ("staff", self.staff.is_some()),
            ("sso_ok", self.sso_ok.is_some()),
            ("scopes", self.scopes.is_some()),
            ("organization", self.organization.is_some()),
            ("integration", self.integration.is_some()),
        ]
        .iter()
        .all(|(name, present)| !present || allowed.contains(name))
    }
}

impl FastRequest {
    /// The request, or `None` to take the slow path.
    fn convert(self, state: &AppState, index: &Index) -> Option<Parsed> {
        let p = self.principal;
        let mut bearer = None;
        let doc = match p.kind.as_str() {
            "bearer" if p.only(&["token"]) => {
                let token = index.token(p.token.as_deref()?);
                bearer = Some(
                    token
                        .and_then(|t| token_principal(t, &state.policy))
                        .unwrap_or(Principal::Anonymous),
                );
                PrincipalDoc::Anonymous
            }
            "anonymous" if p.only(&[]) => PrincipalDoc::Anonymous,
            "system" if p.only(&[]) => PrincipalDoc::System,
            "session" if p.only(&["user", "superuser", "staff", "sso_ok"]) => {
                PrincipalDoc::Session {
                    user: p.user?,
                    superuser: p.superuser.unwrap_or_default(),
                    staff: p.staff.unwrap_or(false),
                    sso_ok: p.sso_ok.unwrap_or(true),
                }
            }
            "user_token" if p.only(&["user", "scopes", "organization"]) => {
                PrincipalDoc::UserToken {
                    user: p.user?,
                    scopes: p.scopes.unwrap_or_default(),
                    organization: p.organization,
                }
            }
            "org_token" if p.only(&["scopes", "organization"]) => PrincipalDoc::OrgToken {
                organization: p.organization?,
                scopes: p.scopes.unwrap_or_default(),
            },
            "api_key" if p.only(&["scopes", "organization"]) => PrincipalDoc::ApiKey {
                organization: p.organization?,
                scopes: p.scopes.unwrap_or_default(),
            },
            "integration" if p.only(&["integration"]) => PrincipalDoc::Integration {
                integration: p.integration?,
            },
            _ => return None,
        };
        let doc = RequestDoc {
            principal: doc,
            endpoint: self.endpoint,
            method: self.method,
            organization: self.organization,
            project: self.project,
            team: self.team,
        };
        let mut request = Request::from_doc(doc, &state.policy).ok()?;
        if let Some(b) = bearer {
            request.principal = b;
        }
        Some(Parsed {
            request,
            logged: None,
        })
    }
}

/// The body of a batch, fast path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastBatch {
    requests: Vec<FastRequest>,
}

/// Parses one request on the fast path when the decision log is off (the log keeps the
/// request as sent, which the slow path builds).
fn fast_one(body: &Bytes, state: &AppState, index: &Index) -> Option<Parsed> {
    if state.decision_log.is_some() {
        return None;
    }
    serde_json::from_slice::<FastRequest>(body)
        .ok()?
        .convert(state, index)
}

/// `POST /v1/check`.
async fn check(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let index = state.index.current();
    let parsed = match fast_one(&body, &state, &index) {
        Some(p) => p,
        None => parse_one(&body_json(&body)?, "", &state, &index)?,
    };
    Ok(Json(decide(&state, &index, &parsed)).into_response())
}

/// The body of a batch answer.
#[derive(Debug, Serialize)]
struct Decisions {
    decisions: Vec<DecisionDoc>,
}

/// `POST /v1/check/batch`.
async fn batch(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if state.decision_log.is_none() {
        let fast = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            serde_json::from_slice::<Vec<FastRequest>>(&body).ok()
        } else {
            serde_json::from_slice::<FastBatch>(&body)
                .ok()
                .map(|b| b.requests)
        };
        if let Some(requests) = fast.filter(|r| r.len() <= MAX_BATCH) {
            let index = state.index.current();
            let parsed: Option<Vec<Parsed>> = requests
                .into_iter()
                .map(|r| r.convert(&state, &index))
                .collect();
            if let Some(parsed) = parsed {
                let decisions = parsed.iter().map(|p| decide(&state, &index, p)).collect();
                return Ok(Json(Decisions { decisions }).into_response());
            }
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
    let index = state.index.current();
    let parsed = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_one(v, &format!("requests[{i}]"), &state, &index))
        .collect::<Result<Vec<_>, _>>()?;
    let decisions = parsed.iter().map(|p| decide(&state, &index, p)).collect();
    Ok(Json(Decisions { decisions }).into_response())
}

/// `POST /v1/explain`.
async fn explain(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let index = state.index.current();
    let parsed = match fast_one(&body, &state, &index) {
        Some(p) => p,
        None => parse_one(&body_json(&body)?, "", &state, &index)?,
    };
    let (decision, trace) =
        Engine::new(&state.policy, &state.decision_manifest, &index.world).explain(&parsed.request);
    let mut doc = decision.to_doc(&state.policy);
    log(&state, &parsed, &decision, &doc);
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
    let index = state.index.current();
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

/// The decision log (`serve --decision-log FILE`): one JSON line per decision.
#[derive(Debug)]
pub struct DecisionLog {
    out: std::sync::Mutex<std::io::LineWriter<std::fs::File>>,
}

impl DecisionLog {
    /// Appends to (creating) `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<DecisionLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(DecisionLog {
            out: std::sync::Mutex::new(std::io::LineWriter::new(file)),
        })
    }

    /// Writes one line: time, the request (secrets replaced), the decision, its grant path
    /// and the policy version. A write error is logged, never fails the decision.
    pub fn write(&self, request: &Value, decision: &Decision, doc: &DecisionDoc, version: &str) {
        use std::io::Write;
        let mut line = Map::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        line.insert("time".into(), now.into());
        line.insert("request".into(), request.clone());
        line.insert(
            "decision".into(),
            serde_json::to_value(doc).unwrap_or(Value::Null),
        );
        line.insert("allowed".into(), decision.allowed().into());
        line.insert(
            "grant".into(),
            serde_json::to_value(&doc.grant).unwrap_or(Value::Null),
        );
        line.insert("policy_version".into(), version.into());
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = out.write_all(text.as_bytes()) {
            tracing::error!(error = %e, "cannot write the decision log");
        }
    }
}
