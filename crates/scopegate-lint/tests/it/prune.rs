//! Of a JSON OpenAPI document, only what the rules read is built (`json::Keep::OpenApi`):
//! the findings, their positions and the errors must be exactly those of the whole tree.

use proptest::prelude::*;
use scopegate_core::source::{Node, Value};
use scopegate_core::Policy;
use scopegate_lint::input::json::{parse, parse_keeping, Keep};
use scopegate_lint::output::{render, Format};
use scopegate_lint::{lint_text, Options, ReadonlyScopes, ScopeList};

/// The document with a `$ref` added at the end of its root object, which makes the loader
/// build it whole without moving anything before it.
fn whole(text: &str) -> Option<String> {
    let end = text.rfind('}')?;
    let (head, tail) = text.split_at(end);
    head.trim_end()
        .ends_with(|c: char| matches!(c, '"' | '}' | ']' | 'e' | 'l' | '0'..='9'))
        .then(|| format!("{head},\"x-whole\":{{\"$ref\":\"#\"}}{tail}"))
}

/// The report (JSON) or the error of linting `text`.
fn outcome(text: &str, list: ScopeList) -> String {
    let policy = Policy::sentry();
    let mut options = Options::new(&policy);
    options.readonly = ReadonlyScopes::Patterns(vec!["*:read".into()]);
    options.scope_list = list;
    match lint_text("doc.json", text, &policy, &options) {
        Ok(report) => render(&report, Format::Json),
        Err(e) => format!("error: {e}"),
    }
}

/// Both trees have the same keys and spans everywhere; a value left out is an empty one of
/// the same kind.
fn agrees(pruned: &Node, full: &Node) -> bool {
    if pruned.span != full.span {
        return false;
    }
    match (&pruned.value, &full.value) {
        (Value::Table(p), Value::Table(f)) => {
            p.is_empty()
                || p.len() == f.len()
                    && p.iter()
                        .zip(f)
                        .all(|((pk, pv), (fk, fv))| pk == fk && agrees(pv, fv))
        }
        (Value::Array(p), Value::Array(f)) => {
            p.is_empty() || p.len() == f.len() && p.iter().zip(f).all(|(a, b)| agrees(a, b))
        }
        (Value::String(p), Value::String(f)) => p.is_empty() || p == f,
        (p, f) => p == f,
    }
}

fn scopes() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        4 => prop::collection::vec(
            prop::sample::select(vec!["org:read", "org:write", "project:read", "admin"]),
            0..3
        )
        .prop_map(|s| serde_json::json!(s)),
        1 => Just(serde_json::json!("org:read")),
    ]
}

fn security() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        6 => prop::collection::vec(
            prop::collection::btree_map(prop::sample::select(vec!["oauth", "token", "undefined"]), scopes(), 0..3),
            0..3
        )
        .prop_map(|alts| serde_json::json!(alts)),
        1 => Just(serde_json::json!({"oauth": []})),
    ]
}

fn noise() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::json!(null)),
        any::<i32>().prop_map(|i| serde_json::json!(i)),
        "[a-z ]{0,6}".prop_map(|s| serde_json::json!(s)),
        Just(serde_json::json!("security")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| serde_json::json!(v)),
            prop::collection::btree_map(
                prop::sample::select(vec!["security", "post", "schemas", "type", "x"]),
                inner,
                0..4
            )
            .prop_map(|m| serde_json::json!(m)),
        ]
    })
}

fn operation() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::option::of(security()),
        prop::option::of("[a-z]{1,6}"),
        prop::option::of(prop_oneof![
            Just(serde_json::json!("reviewed")),
            Just(serde_json::json!(" ")),
            Just(serde_json::json!(3)),
        ]),
        noise(),
    )
        .prop_map(|(security, id, exception, responses)| {
            let mut op = serde_json::Map::new();
            op.insert("responses".into(), responses);
            if let Some(s) = security {
                op.insert("security".into(), s);
            }
            if let Some(id) = id {
                op.insert("operationId".into(), serde_json::json!(id));
            }
            if let Some(e) = exception {
                op.insert("x-readonly-mutation-exception".into(), e);
            }
            serde_json::Value::Object(op)
        })
}

fn document() -> impl Strategy<Value = String> {
    let item = prop::collection::btree_map(
        prop::sample::select(vec!["get", "post", "put", "delete", "patch", "parameters"]),
        prop_oneof![5 => operation(), 1 => noise()],
        0..4,
    );
    (
        prop::bool::ANY,
        prop::option::of(security()),
        prop::collection::btree_map("/[a-z~/]{0,4}", item, 0..4),
        noise(),
        prop::bool::ANY,
    )
        .prop_map(|(v3, security, paths, schemas, pretty)| {
            let mut root = serde_json::Map::new();
            if v3 {
                root.insert("openapi".into(), serde_json::json!("3.0.0"));
                root.insert(
                    "components".into(),
                    serde_json::json!({"schemas": schemas, "securitySchemes": {"oauth": {"type": "oauth2"}, "token": {}}}),
                );
            } else {
                root.insert("swagger".into(), serde_json::json!("2.0"));
                root.insert(
                    "securityDefinitions".into(),
                    serde_json::json!({"oauth": {"type": "oauth2"}, "token": {}}),
                );
            }
            if let Some(s) = security {
                root.insert("security".into(), s);
            }
            root.insert("paths".into(), serde_json::json!(paths));
            let root = serde_json::Value::Object(root);
            if pretty {
                serde_json::to_string_pretty(&root).unwrap()
            } else {
                serde_json::to_string(&root).unwrap()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn pruned_documents_lint_exactly_as_whole_ones(text in document(), any_list: bool) {
        let list = if any_list { ScopeList::Any } else { ScopeList::All };
        let forced = whole(&text).unwrap();
        prop_assert!(!parse_keeping(&forced, Keep::OpenApi).unwrap().pruned);
        prop_assert_eq!(outcome(&text, list), outcome(&forced, list));
    }

    #[test]
    fn pruned_trees_keep_every_key_and_span(text in document()) {
        let pruned = parse_keeping(&text, Keep::OpenApi).unwrap();
        let full = parse(&text).unwrap();
        prop_assert!(agrees(&pruned.root, &full));
    }
}

#[test]
fn what_is_built_whole() {
    let pruned = |t: &str| parse_keeping(t, Keep::OpenApi).unwrap().pruned;
    let api = r#"{"openapi": "3.0.0", "paths": {"/a": {"post": {"responses": {"200": {}}}}}}"#;
    assert!(pruned(api));
    // A `$ref` anywhere: whole.
    assert!(!pruned(
        r##"{"openapi": "3.0.0", "paths": {"/a": {"post": {"responses": {"$ref": "#/x"}}}}}"##
    ));
    assert!(!pruned(
        r##"{"openapi": "3.0.0", "paths": {"/a": {"post": {"responses": {"\u0024ref": "#/x"}}}}}"##
    ));
    // Not an OpenAPI document: whole.
    assert!(!pruned(r#"{"paths": {"/a": {"post": {"responses": {}}}}}"#));
    // A malformed part left out is still an error, located.
    let bad = r#"{"openapi": "3.0.0", "paths": {"/a": {"post": {"responses": [1,]}}}}"#;
    let e = parse_keeping(bad, Keep::OpenApi).unwrap_err();
    assert_eq!(e.span.start, bad.find(",]").unwrap() + 1);
}

/// Every finding on Sentry's `openapi.json` points at its operation's key, and its JSON
/// pointer names that operation.
#[test]
fn sentry_openapi_findings_are_located_at_their_operation() {
    let Some(path) = crate::corpora::corpus("openapi.json") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(parse_keeping(&text, Keep::OpenApi).unwrap().pruned);
    let policy = Policy::sentry();
    let mut options = Options::new(&policy);
    options.readonly = ReadonlyScopes::Patterns(vec!["*:read".into()]);
    options.scope_list = ScopeList::Any;
    let report = lint_text("openapi.json", &text, &policy, &options).unwrap();
    assert_eq!(report.findings.len(), 23);
    let lines: Vec<&str> = text.split('\n').collect();
    for f in &report.findings {
        let method = f.method.as_deref().unwrap().to_lowercase();
        let line = lines[f.line - 1];
        let at: String = line.chars().skip(f.column - 1).collect();
        assert!(at.starts_with(&format!("\"{method}\":")), "{f:?}: {at}");
        let path = f
            .path
            .as_deref()
            .unwrap()
            .replace('~', "~0")
            .replace('/', "~1");
        assert_eq!(
            f.pointer.as_deref(),
            Some(format!("/paths/{path}/{method}").as_str())
        );
    }
    // And the same report as from the whole tree.
    let forced = whole(&text).unwrap();
    let whole_report = lint_text("openapi.json", &forced, &policy, &options).unwrap();
    assert_eq!(
        render(&report, Format::Json),
        render(&whole_report, Format::Json)
    );
}

/// A document linted pruned, then the target of a `$ref` from a later one, is read again
/// whole: the order of the files changes nothing.
#[test]
fn a_pruned_document_is_read_whole_when_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(
        &a,
        r#"{"openapi": "3.0.0",
  "components": {"schemas": {"X": {"post": {"security": [{"oauth": ["org:read"]}]}}}},
  "paths": {}}"#,
    )
    .unwrap();
    std::fs::write(
        &b,
        r#"{"openapi": "3.0.0", "paths": {"/b": {"$ref": "a.json#/components/schemas/X"}}}"#,
    )
    .unwrap();
    let policy = Policy::sentry();
    let mut options = Options::new(&policy);
    options.readonly = ReadonlyScopes::Patterns(vec!["*:read".into()]);
    let run = |paths: &[&std::path::Path]| {
        let report = scopegate_lint::lint_paths(paths, &policy, &options).unwrap();
        format!("{}{:?}", render(&report, Format::Json), report.warnings)
    };
    let ab = run(&[&a, &b]);
    assert_eq!(ab, run(&[&b, &a]));
    assert!(ab.contains("\"line\": 2"), "{ab}");
    assert!(ab.contains("a.json:2:36: `POST /b`"), "{ab}");
}
