//! Hostile inputs through the real binary (issue 11): documents nested 50,000 levels deep in
//! every format every command reads (a stack overflow would abort the process, so only the
//! binary is an honest test), and the one rule about empty manifests shared by every
//! command that reads a manifest.

use std::path::Path;

use crate::{repo, run_in, Run};

const DEEP: usize = 50_000;

fn nested(open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(DEEP), close.repeat(DEEP))
}

/// Exit 2, no crash, and a located message (`name:line:column: …`) naming the nesting.
fn assert_located(r: &Run, name: &str) {
    assert_eq!(r.code, 2, "{name}: {}", r.stderr);
    assert!(!r.stderr.contains("overflow"), "{name}: {}", r.stderr);
    let prefix = format!("{name}:");
    let located = r
        .stderr
        .match_indices(&prefix)
        .any(|(i, _)| r.stderr[i + prefix.len()..].starts_with(|c: char| c.is_ascii_digit()));
    assert!(located, "{name}: not located: {}", r.stderr);
    assert!(
        ["deeper", "recursion", "recurse"]
            .iter()
            .any(|w| r.stderr.contains(w)),
        "{name}: {}",
        r.stderr
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Every parser `scopegate lint` uses (its JSON scanner, YAML, TOML), on manifests and
/// OpenAPI documents.
#[test]
fn lint_reports_deep_nesting_in_every_format_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "flow.json",
            format!(r#"{{"endpoints": {}}}"#, nested("[", "", "]")),
        ),
        (
            "objects.json",
            format!(
                r#"{{"openapi": "3.0.0", "paths": {}}}"#,
                nested(r#"{"a":"#, "1", "}")
            ),
        ),
        (
            "block.yaml",
            format!("openapi: 3.0.0\npaths:\n  {}x\n", "- ".repeat(DEEP)),
        ),
        (
            "native.yaml",
            format!("endpoints:\n  {}x\n", "- ".repeat(DEEP)),
        ),
        (
            "flow.yaml",
            format!("openapi: 3.0.0\npaths: {}\n", nested("{a: ", "1", "}")),
        ),
        (
            "arrays.toml",
            format!("endpoints = {}\n", nested("[", "", "]")),
        ),
        (
            "inline.toml",
            format!("endpoints = {}\n", nested("{a = ", "1", "}")),
        ),
        (
            "dotted.toml",
            format!("endpoints.{} = 1\n", vec!["a"; DEEP].join(".")),
        ),
        (
            "header.toml",
            format!("[endpoints.{}]\n", vec!["a"; DEEP].join(".")),
        ),
    ];
    for (name, text) in &files {
        write(dir.path(), name, text);
        let r = run_in(dir.path(), &["lint", name]);
        assert_located(&r, name);
    }
    // `diff` reads through the same loader.
    let r = run_in(dir.path(), &["diff", "block.yaml", "flow.json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("overflow"), "{}", r.stderr);
}

/// The core's loaders: manifests (TOML, JSON), worlds, requests and policies.
#[test]
fn check_and_policy_report_deep_nesting_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples");
    let manifest = example.join("manifest.toml");
    let world = example.join("world.json");
    let (manifest, world) = (manifest.to_str().unwrap(), world.to_str().unwrap());
    write(
        dir.path(),
        "ok.json",
        r#"{"principal": {"kind": "anonymous"}, "endpoint": "E", "method": "GET"}"#,
    );

    for (name, text) in [
        (
            "m.json",
            format!(r#"{{"endpoints": {}}}"#, nested("[", "", "]")),
        ),
        (
            "m.toml",
            format!("endpoints = {}\n", nested("{a = ", "1", "}")),
        ),
        (
            "d.toml",
            format!("endpoints.{} = 1\n", vec!["a"; DEEP].join(".")),
        ),
    ] {
        write(dir.path(), name, &text);
        let r = run_in(
            dir.path(),
            &["check", "--manifest", name, "--world", world, "ok.json"],
        );
        assert_located(&r, name);
        let r = run_in(dir.path(), &["matrix", name]);
        assert_located(&r, name);
    }

    write(
        dir.path(),
        "w.json",
        &format!(
            r#"{{"organizations": [{{"id": 1, "slug": "a", "options": {{"x": {}}}}}]}}"#,
            nested("[", "", "]")
        ),
    );
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--manifest",
            manifest,
            "--world",
            "w.json",
            "ok.json",
        ],
    );
    assert_located(&r, "w.json");

    write(
        dir.path(),
        "r.json",
        &format!(r#"{{"principal": {}}}"#, nested(r#"{"a":"#, "1", "}")),
    );
    let r = run_in(
        dir.path(),
        &["check", "--manifest", manifest, "--world", world, "r.json"],
    );
    assert_located(&r, "r.json");
    write(
        dir.path(),
        "r.jsonl",
        &format!("{{\"principal\": {}}}\n", nested(r#"{"b":"#, "1", "}")),
    );
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--manifest",
            manifest,
            "--world",
            world,
            "--requests",
            "r.jsonl",
        ],
    );
    assert_located(&r, "r.jsonl");

    write(
        dir.path(),
        "p.toml",
        &format!("scopes = {}\n", nested("[", "", "]")),
    );
    let r = run_in(dir.path(), &["policy", "check", "p.toml"]);
    assert_located(&r, "p.toml");
}

/// One rule, in one loader: a document without `permissions` or `endpoints` is no
/// manifest, for `lint`, `check`, `explain`, `matrix` and `serve --manifest` alike.
#[test]
fn every_command_rejects_an_empty_manifest_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples");
    let world = example.join("world.json");
    let world = world.to_str().unwrap();
    write(
        dir.path(),
        "ok.json",
        r#"{"principal": {"kind": "anonymous"}, "endpoint": "E", "method": "GET"}"#,
    );
    for (name, text) in [
        ("empty.toml", ""),
        ("comment.toml", "# nothing here\n"),
        ("object.json", "{}"),
    ] {
        write(dir.path(), name, text);
        let db = format!("sqlite://{}", dir.path().join("never.db").display());
        let commands: [Vec<&str>; 5] = [
            vec!["lint", name],
            vec!["check", "--manifest", name, "--world", world, "ok.json"],
            vec!["explain", "--manifest", name, "--world", world, "ok.json"],
            vec!["matrix", name],
            vec![
                "serve",
                "--manifest",
                name,
                "--database-url",
                &db,
                "--listen",
                "127.0.0.1:0",
            ],
        ];
        for args in commands {
            let r = run_in(dir.path(), &args);
            assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stderr.contains(&format!("{name}:1:1: ")),
                "{args:?}: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains("no `permissions` or `endpoints`"),
                "{args:?}: {}",
                r.stderr
            );
            assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        }
        assert!(!dir.path().join("never.db").exists(), "serve stopped first");
    }
    // A manifest that says it declares nothing is a manifest, for every command.
    write(dir.path(), "none.toml", "endpoints = []\n");
    let r = run_in(dir.path(), &["lint", "none.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(dir.path(), &["matrix", "none.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
