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
//! Only a service token may call these routes ([`crate::auth::ServiceCaller`]).

use std::fmt;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scopegate_core::decision::{DecisionDoc, Grant};
use scopegate_core::wire::{PrincipalDoc, RequestDoc, SuperuserDoc};
use scopegate_core::{Decision, Engine, Method, Policy, Principal, Request, ScopeSet, Superuser};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::auth::ServiceCaller;
use crate::error::ApiError;
use crate::index::Index;
use crate::paging::Paging;
use crate::AppState;

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
    Engine::new(&state.policy, &state.decision_manifest, &index.world).decide(request)
}

/// Writes `decision` of `parsed` to the decision log, when it is on.
fn log(state: &AppState, parsed: &Parsed, decision: &Decision, doc: Option<&DecisionDoc>) {
    if let (Some(log), Some(request)) = (&state.decision_log, &parsed.logged) {
        match doc {
            Some(doc) => log.write(request, decision, doc, &state.policy_version),
            None => log.write(
                request,
                decision,
                &decision.to_doc(&state.policy),
                &state.policy_version,
            ),
        }
    }
}

/// The fast path: a request parsed straight into typed, borrowed fields, with no `Value` in
/// between. Anything unusual (an unknown field, a missing or misplaced one, an unknown
/// scope, an escaped `kind`, `method` or secret) falls back to [`parse_one`], which words
/// the error; so both paths accept the same requests.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastRequest<'a> {
    #[serde(borrow)]
    principal: FastPrincipal<'a>,
    endpoint: String,
    method: &'a str,
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
struct FastPrincipal<'a> {
    kind: &'a str,
    #[serde(default, borrow)]
    token: Option<&'a str>,
    #[serde(default)]
    user: Option<u64>,
    #[serde(default)]
    superuser: Option<SuperuserDoc>,
    #[serde(default)]
    staff: Option<bool>,
    #[serde(default)]
    sso_ok: Option<bool>,
    #[serde(default, borrow)]
    scopes: Option<Vec<&'a str>>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    integration: Option<u64>,
    #[serde(default)]
    creator: Option<u64>,
}

impl FastPrincipal<'_> {
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
            ("creator", self.creator.is_some()),
        ]
        .iter()
        .all(|(name, present)| !present || allowed.contains(name))
    }

    /// The scopes, or `None` for an unknown one.
    fn scopes(&self, policy: &Policy) -> Option<ScopeSet> {
        let names = self.scopes.as_deref().unwrap_or_default();
        policy.scopes.parse_set(names.iter().copied()).ok()
    }

    /// The principal (as `Request::from_doc` converts it), or `None` to take the slow path.
    fn convert(self, policy: &Policy, index: &Index) -> Option<Principal> {
        Some(match self.kind {
            "bearer" if self.only(&["token"]) => bearer_principal(index.token(self.token?)),
            "anonymous" if self.only(&[]) => Principal::Anonymous,
            "system" if self.only(&[]) => Principal::System,
            "session" if self.only(&["user", "superuser", "staff", "sso_ok"]) => {
                Principal::Session {
                    user: self.user?,
                    superuser: match self.superuser.unwrap_or_default() {
                        SuperuserDoc::None => Superuser::None,
                        SuperuserDoc::Read => Superuser::Read,
                        SuperuserDoc::Write => Superuser::Write,
                    },
                    staff: self.staff.unwrap_or(false),
                    sso_ok: self.sso_ok.unwrap_or(true),
                }
            }
            "user_token" if self.only(&["user", "scopes", "organization"]) => {
                Principal::UserToken {
                    user: self.user?,
                    scopes: self.scopes(policy)?,
                    organization: self.organization,
                }
            }
            "org_token" if self.only(&["scopes", "organization", "creator"]) => {
                Principal::OrgToken {
                    scopes: self.scopes(policy)?,
                    organization: self.organization?,
                    creator: self.creator,
                }
            }
            "api_key" if self.only(&["scopes", "organization"]) => Principal::ApiKey {
                scopes: self.scopes(policy)?,
                organization: self.organization?,
            },
            "integration" if self.only(&["integration"]) => Principal::Integration {
                integration: self.integration?,
            },
            _ => return None,
        })
    }
}

impl FastRequest<'_> {
    /// The request, or `None` to take the slow path.
    fn convert(self, state: &AppState, index: &Index) -> Option<Request> {
        let method = self.method.parse::<Method>().ok()?;
        Some(Request {
            principal: self.principal.convert(&state.policy, index)?,
            endpoint: self.endpoint,
            method,
            organization: self.organization,
            project: self.project,
            team: self.team,
        })
    }
}

/// Parses one request on the fast path when the decision log is off (the log keeps the
/// request as sent, which the slow path builds).
fn fast_one(body: &Bytes, state: &AppState, index: &Index) -> Option<Request> {
    // A body that may hold a control character takes the slow path, which refuses it.
    if state.decision_log.is_some() || crate::boundary::may_hold_control(body) {
        return None;
    }
    serde_json::from_slice::<FastRequest<'_>>(body)
        .ok()?
        .convert(state, index)
}

/// A batch body on the fast path: `{"requests": [...]}` or a bare array, each request
/// converted as it is read. `None` (or an error) means: take the slow path, which words
/// the error (and answers 413 past [`MAX_BATCH`]).
struct FastBatch<'s> {
    state: &'s AppState,
    index: &'s Index,
}

/// The array of a batch, on the fast path.
struct FastList<'s>(FastBatch<'s>);

impl<'de> DeserializeSeed<'de> for FastBatch<'_> {
    type Value = Option<Vec<Request>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FastBatch<'_> {
    type Value = Option<Vec<Request>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        FastList(self).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some("requests") = map.next_key::<&'de str>()? else {
            return Ok(None);
        };
        let requests = map.next_value_seed(FastList(self))?;
        if map.next_key::<&'de str>()?.is_some() {
            return Ok(None);
        }
        Ok(requests)
    }
}

impl<'de> DeserializeSeed<'de> for FastList<'_> {
    type Value = Option<Vec<Request>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FastList<'_> {
    type Value = Option<Vec<Request>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let FastBatch { state, index } = self.0;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_BATCH));
        while let Some(r) = seq.next_element::<FastRequest<'de>>()? {
            if out.len() >= MAX_BATCH {
                return Ok(None);
            }
            let Some(request) = r.convert(state, index) else {
                return Ok(None);
            };
            out.push(request);
        }
        Ok(Some(out))
    }
}

/// A decision in its wire form (product.md §4.1), serialized straight from the decision:
/// the same JSON as [`Decision::to_doc`] without building the document.
struct Rendered<'a> {
    decision: Decision,
    policy: &'a Policy,
}

/// A grant path, as a list of one or two codes.
struct GrantCodes(Grant);

/// Scope names, sorted.
struct ScopeNames<'a>(ScopeSet, &'a Policy);

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.decision;
        let mut out = s.serialize_struct("DecisionDoc", 6)?;
        out.serialize_field("allowed", &d.allowed())?;
        out.serialize_field("status", &d.status())?;
        out.serialize_field("reason", d.reason.as_str())?;
        out.serialize_field("grant", &d.grant.map(GrantCodes))?;
        out.serialize_field("missing_scopes", &ScopeNames(d.missing_scopes, self.policy))?;
        out.serialize_field("challenge", &d.challenge_header(self.policy))?;
        out.end()
    }
}

impl Serialize for GrantCodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut out = s.serialize_seq(Some(1 + usize::from(g.granular.is_some())))?;
        out.serialize_element(g.path.as_str())?;
        if let Some(granular) = g.granular {
            out.serialize_element(granular.as_str())?;
        }
        out.end()
    }
}

impl Serialize for ScopeNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_seq(Some(0))?.end();
        }
        s.collect_seq(self.1.scopes.sorted_names(self.0))
    }
}

/// A JSON response from serialized bytes.
fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Renders one decision.
fn render(decision: Decision, policy: &Policy) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(160);
    serde_json::to_writer(&mut body, &Rendered { decision, policy })
        .map_err(|e| ApiError::Internal(format!("cannot render a decision: {e}")))?;
    Ok(json_bytes(body))
}

/// Renders `{"decisions": [...]}`.
fn render_all(
    decisions: impl ExactSizeIterator<Item = Decision>,
    policy: &Policy,
) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(24 + decisions.len() * 128);
    body.extend_from_slice(b"{\"decisions\":[");
    for (i, decision) in decisions.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &Rendered { decision, policy })
            .map_err(|e| ApiError::Internal(format!("cannot render a decision: {e}")))?;
    }
    body.extend_from_slice(b"]}");
    Ok(json_bytes(body))
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
            return render_all(requests.iter().map(|r| engine.decide(r)), &state.policy);
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
