//! Malformed inputs: a clear error with the location, never a panic.

use std::path::Path;

use proptest::prelude::*;
use scopegate_core::Policy;
use scopegate_lint::{lint_paths, lint_text, Options};

use crate::fixture;

fn error_of(name: &str) -> String {
    let policy = Policy::sentry();
    let path = fixture(&format!("malformed/{name}"));
    let err = lint_paths(&[path.as_path()], &policy, &Options::new(&policy)).unwrap_err();
    let dir = format!(
        "{}/",
        fixture("").display().to_string().trim_end_matches('/')
    );
    err.to_string().replace(&dir, "")
}

#[test]
fn malformed_inputs_are_located_errors() {
    let names = [
        "broken.json",
        "broken.yaml",
        "missing-ref.yaml",
        "cycle.yaml",
        "wrong-security.yaml",
        "wrong-scopes.json",
        "wrong-paths.json",
        "neither.toml",
        "extends-cycle.toml",
        "native-wrong-type.toml",
        "openapi-number.json",
    ];
    let all: Vec<String> = names.iter().map(|n| error_of(n)).collect();
    for (n, e) in names.iter().zip(&all) {
        assert!(e.starts_with(&format!("malformed/{n}:")), "{e}");
    }
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn a_missing_file_is_an_error() {
    let policy = Policy::sentry();
    let err = lint_paths(
        &[Path::new("does/not/exist.yaml")],
        &policy,
        &Options::new(&policy),
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("does/not/exist.yaml:1:1: cannot read file"));
}

fn lint_any(name: &str, text: &str) {
    let policy = Policy::sentry();
    // Either a report or a located error; never a panic.
    if let Err(e) = lint_text(name, text, &policy, &Options::new(&policy)) {
        assert!(!e.items.is_empty());
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i32>().prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "openapi",
            "3.0.0",
            "swagger",
            "2.0",
            "paths",
            "post",
            "get",
            "security",
            "$ref",
            "#/paths",
            "org:read",
            "x-readonly-mutation-exception",
            "permissions",
            "endpoints",
            "scope_map",
            "POST",
            "components",
            "securitySchemes",
            "",
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let key = prop::sample::select(vec![
            "openapi",
            "swagger",
            "paths",
            "/a",
            "post",
            "get",
            "delete",
            "security",
            "oauth",
            "$ref",
            "x-readonly-mutation-exception",
            "permissions",
            "endpoints",
            "name",
            "scope_map",
            "publish_status",
            "POST",
            "object",
            "components",
            "securitySchemes",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key, inner, 0..5).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        lint_any("fuzz.json", &text);
        lint_any("fuzz.yaml", &text);
        lint_any("fuzz.toml", &text);
        lint_any("fuzz", &text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let text = value.to_string();
        lint_any("fuzz.json", &text);
        lint_any("fuzz.yaml", &text);
    }
}
