//! Jira's `x-atlassian-oauth2-scopes`: each entry an alternative whose scopes are all
//! required, beside `security`; findings checked against an independent reader over
//! `serde_json`, and located errors.

use std::collections::BTreeSet;

use scopegate_core::Policy;
use scopegate_lint::{lint_paths, Options, ReadonlyScopes, ScopeList};
use serde_json::Value;

use crate::{fixture, lint_with, text_of};

const FIXTURE: &str = "atlassian/jira-platform.json";

fn options(list: ScopeList) -> Options {
    let mut o = Options::new(&Policy::sentry());
    o.readonly = ReadonlyScopes::Patterns(vec!["read:*".into()]);
    o.scope_list = list;
    o
}

fn ro(scope: &str) -> bool {
    scope.starts_with("read:")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The reference: (method, path, read-only scopes) of every SG001 finding expected, read
/// with `serde_json`. `security` alternatives read as `list` says; each extension entry
/// needs all its scopes.
fn expected_sg001(list: ScopeList) -> BTreeSet<(String, String, Vec<String>)> {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(FIXTURE)).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str())
                || op.get("x-readonly-mutation-exception").is_some()
            {
                continue;
            }
            let mut found: BTreeSet<String> = BTreeSet::new();
            let security = op.get("security").unwrap_or(&doc["security"]);
            for alt in security.as_array().unwrap() {
                let lists: Vec<Vec<String>> = alt
                    .as_object()
                    .unwrap()
                    .values()
                    .map(strings)
                    .filter(|l| !l.is_empty())
                    .collect();
                let ok = !lists.is_empty()
                    && match list {
                        ScopeList::All => lists.iter().flatten().all(|s| ro(s)),
                        ScopeList::Any => lists.iter().all(|l| l.iter().any(|s| ro(s))),
                    };
                if ok {
                    found.extend(lists.into_iter().flatten().filter(|s| ro(s)));
                }
            }
            for entry in op
                .get("x-atlassian-oauth2-scopes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let scopes = strings(&entry["scopes"]);
                if !scopes.is_empty() && scopes.iter().all(|s| ro(s)) {
                    found.extend(scopes);
                }
            }
            if !found.is_empty() {
                out.insert((method, path.clone(), found.into_iter().collect()));
            }
        }
    }
    out
}

#[test]
fn findings_match_an_independent_reader_under_both_list_options() {
    for list in [ScopeList::All, ScopeList::Any] {
        let expected = expected_sg001(list);
        let report = lint_with(&[fixture(FIXTURE)], &options(list));
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
        assert_eq!(got, expected, "{list:?}");
        // The search (through `security` and the extension) and the count (through the
        // extension alone); not `addComment`, whose granular bundle needs a write scope.
        let paths: BTreeSet<&str> = got.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            BTreeSet::from(["/rest/api/3/search", "/rest/api/3/search/approximate-count"]),
            "{list:?}"
        );
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}

#[test]
fn the_extension_alone_makes_a_finding_and_is_named_in_it() {
    let report = lint_with(&[fixture(FIXTURE)], &options(ScopeList::All));
    let f = report
        .findings
        .iter()
        .find(|f| f.message.contains("(countIssues)"))
        .unwrap();
    assert_eq!(f.via.as_deref(), Some("OAuth2 (Current) | OAuth2 (Beta)"));
    insta::assert_snapshot!(text_of(&report));
}

#[test]
fn malformed_extensions_are_located_errors() {
    let policy = Policy::sentry();
    let dir = format!(
        "{}/",
        fixture("").display().to_string().trim_end_matches('/')
    );
    let names = [
        "jira-wrong-extension.json",
        "jira-entry-without-scopes.yaml",
        "jira-scope-not-string.json",
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
