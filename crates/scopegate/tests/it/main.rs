//! Tests of the `scopegate` binary: the real executable, run on the repository's examples
//! and on broken inputs written to a temporary directory. Outputs are `insta` snapshots
//! (`tests/it/snapshots/`); review a changed one with `cargo insta review`, or rerun with
//! `INSTA_UPDATE=always` and read the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

mod completions;
mod crash;
mod decision_log;
mod hostile;
mod hygiene;
mod policy_test;
mod replay;
mod serve;
mod served;
mod shutdown;
mod world;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root: examples and policies are named relative to it, so outputs are
/// the same on every machine.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCOPEGATE_POLICY")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

fn run(args: &[&str]) -> Run {
    run_in(&repo(), args)
}

const EXAMPLE: [&str; 4] = [
    "--manifest",
    "examples/manifest.toml",
    "--world",
    "examples/world.json",
];

// ----- check -----

#[test]
fn check_prints_one_decision_per_request_and_exits_1_on_any_denial() {
    let mut args = vec!["check"];
    args.extend(EXAMPLE);
    args.extend(["--requests", "examples/requests.jsonl"]);
    let r = run(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let requests = std::fs::read_to_string(repo().join("examples/requests.jsonl")).unwrap();
    assert_eq!(
        r.stdout.lines().count(),
        requests.lines().filter(|l| !l.trim().is_empty()).count()
    );
    for line in r.stdout.lines() {
        let d: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert_eq!(d["allowed"], d["reason"] == "allowed", "{line}");
        assert!(d.get("trace").is_none(), "check prints no trace: {line}");
    }
    insta::assert_snapshot!("check_examples", r.stdout);
}

#[test]
fn check_exits_0_when_everything_is_allowed() {
    let mut args = vec!["check"];
    args.extend(EXAMPLE);
    args.push("examples/request.json");
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(d["grant"], serde_json::json!(["role_scope"]));
}

#[test]
fn check_rejects_a_bad_request_file_before_printing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"principal": {"kind": "session", "user": 12}, "endpoint": "OrganizationDetailsEndpoint", "method": "GET", "organization": "acme"}"#;
    let cases = [
        ("syntax.jsonl", format!("{good}\n{{\"principal\": \n"), "syntax.jsonl:2:"),
        (
            "method.jsonl",
            format!("{good}\n\n{}\n", good.replace("\"GET\"", "\"FETCH\"")),
            "method.jsonl:3: invalid request: `method`: unknown HTTP method `FETCH`",
        ),
        (
            "scope.jsonl",
            r#"{"principal": {"kind": "org_token", "organization": "acme", "scopes": ["org:reed"]}, "endpoint": "E", "method": "GET"}"#.to_string(),
            "scope.jsonl:1: invalid request: `principal.scopes`: unknown scope `org:reed`",
        ),
        (
            "kind.jsonl",
            format!("{good}\n{}\n", good.replace("\"session\"", "\"robot\"")),
            "kind.jsonl:2:",
        ),
    ];
    for (name, text, expected) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let mut args = vec!["check"];
        let manifest = repo().join("examples/manifest.toml");
        let world = repo().join("examples/world.json");
        args.extend([
            "--manifest",
            manifest.to_str().unwrap(),
            "--world",
            world.to_str().unwrap(),
        ]);
        args.extend(["--requests", name]);
        let r = run_in(dir.path(), &args);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(
            r.stdout, "",
            "{name}: nothing decided before every request is read"
        );
        assert!(
            r.stderr.contains(expected),
            "{name}: expected `{expected}` in:\n{}",
            r.stderr
        );
    }
}

#[test]
fn check_rejects_a_bad_world_or_manifest_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("world.json"),
        r#"{"organizations": [{"id": 1, "slug": "acme"}], "members": [{"id": 1, "organization": 1, "role": "boss"}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("manifest.toml"),
        "[permissions.A]\nobject = \"organization\"\nscope_map = { GET = [\"org:reed\"] }\n",
    )
    .unwrap();
    let request = repo().join("examples/request.json");
    let manifest = repo().join("examples/manifest.toml");
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--manifest",
            manifest.to_str().unwrap(),
            "--world",
            "world.json",
            request.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("world.json: members[0].role: unknown org role `boss`"),
        "{}",
        r.stderr
    );
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--manifest",
            "manifest.toml",
            "--world",
            "world.json",
            request.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("manifest.toml:3:22: unknown scope `org:reed`"),
        "{}",
        r.stderr
    );
}

// ----- explain -----

#[test]
fn explain_prints_every_step() {
    let mut args = vec!["explain"];
    args.extend(EXAMPLE);
    args.push("examples/request.json");
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("explain_text", r.stdout);

    args.extend(["--format", "json"]);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert_eq!(doc["reason"], "allowed");
    let trace = doc["trace"].as_array().expect("a trace");
    assert!(!trace.is_empty());
    for step in trace {
        assert!(
            step["step"].is_string() && step["detail"].is_string(),
            "{step}"
        );
        assert!(
            ["pass", "stop"].contains(&step["outcome"].as_str().unwrap()),
            "{step}"
        );
    }
    insta::assert_snapshot!("explain_json", r.stdout);
}

#[test]
fn explain_a_denial_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("put.json"),
        r#"{"principal": {"kind": "user_token", "user": 10, "scopes": ["org:read"]}, "endpoint": "OrganizationDetailsEndpoint", "method": "PUT", "organization": "acme"}"#,
    )
    .unwrap();
    let put = dir.path().join("put.json");
    let mut args = vec!["explain"];
    args.extend(EXAMPLE);
    args.push(put.to_str().unwrap());
    let r = run(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!("explain_insufficient_scope", r.stdout);
}

// ----- policy -----

#[test]
fn policy_show_text() {
    let r = run(&["policy", "show"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("policy_show_text", r.stdout);
}

#[test]
fn policy_show_json() {
    let r = run(&["policy", "show", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(p["name"], "sentry");
    assert_eq!(p["scopes"]["all"].as_array().unwrap().len(), 25);
    assert_eq!(p["scopes"]["readonly"].as_array().unwrap().len(), 6);
    assert_eq!(
        p["scopes"]["token_only"],
        serde_json::json!(["project:distribution"])
    );
    let roles: Vec<_> = p["org_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["member", "admin", "manager", "owner"]);
    let team: Vec<_> = p["team_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(team, ["contributor", "admin"]);
    let minimum: Vec<_> = p["org_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["minimum_team_role"].as_str().unwrap())
        .collect();
    assert_eq!(minimum, ["contributor", "admin", "admin", "admin"]);
    // Implications are shown transitively closed: org:admin implies org:integrations too.
    assert_eq!(
        p["scopes"]["implies"]["org:admin"],
        serde_json::json!(["org:integrations", "org:read", "org:write"])
    );
    assert_eq!(p["granular_resources"][0]["kind"], "replay");
    insta::assert_snapshot!("policy_show_json", r.stdout);
}

#[test]
fn policy_check_accepts_the_builtin_policy() {
    let r = run(&["policy", "check", "policies/sentry.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "policies/sentry.toml: ok: policy `sentry` with 25 scopes, 4 org roles, 2 team roles, 1 granular resources\n"
    );
}

#[test]
fn policy_check_reports_every_problem_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        r#"name = "broken"
[scopes]
all = ["a:read", "a:write", "a:read"]
readonly = ["b:read"]

[scopes.implies]
"a:read" = ["a:write"]
"a:write" = ["a:read"]

[[org_roles]]
id = "member"
scopes = ["a:read", "a:admin"]

[[team_roles]]
id = "contributor"
minimum_for = "chief"
"#,
    )
    .unwrap();
    let r = run_in(dir.path(), &["policy", "check", "broken.toml"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    for expected in [
        "broken.toml:3:29: duplicate scope `a:read`",
        "broken.toml:4:13: unknown scope `b:read`",
        "broken.toml:8:1: cycle in `scopes.implies` through `a:write`",
        "broken.toml:12:21: unknown scope `a:admin`",
        "broken.toml:16:15: `minimum_for` of team role `contributor` names unknown org role `chief`",
        "error: 5 problem(s) in `broken.toml`",
    ] {
        assert!(r.stderr.contains(expected), "expected `{expected}` in:\n{}", r.stderr);
    }
    insta::assert_snapshot!("policy_check_broken", r.stderr);

    std::fs::write(dir.path().join("syntax.toml"), "name = \"x\"\n[scopes\n").unwrap();
    let r = run_in(dir.path(), &["policy", "check", "syntax.toml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("syntax.toml:2:"), "{}", r.stderr);
    let r = run_in(dir.path(), &["policy", "check", "missing.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read `missing.toml`"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_and_missing_files_exit_2() {
    let r = run(&["check", "--manifest", "examples/manifest.toml"]);
    assert_eq!(r.code, 2, "clap usage errors exit 2");
    assert_eq!(r.stdout, "");
    let mut args = vec!["explain"];
    args.extend(EXAMPLE);
    args.push("examples/no-such-request.json");
    let r = run(&args);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("cannot read `examples/no-such-request.json`"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "check",
        "--manifest",
        "examples/manifest.toml",
        "--world",
        "nowhere.json",
        "examples/request.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read `nowhere.json`"),
        "{}",
        r.stderr
    );
}
