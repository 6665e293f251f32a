//! `scopegate test`: policy test files decided, outputs snapshotted, bad input located.

use std::path::Path;

use serde_json::Value;

use crate::{repo, run, run_in, Run};

fn show(r: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// A temporary directory holding the example world and manifest, and `files`.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["world.json", "manifest.toml"] {
        std::fs::copy(repo().join("examples").join(name), dir.path().join(name)).unwrap();
    }
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const HEADER: &str = "world = \"world.json\"\nmanifest = \"manifest.toml\"\n";

const GET_AS_12: &str = r#"request = { principal = { kind = "session", user = 12 }, endpoint = "OrganizationDetailsEndpoint", method = "GET", organization = "acme" }"#;
const PUT_AS_12: &str = r#"request = { principal = { kind = "session", user = 12 }, endpoint = "OrganizationDetailsEndpoint", method = "PUT", organization = "acme" }"#;

#[test]
fn the_shipped_examples_pass() {
    let r = run(&["test", "examples"]);
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(r.stdout.ends_with("13 passed, 0 failed\n"), "{}", r.stdout);
    insta::assert_snapshot!("test_examples_text", show(&r));
}

#[test]
fn a_failure_shows_the_difference_and_the_trace_and_exits_1() {
    let file = format!(
        "{HEADER}\n[[cases]]\nname = \"reads\"\n{GET_AS_12}\nallowed = true\n\n\
         [[cases]]\nname = \"edits\"\n{PUT_AS_12}\nallowed = true\nreason = \"allowed\"\n\n\
         [[cases]]\nname = \"wrong scopes\"\n{PUT_AS_12}\nallowed = false\nmissing_scopes = [\"org:write\"]\n"
    );
    let dir = dir_with(&[("org.test.toml", &file)]);
    let r = run_in(dir.path(), &["test", "org.test.toml"]);
    assert_eq!(r.code, 1, "{}", show(&r));
    assert!(r.stdout.contains("  PASS reads\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("  FAIL edits (org.test.toml:9:1)\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("    allowed: expected true, got false\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("1 passed, 2 failed\n"), "{}", r.stdout);
    insta::assert_snapshot!("test_failure_text", show(&r));

    let r = run_in(dir.path(), &["test", "org.test.toml", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", show(&r));
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some(1), Some(2))
    );
    let cases = doc["files"][0]["cases"].as_array().unwrap();
    assert_eq!(cases[0]["passed"], true);
    assert!(cases[0].get("trace").is_none(), "a pass carries no trace");
    assert_eq!(cases[1]["differences"][0]["field"], "allowed");
    assert!(!cases[1]["trace"].as_array().unwrap().is_empty());
    assert_eq!(
        cases[2]["differences"][0],
        serde_json::json!({"field": "missing_scopes", "expected": ["org:write"], "actual": ["org:admin", "org:write"]})
    );
    insta::assert_snapshot!("test_failure_json", r.stdout);

    let r = run_in(dir.path(), &["test", "org.test.toml", "--format", "junit"]);
    assert_eq!(r.code, 1, "{}", show(&r));
    assert!(
        r.stdout
            .contains("<testsuites name=\"scopegate test\" tests=\"3\" failures=\"2\">"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches("<failure ").count(), 2, "{}", r.stdout);
    insta::assert_snapshot!("test_failure_junit", r.stdout);
}

#[test]
fn directories_are_searched_recursively_by_name() {
    let case = format!("[[cases]]\nname = \"reads\"\n{GET_AS_12}\nallowed = true\n");
    let nested = format!("world = \"../world.json\"\nmanifest = \"../manifest.toml\"\n{case}");
    let dir = dir_with(&[
        ("a.test.toml", &format!("{HEADER}{case}")),
        ("sub/b.test.toml", &nested),
        ("sub/notes.toml", "not a test file"),
        (".hidden/c.test.toml", "not read"),
    ]);
    let r = run_in(dir.path(), &["test"]);
    assert_eq!(r.code, 0, "{}", show(&r));
    assert_eq!(
        r.stdout,
        "a.test.toml\n  PASS reads\nsub/b.test.toml\n  PASS reads\n2 passed, 0 failed\n"
    );
    let empty = tempfile::tempdir().unwrap();
    let r = run_in(empty.path(), &["test", "."]);
    assert_eq!(r.code, 2, "{}", show(&r));
    assert!(
        r.stderr.contains("no `*.test.toml` file under `.`"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_input_exits_2_located_and_runs_nothing() {
    let cases = [
        ("syntax.test.toml", format!("{HEADER}[[cases]\n"), "syntax.test.toml:3:"),
        (
            "field.test.toml",
            format!("{HEADER}[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowd = true\n"),
            "field.test.toml:6:1: unknown field `allowd`",
        ),
        (
            "endpoint.test.toml",
            format!(
                "{HEADER}[[cases]]\nname = \"x\"\n{}\nallowed = true\n",
                GET_AS_12.replace("OrganizationDetails", "OrganisationDetails")
            ),
            "endpoint.test.toml:5:11: case `x`: unknown endpoint `OrganisationDetailsEndpoint` (did you mean `OrganizationDetailsEndpoint`?)",
        ),
        (
            "reason.test.toml",
            format!("{HEADER}[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = true\nreason = \"alowed\"\n"),
            "reason.test.toml:7:10: case `x`: `reason`: unknown reason `alowed` (did you mean `allowed`?)",
        ),
        (
            "scope.test.toml",
            format!("{HEADER}[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = false\nmissing_scopes = [\"org:wrte\"]\n"),
            "scope.test.toml:7:18: case `x`: `missing_scopes`: unknown scope `org:wrte` (did you mean `org:write`?)",
        ),
        (
            "world.test.toml",
            format!("[world]\nmembers = [{{ id = 1, organization = 1, role = \"boss\" }}]\n[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = true\n"),
            "world.test.toml:1:1: invalid world:",
        ),
        (
            "missing.test.toml",
            format!("world = \"nowhere.json\"\n[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = true\n"),
            "missing.test.toml:1:9: cannot read `nowhere.json`",
        ),
        (
            "dup.test.toml",
            format!("{HEADER}[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = true\n[[cases]]\nname = \"x\"\n{GET_AS_12}\nallowed = true\n"),
            "dup.test.toml:8:8: duplicate case name `x`",
        ),
        ("none.test.toml", HEADER.to_string(), "none.test.toml: no `[[cases]]`"),
    ];
    for (name, text, expected) in &cases {
        let dir = dir_with(&[(name, text)]);
        let r = run_in(dir.path(), &["test", name]);
        assert_eq!(r.code, 2, "{name}: {}", show(&r));
        assert_eq!(r.stdout, "", "{name}: nothing is run");
        assert!(
            r.stderr.contains(expected),
            "{name}: expected `{expected}` in:\n{}",
            r.stderr
        );
    }
    let dir = dir_with(&[]);
    for (name, text, _) in &cases {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let r = run_in(dir.path(), &["test"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("test_bad_input", show(&r));
}

#[test]
fn the_format_document_exists_and_names_every_field() {
    let doc = std::fs::read_to_string(repo().join("docs/policy-tests.md")).unwrap();
    for field in [
        "world",
        "manifest",
        "policy",
        "[[cases]]",
        "allowed",
        "status",
        "reason",
        "grant",
        "missing_scopes",
        "--format",
    ] {
        assert!(doc.contains(field), "docs/policy-tests.md names `{field}`");
    }
    assert!(Path::new(&repo().join("examples/inline-world.test.toml")).exists());
}
