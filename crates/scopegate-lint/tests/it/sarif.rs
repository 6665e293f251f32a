//! SARIF output validated against the SARIF 2.1.0 JSON schema (`sarif-2.1.0-rtm.5.json`,
//! vendored from the npm package `@microsoft/jest-sarif`, MIT).

use scopegate_core::Policy;
use scopegate_lint::output::{render, Format};
use scopegate_lint::{Options, ReadonlyScopes, ScopeList};

use crate::{fixture, lint_with};

fn errors(text: &str) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("sarif-2.1.0-rtm.5.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(text).unwrap();
    validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn validate(text: &str) {
    let errors = errors(text);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_schema_rejects_a_broken_log() {
    let report = lint_with(&[fixture("sg001.toml")], &Options::new(&Policy::sentry()));
    let good = render(&report, Format::Sarif);
    let bad = good
        .replacen("\"version\": \"2.1.0\"", "\"version\": \"9\"", 1)
        .replacen("\"startLine\": ", "\"startLine\": -", 1);
    assert_ne!(good, bad);
    assert!(errors(&bad).len() >= 2, "{:?}", errors(&bad));
}

#[test]
fn sarif_of_native_and_openapi_findings_is_valid() {
    let mut options = Options::new(&Policy::sentry());
    let native = lint_with(
        &[
            fixture("sg001.toml"),
            fixture("sg002.toml"),
            fixture("sg006.toml"),
        ],
        &options,
    );
    assert!(!native.findings.is_empty());
    validate(&render(&native, Format::Sarif));
    options.readonly = ReadonlyScopes::Patterns(vec!["*:read".into()]);
    options.scope_list = ScopeList::Any;
    let api = lint_with(&[fixture("openapi/semantics.yaml")], &options);
    assert!(!api.findings.is_empty());
    validate(&render(&api, Format::Sarif));
}

#[test]
fn sarif_without_findings_is_valid() {
    let mut options = Options::new(&Policy::sentry());
    options.select = vec!["SG004".into()];
    let report = lint_with(&[fixture("sg001.toml")], &options);
    assert!(report.findings.is_empty());
    validate(&render(&report, Format::Sarif));
}
