//! Google API Discovery documents: the methods read (checked against an independent reader
//! over `serde_json`), the findings (any-of scope lists), and located errors.

use std::collections::BTreeSet;
use std::path::Path;

use scopegate_core::{Method, Policy};
use scopegate_lint::load::{Loader, Loc};
use scopegate_lint::{discovery, lint_paths, Options, ReadonlyScopes, ScopeList};
use serde_json::Value;

use crate::{fixture, lint_with, text_of};

const READONLY: &[&str] = &["*.readonly"];

fn options(list: ScopeList) -> Options {
    let mut o = Options::new(&Policy::sentry());
    o.readonly = ReadonlyScopes::Patterns(READONLY.iter().map(|s| s.to_string()).collect());
    o.scope_list = list;
    o
}

/// A method as the reference reads it: (HTTP method, URL path, id, scopes, has a note).
type RefMethod = (String, String, String, Vec<String>, bool);

/// The reference: walks `resources` and `methods` with `serde_json`, recursively, joining
/// `servicePath` and `flatPath` (else `path`) by string concatenation.
fn reference(path: &Path) -> Vec<RefMethod> {
    fn walk(container: &Value, service: &str, out: &mut Vec<RefMethod>) {
        if let Some(methods) = container.get("methods").and_then(Value::as_object) {
            for m in methods.values() {
                let p = m
                    .get("flatPath")
                    .or_else(|| m.get("path"))
                    .and_then(Value::as_str)
                    .unwrap();
                let url = if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("/{service}{p}")
                };
                let scopes = m
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                out.push((
                    m["httpMethod"].as_str().unwrap().to_string(),
                    url,
                    m["id"].as_str().unwrap().to_string(),
                    scopes,
                    m.get("x-readonly-mutation-exception").is_some(),
                ));
            }
        }
        if let Some(resources) = container.get("resources").and_then(Value::as_object) {
            for r in resources.values() {
                walk(r, service, out);
            }
        }
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let service = doc["servicePath"].as_str().unwrap_or("");
    let mut out = Vec::new();
    walk(&doc, service, &mut out);
    out
}

fn is_readonly(scope: &str) -> bool {
    READONLY
        .iter()
        .any(|p| scope.ends_with(p.trim_start_matches('*')))
}

/// The SG001 findings the reference expects: a mutation with no note whose scope list
/// holds a read-only scope (any one of the list suffices), with those read-only scopes.
fn expected_sg001(methods: &[RefMethod]) -> BTreeSet<(String, String, Vec<String>)> {
    methods
        .iter()
        .filter(|(m, ..)| matches!(m.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .filter(|(.., note)| !note)
        .filter_map(|(m, url, _, scopes, _)| {
            let mut ro: Vec<String> = scopes.iter().filter(|s| is_readonly(s)).cloned().collect();
            ro.sort();
            (!ro.is_empty()).then(|| (m.clone(), url.clone(), ro))
        })
        .collect()
}

#[test]
fn methods_match_an_independent_reader() {
    for name in ["discovery/gmail.json", "discovery/drive.json"] {
        let path = fixture(name);
        let mut expected = reference(&path);
        let mut loader = Loader::new();
        let doc = loader.load_file(&path, name).unwrap();
        let api = discovery::read(Loc::root(doc)).unwrap();
        let mut got: Vec<RefMethod> = api
            .operations
            .iter()
            .map(|op| {
                let scopes: Vec<String> = op
                    .security
                    .iter()
                    .flat_map(|a| a.schemes.iter().flat_map(|(_, s)| s.iter().cloned()))
                    .collect();
                (
                    op.method.as_str().to_string(),
                    op.path.clone(),
                    op.operation_id.clone().unwrap(),
                    scopes,
                    op.exception.is_some(),
                )
            })
            .collect();
        expected.sort();
        got.sort();
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "{name}");
        let paths: BTreeSet<&String> = expected.iter().map(|(_, p, ..)| p).collect();
        assert_eq!(api.paths, paths.len(), "{name}");
    }
}

#[test]
fn findings_match_the_reference_under_both_list_options() {
    for name in ["discovery/gmail.json", "discovery/drive.json"] {
        let methods = reference(&fixture(name));
        let expected = expected_sg001(&methods);
        assert!(
            !expected.is_empty(),
            "{name}: the fixture must hold a finding"
        );
        // The Discovery meaning (any-of) holds whatever `--scope-list` says.
        for list in [ScopeList::All, ScopeList::Any] {
            let report = lint_with(&[fixture(name)], &options(list));
            let got: BTreeSet<(String, String, Vec<String>)> = report
                .findings
                .iter()
                .filter(|f| f.code == "SG001")
                .map(|f| {
                    (
                        f.method.clone().unwrap(),
                        f.path.clone().unwrap(),
                        f.scopes.clone(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{name} with {list:?}");
            assert_eq!(report.summary.operations, methods.len());
            let mutations = methods
                .iter()
                .filter(|(m, ..)| {
                    m.parse::<Method>()
                        .is_ok_and(|m| Method::MUTATIONS.contains(&m))
                })
                .count();
            assert_eq!(report.summary.mutations, mutations);
        }
    }
}

#[test]
fn gmail_and_drive_snapshot() {
    let report = lint_with(
        &[
            fixture("discovery/gmail.json"),
            fixture("discovery/drive.json"),
        ],
        &options(ScopeList::All),
    );
    // Drive's `files.update` names `drive.scripts`, which the trimmed `auth` leaves out.
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("drive.scripts"));
    // Schema `$ref`s (`"$ref": "Profile"`) are not JSON pointers and are not followed.
    assert!(!report.warnings.iter().any(|w| w.contains("$ref")));
    let f = report
        .findings
        .iter()
        .find(|f| f.message.contains("gmail.users.watch"))
        .unwrap();
    assert_eq!(f.pointer.as_deref(), Some("/resources/users/methods/watch"));
    assert_eq!(f.via.as_deref(), Some(discovery::SCHEME));
    insta::assert_snapshot!(text_of(&report));
}

#[test]
fn flat_path_is_preferred_and_absolute_paths_kept() {
    let text = r#"{
      "discoveryVersion": "v1",
      "servicePath": "",
      "methods": {
        "top": { "id": "x.top", "httpMethod": "POST", "path": "/upload/v1/top",
                 "scopes": ["https://x/auth/x.readonly"] }
      },
      "resources": { "projects": { "resources": { "secrets": { "methods": {
        "delete": { "id": "x.projects.secrets.delete", "httpMethod": "DELETE",
                    "path": "v1/{+name}", "flatPath": "v1/projects/{projectsId}/secrets/{secretsId}",
                    "scopes": ["https://x/auth/cloud-platform"] },
        "get": { "id": "x.projects.secrets.get", "httpMethod": "GET", "path": "v1/{+name}" }
      } } } } }
    }"#;
    let policy = Policy::sentry();
    let report =
        scopegate_lint::lint_text("inline.json", text, &policy, &options(ScopeList::All)).unwrap();
    let got: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.path.as_deref().unwrap()))
        .collect();
    assert_eq!(got, [("SG001", "/upload/v1/top")]);
    assert_eq!(report.summary.endpoints, 3);
    assert_eq!(report.summary.operations, 3);
}

#[test]
fn malformed_discovery_documents_are_located_errors() {
    let policy = Policy::sentry();
    let dir = format!(
        "{}/",
        fixture("").display().to_string().trim_end_matches('/')
    );
    let names = [
        "discovery-no-httpmethod.json",
        "discovery-bad-method.json",
        "discovery-wrong-scopes.json",
        "discovery-wrong-resources.yaml",
    ];
    let mut all = Vec::new();
    for n in names {
        let path = fixture(&format!("malformed/{n}"));
        let err = lint_paths(&[path.as_path()], &policy, &Options::new(&policy))
            .unwrap_err()
            .to_string()
            .replace(&dir, "");
        assert!(err.starts_with(&format!("malformed/{n}:")), "{err}");
        all.push(err);
    }
    insta::assert_snapshot!(all.join("\n"));
}

fn arbitrary(depth: u32) -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        prop::sample::select(vec![
            "v1",
            "GET",
            "POST",
            "DELETE",
            "files/{fileId}",
            "/upload/x",
            "a.readonly",
            "read:x",
            "Current",
            "OAuth2",
            "",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 64, 5, |inner| {
        let key = prop::sample::select(vec![
            "discoveryVersion",
            "servicePath",
            "auth",
            "oauth2",
            "resources",
            "methods",
            "files",
            "watch",
            "httpMethod",
            "path",
            "flatPath",
            "id",
            "scopes",
            "openapi",
            "paths",
            "/a",
            "post",
            "security",
            "x-atlassian-oauth2-scopes",
            "scheme",
            "state",
            "deprecated",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Discovery- and Jira-shaped documents of any shape: a report or a located error, never
    /// a panic.
    #[test]
    fn arbitrary_discovery_and_jira_shapes_never_panic(body in arbitrary(5), discovery in proptest::prelude::any::<bool>()) {
        let mut root = serde_json::Map::new();
        if discovery {
            root.insert("discoveryVersion".into(), Value::from("v1"));
            root.insert("resources".into(), body);
        } else {
            root.insert("openapi".into(), Value::from("3.0.1"));
            root.insert("paths".into(), serde_json::json!({ "/a": { "post": body } }));
        }
        let text = Value::Object(root).to_string();
        let policy = Policy::sentry();
        if let Err(e) = scopegate_lint::lint_text("fuzz.json", &text, &policy, &options(ScopeList::Any)) {
            proptest::prop_assert!(!e.0.is_empty());
            proptest::prop_assert!(e.to_string().starts_with("fuzz.json:"), "{}", e);
        }
    }
}
