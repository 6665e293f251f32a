//! The service manifest: every route declared, every mutation guarded by a write scope
//! unless an exception note says why.

use scopegate_core::{Method, Policy};
use scopegate_server::AppState;

#[tokio::test]
async fn read_only_scopes_on_mutations_carry_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = scopegate_store::connect(&url).await.unwrap();
    let policy = Policy::sentry();
    let state = AppState::new(store, policy.clone()).unwrap();
    let mut checked = 0;
    for endpoint in &state.manifest.endpoints {
        assert!(endpoint.path.is_some(), "{} has no path", endpoint.name);
        for class in endpoint.classes.iter().map(|c| &state.manifest.classes[*c]) {
            for method in Method::MUTATIONS {
                let map = class.scopes_for(method);
                if map.intersects(policy.readonly) {
                    checked += 1;
                    assert!(
                        class
                            .notes
                            .iter()
                            .chain(&endpoint.notes)
                            .any(|(m, n)| *m == method && !n.is_empty()),
                        "{} {method:?} ({}) accepts a read-only scope without a note",
                        endpoint.name,
                        class.name
                    );
                }
            }
        }
    }
    assert!(checked > 0, "the exceptions are exercised");
    assert_eq!(
        state.endpoints.len(),
        state.manifest.endpoints.len(),
        "paths are unique"
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_resolves() {
    let app = crate::app().await;
    let r = app.call("GET", "/api/openapi.json", "", None).await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let manifest = scopegate_core::Manifest::load(
        &scopegate_core::Source::new("manifest.toml", scopegate_server::SERVICE_MANIFEST),
        &Policy::sentry(),
    )
    .unwrap();
    let mut operations = 0;
    for endpoint in &manifest.endpoints {
        let path = endpoint.path.as_deref().unwrap();
        for (method, _) in &endpoint.publish_status {
            let op = &doc["paths"][path][method.as_str().to_lowercase()];
            assert!(
                op.is_object(),
                "{path} {method:?} missing from the document"
            );
            operations += 1;
        }
    }
    assert_eq!(operations, scopegate_server::openapi::OPERATIONS.len());
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} unresolved"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_decision_api_and_the_service_routes() {
    let app = crate::app().await;
    let doc = app.call("GET", "/api/openapi.json", "", None).await.body;
    for (path, method) in [
        ("/v1/check", "post"),
        ("/v1/check/batch", "post"),
        ("/v1/explain", "post"),
        ("/v1/who-can", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["operationId"].is_string(),
            "{path} {method}"
        );
    }
    // The documented decision has exactly the fields of a real one.
    let body = serde_json::json!({
        "principal": {"kind": "bearer", "token": app.tokens["owner"]},
        "endpoint": "OrganizationDetailsEndpoint", "method": "GET", "organization": "demo"});
    let r = app
        .call("POST", "/v1/check", "service", Some(&body.to_string()))
        .await;
    let mut real: std::collections::BTreeSet<&String> =
        r.body.as_object().unwrap().keys().collect();
    // `revision`: checked against the header and taken out by `App::send`.
    assert!(r.revision.is_some());
    let revision = "revision".to_string();
    real.insert(&revision);
    let schema = &doc["components"]["schemas"]["Decision"];
    let documented: std::collections::BTreeSet<&String> =
        schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(real, documented);
    let required: std::collections::BTreeSet<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required.len(), documented.len());
}
