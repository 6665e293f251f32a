//! CLI tests of `scopegate lint`, `rule`, `matrix` and `diff`: the real binary, with exit
//! code, stdout and stderr snapshotted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopegate-lint/tests/fixtures")
}

fn corpus(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sentry")
        .join(name);
    assert!(p.exists(), "{} is missing", p.display());
    Some(p)
}

/// Runs the binary in `dir`; returns (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCOPEGATE_POLICY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(&fixtures(), args)
}

fn show((code, stdout, stderr): (i32, String, String)) -> String {
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

#[test]
fn lint_sentry_manifests_prints_sentrys_lines() {
    for (manifest, expected) in [
        ("sentry-manifest.json", "expected-SG001.txt"),
        (
            "sentry-manifest-before-notes.json",
            "expected-SG001-before-notes.txt",
        ),
    ] {
        let (Some(m), Some(e)) = (corpus(manifest), corpus(expected)) else {
            return;
        };
        let (code, stdout, _) = run(&["lint", m.to_str().unwrap()]);
        assert_eq!(code, 1);
        let lines: Vec<&str> = stdout.lines().collect();
        let (summary, findings) = lines.split_last().unwrap();
        let expected = std::fs::read_to_string(e).unwrap();
        assert_eq!(findings.to_vec(), expected.lines().collect::<Vec<_>>());
        assert!(summary.contains("findings in 1 file"), "{summary}");
    }
}

#[test]
fn lint_sentry_openapi_any_and_all() {
    let Some(p) = corpus("openapi.json") else {
        return;
    };
    let p = p.to_str().unwrap();
    let base = ["lint", p, "--readonly-scope", "*:read", "--format", "json"];
    let (code, stdout, _) = run(&[&base[..], &["--scope-list", "any"]].concat());
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["summary"]["findings"], 23);
    assert_eq!(v["findings"].as_array().unwrap().len(), 23);
    let (code, stdout, _) = run(&[&base[..], &["--scope-list", "all"]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["summary"]["findings"], 0);
}

#[test]
fn lint_text() {
    insta::assert_snapshot!(show(run(&["lint", "sg001.toml", "sg004.toml"])));
}

#[test]
fn lint_json() {
    insta::assert_snapshot!(show(run(&["lint", "sg001.toml", "--format", "json"])));
}

#[test]
fn lint_sarif() {
    let out = run(&[
        "lint",
        "openapi/semantics.yaml",
        "--readonly-scope",
        "*:read",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.0, 1);
    let v: serde_json::Value = serde_json::from_str(&out.1).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "openapi/semantics.yaml");
        assert!(loc["region"]["startLine"].as_u64().unwrap() > 0);
        assert!(r["partialFingerprints"]["scopegateFinding/v1"].is_string());
    }
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 6);
    assert!(rules[0]["help"]["text"]
        .as_str()
        .unwrap()
        .contains("## Fix"));
    insta::assert_snapshot!(show(out));
}

#[test]
fn sarif_fingerprints_ignore_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("sg001.toml")).unwrap();
    std::fs::write(dir.path().join("m.toml"), &text).unwrap();
    let fp = |dir: &Path| {
        let (_, stdout, _) = run_in(dir, &["lint", "m.toml", "--format", "sarif"]);
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["partialFingerprints"]["scopegateFinding/v1"].clone(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = fp(dir.path());
    std::fs::write(dir.path().join("m.toml"), format!("# moved\n\n{text}")).unwrap();
    let after = fp(dir.path());
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.0, a.0);
        assert_ne!(b.1, a.1);
    }
}

#[test]
fn lint_github_and_markdown() {
    insta::assert_snapshot!(show(run(&["lint", "sg002.toml", "--format", "github"])));
    insta::assert_snapshot!(show(run(&["lint", "sg001.toml", "--format", "markdown"])));
}

#[test]
fn lint_publish_status_and_select() {
    insta::assert_snapshot!(show(run(&[
        "lint",
        "sg001.toml",
        "--publish-status",
        "public",
        "--select",
        "SG001"
    ])));
}

#[test]
fn lint_clean_input_exits_0() {
    insta::assert_snapshot!(show(run(&[
        "lint",
        "sg001.toml",
        "--select",
        "SG001",
        "--readonly-scope",
        "nothing:*"
    ])));
}

#[test]
fn lint_policy_file_supplies_readonly_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/sentry.toml");
    let text = std::fs::read_to_string(policy)
        .unwrap()
        .replace("readonly = [", "readonly = [\"org:write\", ");
    assert!(text.contains("\"org:write\", "));
    let p = dir.path().join("policy.toml");
    std::fs::write(&p, text).unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(
        &m,
        "[permissions.P]\nobject = \"organization\"\nscope_map = { POST = [\"org:write\"] }\n\n[[endpoints]]\nname = \"E\"\npermissions = [\"P\"]\npublish_status = { POST = \"public\" }\n",
    )
    .unwrap();
    let (code, _, _) = run(&["lint", m.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, stdout, stderr) = run(&[
        "lint",
        m.to_str().unwrap(),
        "--select",
        "SG001",
        "--policy",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("POST accepts readonly scopes ['org:write']"),
        "{stdout}"
    );
}

#[test]
fn baseline_fails_only_on_new_findings_and_reports_gone_entries() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("baseline.json");
    let b = b.to_str().unwrap();
    let (code, _, stderr) = run(&["lint", "sg001.toml", "--write-baseline", b]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(&["lint", "sg001.toml", "--baseline", b]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    // A baseline with one entry gone and one extra: the gone one fails, the extra is reported.
    let text = std::fs::read_to_string(b).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = v["entries"].as_array_mut().unwrap();
    let removed = entries.remove(0);
    entries.push(serde_json::json!({
        "file": "sg001.toml", "code": "SG001", "endpoint": "app.GoneEndpoint", "method": "POST"
    }));
    std::fs::write(b, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let (code, stdout, stderr) = run(&["lint", "sg001.toml", "--baseline", b]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(removed["endpoint"].as_str().unwrap()),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("1 finding in 1 file"));
    assert_eq!(
        stderr,
        "note: baseline entry no longer occurs, remove it: sg001.toml SG001 app.GoneEndpoint POST\n"
    );
}

#[test]
fn malformed_inputs_exit_2_with_a_location() {
    insta::assert_snapshot!(show(run(&["lint", "malformed/broken.yaml"])));
    insta::assert_snapshot!(show(run(&["lint", "malformed/cycle.yaml"])));
    insta::assert_snapshot!(show(run(&["lint", "malformed/missing-ref.yaml"])));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["lint", "sg001.toml", "--format", "xml"]).0, 2);
    assert_eq!(run(&["lint"]).0, 2);
    insta::assert_snapshot!(show(run(&["lint", "sg001.toml", "--select", "XY1"])));
    // A near miss gets a "did you mean", for `--ignore` as for `--select`.
    let (code, _, stderr) = run(&["lint", "sg001.toml", "--ignore", "SG01"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown rule code or prefix `SG01` (did you mean `SG001`?)"),
        "{stderr}"
    );
}

#[test]
fn rule_prints_documentation() {
    insta::assert_snapshot!(show(run(&["rule", "SG001"])));
    insta::assert_snapshot!(show(run(&["rule"])));
    assert_eq!(run(&["rule", "SG999"]).0, 2);
}

#[test]
fn the_command_line_definition_is_valid() {
    use clap::CommandFactory;
    scopegate::Cli::command().debug_assert();
}

#[test]
fn matrix_command() {
    insta::assert_snapshot!(show(run(&["matrix", "matrix/old.toml", "--format", "csv"])));
    insta::assert_snapshot!(show(run(&[
        "matrix",
        "matrix/old.toml",
        "--format",
        "markdown"
    ])));
    let (code, stdout, _) = run(&["matrix", "matrix/old.toml", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 5);
    insta::assert_snapshot!(show(run(&["matrix", "malformed/extends-cycle.toml"])));
}

#[test]
fn diff_command_exits_1_when_access_is_gained() {
    insta::assert_snapshot!(show(run(&["diff", "matrix/old.toml", "matrix/new.toml"])));
    let (code, stdout, _) = run(&["diff", "matrix/old.toml", "matrix/old.toml"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "0 gained, 0 lost, across 0 endpoints\n")
    );
    // a tightening only: nothing gained, exit 0
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(fixtures().join("matrix/old.toml")).unwrap();
    let tight = dir.path().join("tight.toml");
    std::fs::write(
        &tight,
        old.replace(
            "POST = [\"org:read\", \"org:write\", \"org:admin\"]",
            "POST = [\"org:write\", \"org:admin\"]",
        ),
    )
    .unwrap();
    let (code, stdout, _) = run(&[
        "diff",
        "matrix/old.toml",
        tight.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["gained"], 0);
    assert!(v["lost"].as_u64().unwrap() > 0);
    // one side a policy: the manifest comes from the other side
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/sentry.toml");
    let both = format!("{},matrix/old.toml", policy.display());
    let (code, stdout, stderr) = run(&["diff", &both, policy.to_str().unwrap()]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "0 gained, 0 lost, across 0 endpoints\n"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["diff", policy.to_str().unwrap(), policy.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("neither OLD nor NEW names a manifest"),
        "{stderr}"
    );
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.json");
    std::fs::write(&deep, "[".repeat(200_000)).unwrap();
    let (code, stdout, stderr) = run(&["lint", deep.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains(
            "deep.json:1:257: invalid JSON: arrays and objects nest deeper than 256 levels"
        ),
        "{stderr}"
    );
    let deep = dir.path().join("deep.yaml");
    std::fs::write(&deep, format!("a: {}", "[".repeat(200_000))).unwrap();
    let (code, _, stderr) = run(&["lint", deep.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("deep.yaml:1:"), "{stderr}");
}

/// The service's OpenAPI document lists the scopes each operation admits and carries the
/// manifest's exception notes, so the guardrail holds on the document too (issue 4, item 7):
/// clean with the notes, SG001 on every noted mutation without them.
#[test]
fn the_service_openapi_document_lints_clean_and_only_thanks_to_its_notes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, doc, stderr) = run(&["openapi"]);
    assert_eq!(code, 0, "{stderr}");
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, &doc).unwrap();
    let (code, stdout, stderr) = run(&["lint", path.to_str().unwrap(), "--scope-list", "any"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let mut value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let mut noted = 0;
    for item in value["paths"].as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            if let Some(op) = op.as_object_mut() {
                noted += usize::from(op.remove("x-readonly-mutation-exception").is_some());
            }
        }
    }
    assert!(noted > 0, "the service declares noted mutations");
    std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
    let (code, stdout, _) = run(&[
        "lint",
        path.to_str().unwrap(),
        "--scope-list",
        "any",
        "--select",
        "SG001",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" SG001 ")).count(),
        noted,
        "{stdout}"
    );
}

#[test]
fn lint_discovery_and_jira_documents() {
    // Discovery scope lists read any-of and Jira's extension entries all-of, whatever
    // `--scope-list` says; a scope `auth.oauth2.scopes` leaves out is a warning.
    let (code, stdout, stderr) = run(&[
        "lint",
        "discovery/gmail.json",
        "discovery/drive.json",
        "atlassian/jira-platform.json",
        "--readonly-scope",
        "*.readonly",
        "--readonly-scope",
        "read:*",
    ]);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(show((code, stdout, stderr)));
    let (code, _, stderr) = run(&["lint", "malformed/discovery-bad-method.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("malformed/discovery-bad-method.json:8:58: `httpMethod`"),
        "{stderr}"
    );
}
