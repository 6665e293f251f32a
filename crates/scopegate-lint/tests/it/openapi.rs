//! OpenAPI semantics (docs/lint-rules.md) over synthetic documents, under both list meanings.

use std::collections::BTreeMap;

use scopegate_core::Policy;
use scopegate_lint::{Options, ReadonlyScopes, Report, ScopeList};

use crate::{fixture, lint_with, text_of};

fn options(list: ScopeList) -> Options {
    let mut o = Options::new(&Policy::sentry());
    o.readonly = ReadonlyScopes::Patterns(vec!["*:read".into(), "read:*".into()]);
    o.scope_list = list;
    o
}

/// (operationId, code) of every finding, read back from the message.
fn by_operation(report: &Report) -> BTreeMap<String, Vec<&'static str>> {
    let mut out: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for f in &report.findings {
        let id = f
            .message
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(id, _)| id.to_string())
            .unwrap();
        out.entry(id).or_default().push(f.code);
    }
    out
}

#[test]
fn every_semantic_rule_under_both_list_meanings() {
    // (operationId, findings with `all`, findings with `any`)
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("rootInherited", &["SG001"], &["SG001"]), // root security applies
        ("getInherited", &[], &[]),                // not a mutation
        ("overrideWrite", &[], &[]),               // operation security replaces root
        ("noAuth", &[], &[]),                      // `security: []` means no auth
        ("optionalAuth", &["SG001"], &["SG001"]),  // `{}` plus a read-only alternative
        ("optionalOnly", &[], &[]),                // `{}` alone asks for no scope
        ("andSchemes", &["SG001"], &["SG001"]),    // AND with a scheme listing nothing
        ("andMixed", &[], &[]),                    // AND: the second scheme needs org:write
        ("orAlternatives", &["SG001"], &["SG001"]), // OR: the second alternative is read-only
        ("mixedList", &[], &["SG001"]),            // all vs any
        ("noted", &["SG003"], &[]),                // note: justified under any, stale under all
        // a blank note is SG002's finding alone: SG001 counts any non-empty string (Sentry)
        ("blankNote", &["SG002"], &["SG002"]),
        ("getWithNote", &["SG003"], &["SG003"]), // a note on a read
        ("emptyLists", &[], &[]),                // empty scheme lists ask for no scope
        ("bearerScopes", &["SG001"], &["SG001"]), // scopes on a bearer scheme are read
    ];
    for (list, pick) in [(ScopeList::All, 0), (ScopeList::Any, 1)] {
        let report = lint_with(&[fixture("openapi/semantics.yaml")], &options(list));
        let got = by_operation(&report);
        for (id, all, any) in cases {
            let mut expected: Vec<&str> = if pick == 0 {
                all.to_vec()
            } else {
                any.to_vec()
            };
            expected.sort_unstable();
            let mut found = got.get(*id).cloned().unwrap_or_default();
            found.sort_unstable();
            assert_eq!(found, expected, "{id} with {list:?}");
        }
        assert_eq!(report.summary.operations, 15);
        assert_eq!(report.summary.mutations, 13);
    }
}

#[test]
fn semantics_snapshot_any() {
    let report = lint_with(
        &[fixture("openapi/semantics.yaml")],
        &options(ScopeList::Any),
    );
    insta::assert_snapshot!(text_of(&report));
}

#[test]
fn findings_carry_yaml_positions_and_pointers() {
    let report = lint_with(
        &[fixture("openapi/semantics.yaml")],
        &options(ScopeList::All),
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.message.contains("(bearerScopes)"))
        .unwrap();
    assert_eq!(f.pointer.as_deref(), Some("/paths/~1bearer/delete"));
    assert_eq!((f.line, f.column), (62, 5));
}

#[test]
fn swagger2_security_definitions() {
    let report = lint_with(
        &[fixture("openapi/swagger2.json")],
        &options(ScopeList::All),
    );
    let got = by_operation(&report);
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["createItem"]
    );
    let report = lint_with(
        &[fixture("openapi/swagger2.json")],
        &options(ScopeList::Any),
    );
    let got = by_operation(&report);
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["createItem", "deleteItems"]
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn split_files_are_followed_and_findings_located_in_the_referenced_file() {
    let report = lint_with(
        &[fixture("openapi/split/root.yaml")],
        &options(ScopeList::All),
    );
    insta::assert_snapshot!(text_of(&report));
    assert_eq!(report.summary.files, 5);
    let dangling: Vec<&String> = report.warnings.iter().collect();
    assert_eq!(dangling.len(), 2, "{dangling:?}");
    assert!(dangling
        .iter()
        .any(|w| w.contains("../schemas/missing.yaml")));
    assert!(dangling.iter().any(|w| w.contains("#/nowhere")));
}

#[test]
fn dangling_refs_are_reported_once_when_several_files_are_linted() {
    // The split root has two dangling `$ref`s; a second OpenAPI file linted after it must
    // not report them again.
    let report = lint_with(
        &[
            fixture("openapi/split/root.yaml"),
            fixture("openapi/swagger2.json"),
        ],
        &options(ScopeList::All),
    );
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
}
