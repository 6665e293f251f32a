//! The routes outside the management API in the OpenAPI document: the decision API
//! (`/v1/`, docs/wire.md) with its request and decision schemas, and `/healthz`,
//! `/readyz`, `/metrics`.
//!
//! Written as JSON (the wire shapes are serde's, not `utoipa::ToSchema` types) and read
//! into utoipa's model; a unit test checks that every path and schema reads.

use serde_json::{json, Value};
use utoipa::openapi::{PathItem, RefOr, Schema};

/// The decision API's and the service routes' paths, as JSON.
fn paths_json() -> Value {
    let errors = |extra: &[(&str, &str)]| {
        let mut r = serde_json::Map::new();
        for (status, what) in [
            ("400", "Bad input: `{\"detail\": \"<field>: <problem>\"}`"),
            ("401", "No or unknown bearer credential"),
            ("403", "The credential is not a service token"),
            (
                "503",
                "The index did not reach `at_least_revision` within the wait \
                     (`serve --revision-wait`): the detail names both revisions; \
                     `Retry-After: 1`, `X-Scopegate-Revision`: the index's",
            ),
        ]
        .iter()
        .chain(extra)
        {
            r.insert(
                (*status).to_string(),
                json!({"description": what, "content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}),
            );
        }
        r
    };
    let body = |schema: &str| {
        json!({"required": true, "content": {"application/json":
            {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
    };
    let revision_header = json!({"X-Scopegate-Revision": {
        "description": "The store revision the decision was made at (at least `at_least_revision`)",
        "schema": {"type": "integer", "minimum": 0}}});
    let ok = |description: &str, schema: Value| {
        json!({"description": description,
        "headers": revision_header, "content": {"application/json": {"schema": schema}}})
    };
    let at_least = json!({"name": "X-Scopegate-At-Least-Revision", "in": "header",
        "required": false, "schema": {"type": "integer", "minimum": 0},
        "description": "Decide at this store revision or a later one (a write's \
                        `X-Scopegate-Revision`): wait up to `serve --revision-wait` for this \
                        replica's index to reach it, else 503"});
    let decision = json!({"$ref": "#/components/schemas/Decision"});
    let service = json!([{"bearer": []}]);
    let with = |mut responses: serde_json::Map<String, Value>, status: &str, r: Value| {
        responses.insert(status.to_string(), r);
        Value::Object(responses)
    };
    let query = |name: &str, required: bool, description: &str| {
        json!({"name": name, "in": "query", "required": required, "description": description,
               "schema": {"type": "string"}})
    };
    let text = |description: &str, media: &str| json!({"description": description, "content": {media: {"schema": {"type": "string"}}}});
    json!({
        "/v1/check": {"post": {
            "operationId": "v1_check",
            "summary": "Decide one request",
            "security": service,
            "parameters": [at_least.clone()],
            "requestBody": body("CheckRequest"),
            "responses": with(errors(&[]), "200", ok("The decision", decision.clone())),
        }},
        "/v1/check/batch": {"post": {
            "operationId": "v1_check_batch",
            "summary": "Decide up to 1000 requests, in order",
            "security": service,
            "parameters": [at_least.clone()],
            "requestBody": body("BatchRequest"),
            "responses": with(errors(&[("413", "More than 1000 requests, or a body over 1 MiB")]),
                "200", ok("The decisions, in the requests' order",
                    json!({"$ref": "#/components/schemas/BatchDecisions"}))),
        }},
        "/v1/explain": {"post": {
            "operationId": "v1_explain",
            "summary": "Decide one request and say why, step by step",
            "security": service,
            "parameters": [at_least.clone()],
            "requestBody": body("CheckRequest"),
            "responses": with(errors(&[]), "200", ok("The decision with its trace",
                json!({"$ref": "#/components/schemas/ExplainedDecision"}))),
        }},
        "/v1/who-can": {"get": {
            "operationId": "v1_who_can",
            "summary": "The members of an organization whose session would be allowed",
            "security": service,
            "parameters": [
                query("organization", true, "The organization slug"),
                query("endpoint", true, "The endpoint name (manifest)"),
                query("method", true, "The HTTP method"),
                query("project", false, "A project slug (not with `team`)"),
                query("team", false, "A team slug (not with `project`)"),
                {"name": "at_least_revision", "in": "query", "required": false,
                 "description": "As the header `X-Scopegate-At-Least-Revision`",
                 "schema": {"type": "integer", "minimum": 0}},
                at_least,
                {"name": "cursor", "in": "query", "required": false,
                 "description": "Sentry's cursor `LIMIT:PAGE:IS_PREV`",
                 "schema": {"type": "string", "pattern": "^[0-9]+:[0-9]+(:[01])?$"}},
                {"name": "per_page", "in": "query", "required": false,
                 "description": "Items per page when there is no cursor (a cursor's own page size wins)",
                 "schema": {"type": "integer", "minimum": 1, "maximum": crate::paging::MAX_PER_PAGE}},
            ],
            "responses": with(errors(&[]), "200", ok("The allowed members, by member id",
                json!({"type": "array", "items": {"$ref": "#/components/schemas/WhoCanMember"}}))),
        }},
        "/healthz": {"get": {
            "operationId": "healthz",
            "summary": "The process answers",
            "security": [],
            "responses": {"200": text("`ok`", "text/plain")},
        }},
        "/readyz": {"get": {
            "operationId": "readyz",
            "summary": "The store takes a write and the service is not shutting down",
            "security": [],
            "responses": {
                "200": text("`ready`", "text/plain"),
                "503": {"description": "Not ready (store unavailable, or shutting down); `Retry-After` set",
                        "content": {"application/json":
                            {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}},
            },
        }},
        "/metrics": {"get": {
            "operationId": "metrics",
            "summary": "The service's metrics (README: Operating scopegate)",
            "security": [],
            "responses": {"200": text("OpenMetrics text exposition",
                "application/openmetrics-text")},
        }},
    })
}

/// The decision API's schemas, as JSON.
fn schemas_json() -> Value {
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let id = json!({"type": "integer", "minimum": 0});
    let kind = |k: &str| json!({"type": "string", "enum": [k]});
    let principal = |k: &str, props: Value, required: &[&str]| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        p.insert("kind".into(), kind(k));
        let mut req = vec!["kind"];
        req.extend_from_slice(required);
        json!({"type": "object", "properties": p, "required": req,
               "additionalProperties": false})
    };
    let decision_props = json!({
        "allowed": {"type": "boolean"},
        "status": {"type": "integer", "description": "200, 401, 403 or 404"},
        "reason": {"type": "string", "description": "The stable reason code"},
        "grant": {"type": ["array", "null"], "items": {"type": "string"},
                  "description": "The grant path (and the granular path), when allowed"},
        "missing_scopes": strings,
        "challenge": {"type": ["string", "null"],
                      "description": "The `WWW-Authenticate` value, for `insufficient_scope`"},
    });
    let revision = json!({"type": "integer", "minimum": 0,
        "description": "The store revision the decision was made at (as `X-Scopegate-Revision`)"});
    let at_least_revision = json!({"type": ["integer", "null"], "minimum": 0,
        "description": "Decide at this store revision or a later one (a write's \
                        `X-Scopegate-Revision`); as the header `X-Scopegate-At-Least-Revision`"});
    let batch_item = decision_props.clone();
    let mut decision_props = decision_props.as_object().cloned().unwrap_or_default();
    decision_props.insert("revision".into(), revision.clone());
    let mut explained = decision_props.clone();
    explained.insert(
        "trace".into(),
        json!({"type": "array", "items": {"type": "object", "properties": {
            "step": string, "outcome": string, "detail": string},
            "required": ["step", "outcome", "detail"]}}),
    );
    let decision_required = json!([
        "revision",
        "allowed",
        "status",
        "reason",
        "grant",
        "missing_scopes",
        "challenge"
    ]);
    json!({
        "Principal": {
            "description": "Who is asking (docs/wire.md), or `bearer`: a stored token's secret, resolved by scopegate",
            "oneOf": [
                principal("anonymous", json!({}), &[]),
                principal("session", json!({"user": id,
                    "superuser": {"type": "string", "enum": ["none", "read", "write"]},
                    "staff": {"type": "boolean"}, "sso_ok": {"type": "boolean"}}), &["user"]),
                principal("user_token", json!({"user": id, "scopes": strings,
                    "organization": string}), &["user"]),
                principal("org_token", json!({"organization": string, "scopes": strings,
                    "creator": id}), &["organization"]),
                principal("api_key", json!({"organization": string, "scopes": strings}),
                    &["organization"]),
                principal("integration", json!({"integration": id}), &["integration"]),
                principal("system", json!({}), &[]),
                principal("bearer", json!({"token": string}), &["token"]),
            ],
        },
        "CheckRequest": {
            "type": "object",
            "properties": {
                "principal": {"$ref": "#/components/schemas/Principal"},
                "endpoint": {"type": "string", "description": "The endpoint name (manifest)"},
                "method": {"type": "string", "description": "The HTTP method"},
                "organization": {"type": ["string", "null"]},
                "project": {"type": ["string", "null"]},
                "team": {"type": ["string", "null"]},
                "at_least_revision": at_least_revision,
            },
            "required": ["principal", "endpoint", "method"],
            "additionalProperties": false,
        },
        "BatchRequest": {
            "type": "object",
            "properties": {"requests": {"type": "array", "maxItems": 1000,
                "items": {"$ref": "#/components/schemas/CheckRequest"}},
                "at_least_revision": at_least_revision},
            "required": ["requests"],
            "additionalProperties": false,
        },
        "Decision": {"type": "object", "properties": decision_props, "required": decision_required},
        "ExplainedDecision": {"type": "object", "properties": explained,
            "required": ["revision", "allowed", "status", "reason", "grant", "missing_scopes",
                "challenge", "trace"]},
        "BatchDecision": {"type": "object", "properties": batch_item, "required": ["allowed",
            "status", "reason", "grant", "missing_scopes", "challenge"]},
        "BatchDecisions": {"type": "object", "properties": {"revision": revision,
            "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/BatchDecision"}}},
            "required": ["revision", "decisions"]},
        "WhoCanMember": {"type": "object", "properties": {
            "member": string, "user": string, "role": string, "grant": strings},
            "required": ["member", "user", "role", "grant"]},
    })
}

/// Reads every entry of a JSON object into `T`, by name.
fn read<T: serde::de::DeserializeOwned>(value: Value) -> Vec<(String, T)> {
    match value {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| match serde_json::from_value(v) {
                Ok(t) => Some((k, t)),
                Err(e) => {
                    tracing::error!(name = %k, error = %e, "an OpenAPI entry does not read");
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The paths of the decision API and the service routes.
pub fn paths() -> Vec<(String, PathItem)> {
    read(paths_json())
}

/// The decision API's schemas.
pub fn schemas() -> Vec<(String, RefOr<Schema>)> {
    read(schemas_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_and_schema_reads() {
        let count = |v: Value| v.as_object().map_or(0, serde_json::Map::len);
        assert_eq!(count(paths_json()), 7);
        assert_eq!(paths().len(), 7);
        assert_eq!(schemas().len(), count(schemas_json()));
        assert!(!schemas().is_empty());
    }
}
