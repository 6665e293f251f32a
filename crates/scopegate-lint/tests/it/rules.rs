//! One snapshot per rule over a small native fixture (text output, every rule enabled).

use scopegate_core::Policy;
use scopegate_lint::{Options, PublishFilter};

use crate::{fixture, lint_fixture_text, lint_with, text_of};

#[test]
fn sg001_readonly_scope_on_mutation() {
    insta::assert_snapshot!(lint_fixture_text("sg001.toml"));
}

#[test]
fn sg001_publish_status_public_narrows() {
    let mut options = Options::new(&Policy::sentry());
    options.publish_status = PublishFilter::Public;
    options.select = vec!["SG001".into()];
    insta::assert_snapshot!(text_of(&lint_with(&[fixture("sg001.toml")], &options)));
}

#[test]
fn sg002_malformed_exception_note() {
    insta::assert_snapshot!(lint_fixture_text("sg002.toml"));
}

#[test]
fn sg003_stale_exception_note() {
    insta::assert_snapshot!(lint_fixture_text("sg003.toml"));
}

#[test]
fn sg004_unknown_scope() {
    insta::assert_snapshot!(lint_fixture_text("sg004.toml"));
}

#[test]
fn sg005_missing_scope_map_entry() {
    insta::assert_snapshot!(lint_fixture_text("sg005.toml"));
}

#[test]
fn sg006_unknown_permission_class() {
    insta::assert_snapshot!(lint_fixture_text("sg006.toml"));
}

#[test]
fn select_and_ignore_filter_by_code_and_prefix() {
    let mut options = Options::new(&Policy::sentry());
    options.ignore = vec!["SG00".into()];
    let r = lint_with(&[fixture("sg002.toml")], &options);
    assert!(r.findings.is_empty());
    options.ignore = vec!["SG003".into()];
    let r = lint_with(&[fixture("sg003.toml")], &options);
    assert!(r.findings.iter().all(|f| f.code == "SG005"));
    assert!(!r.findings.is_empty());
    options.ignore.clear();
    options.select = vec!["SG002".into()];
    let r = lint_with(&[fixture("sg002.toml")], &options);
    assert!(r.findings.iter().all(|f| f.code == "SG002"));
    assert_eq!(r.findings.len(), 6);
}

#[test]
fn every_rule_documents_the_four_headings() {
    for rule in scopegate_lint::rules::RULES {
        let doc = rule.doc();
        assert!(
            doc.starts_with(&format!("# {} {}\n", rule.code, rule.name)),
            "{doc}"
        );
        for h in [
            "## What it finds",
            "## Why it matters",
            "## Example",
            "## Fix",
        ] {
            assert!(doc.contains(h), "{} lacks {h}", rule.code);
        }
    }
}

/// Issue 10 (finding 16): SG001 counts any non-empty note string as present, even one of
/// whitespace only, as Sentry's guard does (`if note:`); the blank note is SG002's finding
/// alone. An empty string is no note: both rules report it.
#[test]
fn sg001_whitespace_note_is_present_and_left_to_sg002() {
    let options = Options::new(&Policy::sentry());
    for name in ["sg001_blank_note.toml", "openapi/blank_note.yaml"] {
        let r = lint_with(&[fixture(name)], &options);
        let of = |code: &str| -> Vec<String> {
            r.findings
                .iter()
                .filter(|f| f.code == code)
                .map(|f| f.message.clone())
                .collect()
        };
        let sg001 = of("SG001");
        let sg002 = of("SG002");
        assert_eq!(sg002.len(), 2, "{name}: {sg002:?}");
        assert!(
            sg001.iter().all(|m| !m.contains("POST")),
            "{name}: a whitespace-only note must count as present for SG001: {sg001:?}"
        );
        assert!(
            sg001.iter().any(|m| m.contains("PUT")),
            "{name}: an empty note is no note: {sg001:?}"
        );
    }
}
