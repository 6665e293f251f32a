//! The Sentry corpora, copied (the OpenAPI document trimmed) into `fixtures/sentry/`.

use std::path::PathBuf;

use scopegate_core::Policy;
use scopegate_lint::output::text_line;
use scopegate_lint::{Options, ReadonlyScopes, ScopeList};

use crate::lint_with;

pub fn corpus(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sentry");
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing", path.display());
    Some(path)
}

fn sg001_lines(manifest: &str) -> Option<(Vec<String>, Vec<String>)> {
    let path = corpus(manifest)?;
    let expected_name = if manifest.contains("before-notes") {
        "expected-SG001-before-notes.txt"
    } else {
        "expected-SG001.txt"
    };
    let expected = std::fs::read_to_string(corpus(expected_name)?).unwrap();
    let report = lint_with(&[path], &Options::new(&Policy::sentry()));
    let got: Vec<String> = report.findings.iter().map(text_line).collect();
    Some((got, expected.lines().map(str::to_string).collect()))
}

#[test]
fn sentry_manifest_gives_sentrys_guard_lines_byte_for_byte() {
    let Some((got, expected)) = sg001_lines("sentry-manifest.json") else {
        return;
    };
    assert_eq!(expected.len(), 2);
    assert_eq!(got, expected);
}

#[test]
fn sentry_manifest_before_notes_gives_the_56_lines() {
    let Some((got, expected)) = sg001_lines("sentry-manifest-before-notes.json") else {
        return;
    };
    assert_eq!(expected.len(), 56);
    assert_eq!(got, expected);
}

fn openapi_findings(list: ScopeList) -> Option<Vec<(String, String, String)>> {
    let path = corpus("openapi.json")?;
    let mut options = Options::new(&Policy::sentry());
    options.readonly = ReadonlyScopes::Patterns(vec!["*:read".into()]);
    options.scope_list = list;
    let report = lint_with(&[path], &options);
    assert_eq!(report.summary.operations, 223);
    assert_eq!(report.summary.mutations, 103);
    let mut got: Vec<(String, String, String)> = report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.code, "SG001");
            assert!(f.pointer.as_deref().unwrap().starts_with("/paths/"));
            (
                f.method.clone().unwrap(),
                f.path.clone().unwrap(),
                f.scopes.join(" "),
            )
        })
        .collect();
    got.sort();
    Some(got)
}

#[test]
fn sentry_openapi_with_any_lists_gives_the_23_mutations() {
    let Some(got) = openapi_findings(ScopeList::Any) else {
        return;
    };
    let tsv = std::fs::read_to_string(corpus("openapi-expected-SG001.tsv").unwrap()).unwrap();
    let mut expected: Vec<(String, String, String)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].into(), cols[1].into(), cols[3].trim().into())
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 23);
    assert_eq!(got, expected);
}

#[test]
fn sentry_openapi_with_all_lists_gives_none() {
    let Some(got) = openapi_findings(ScopeList::All) else {
        return;
    };
    assert_eq!(got, Vec::<(String, String, String)>::new());
}
