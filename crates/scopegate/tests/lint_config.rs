//! CLI tests of `scopegate lint` configured once (issue 15 §2): `scopegate.toml` found by
//! walking up, `--config`, per-path overrides, severities and `--fail-severity`,
//! `--explain-config`, directories, globs and `-`, and the `junit` and `gitlab` formats.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// Runs the binary in `dir` with `stdin`; returns (exit code, stdout, stderr).
fn run_with(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCOPEGATE_POLICY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_with(dir, args, "")
}

fn show((code, stdout, stderr): (i32, String, String)) -> String {
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// A temporary directory holding copies of fixtures (`(fixture, name in the dir)`).
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in files {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join(from), to).unwrap();
    }
    dir
}

#[test]
fn no_flags_in_a_directory_with_sentrys_document_and_a_config_finds_the_23() {
    let Some(openapi) = corpus("openapi.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(openapi, dir.path().join("openapi.json")).unwrap();
    // Files that are neither a manifest nor an API description are skipped.
    std::fs::write(dir.path().join("package.json"), r#"{"name": "x"}"#).unwrap();
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[lint]\nscope-list = \"any\"\nreadonly-scopes = [\"*:read\"]\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["lint"]);
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let (summary, findings) = lines.split_last().unwrap();
    assert_eq!(findings.len(), 23);
    assert!(findings.iter().all(|l| l.starts_with("openapi.json:")));
    assert!(findings.iter().all(|l| l.contains(" SG001 ")));
    assert!(summary.starts_with("23 findings in 1 file ("), "{summary}");
    // Without the configuration, Sentry's lists read as all-of: nothing found.
    std::fs::remove_file(dir.path().join("scopegate.toml")).unwrap();
    let (code, stdout, _) = run_in(dir.path(), &["lint"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("0 findings in 1 file"), "{stdout}");
}

#[test]
fn the_config_is_found_by_walking_up_and_its_paths_are_relative_to_it() {
    let dir = dir_with(&[("sg001.toml", "api/m.toml")]);
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[lint]\npaths = [\"api\"]\nselect = [\"SG001\"]\n",
    )
    .unwrap();
    let sub = dir.path().join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let (code, stdout, stderr) = run_in(&sub, &["lint", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(f["code"], "SG001");
        assert!(f["file"].as_str().unwrap().ends_with("api/m.toml"), "{f}");
    }
    // `--config` names another file.
    std::fs::write(
        dir.path().join("other.toml"),
        "[lint]\nselect = [\"SG004\"]\n",
    )
    .unwrap();
    let (_, stdout, _) = run_in(
        dir.path(),
        &[
            "lint",
            "api/m.toml",
            "--config",
            "other.toml",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["code"] == "SG004"));
}

const OVERRIDES: &str = r#"[lint]
readonly-scopes = ["*:read"]
ignore = ["SG004"]
baseline = "lint-baseline.json"

[lint.severity]
SG002 = "warning"

[[lint.overrides]]
paths = ["legacy/**"]
scope-list = "any"
severity = { SG001 = "note" }
"#;

#[test]
fn explain_config_says_what_applies_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scopegate.toml"), OVERRIDES).unwrap();
    insta::assert_snapshot!(show(run_in(
        dir.path(),
        &[
            "lint",
            "--explain-config",
            "legacy/old.yaml",
            "--select",
            "SG00"
        ]
    )));
    insta::assert_snapshot!(show(run_in(
        dir.path(),
        &["lint", "--explain-config", "new.yaml"]
    )));
}

#[test]
fn per_path_severity_and_fail_severity() {
    let dir = dir_with(&[("sg001.toml", "legacy/m.toml"), ("sg001.toml", "m.toml")]);
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[lint]\nselect = [\"SG001\"]\n\n[[lint.overrides]]\npaths = [\"legacy/**\"]\nseverity = { SG001 = \"warning\" }\n",
    )
    .unwrap();
    // Only warnings: the run passes, and still prints them.
    let (code, stdout, _) = run_in(dir.path(), &["lint", "legacy", "--format", "json"]);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["severity"] == "warning"));
    let (code, _, _) = run_in(
        dir.path(),
        &["lint", "legacy", "--fail-severity", "warning"],
    );
    assert_eq!(code, 1);
    // The other file keeps the default severity: errors, omitted from JSON.
    let (code, stdout, _) = run_in(dir.path(), &["lint", "m.toml", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f.get("severity").is_none()));
    // `fail-severity` in the file.
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[lint]\nfail-severity = \"note\"\nseverity = { SG001 = \"note\" }\n",
    )
    .unwrap();
    let (code, _, _) = run_in(dir.path(), &["lint", "m.toml"]);
    assert_eq!(code, 1);
}

#[test]
fn bad_config_is_a_located_error_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[lint]\nscope-list = \"some\"\nselect = [\"XX9\"]\ncolour = 1\n\n[lint.severity]\nSG001 = \"fatal\"\n\n[[lint.overrides]]\nignore = []\n",
    )
    .unwrap();
    insta::assert_snapshot!(show(run_in(dir.path(), &["lint"])));
    std::fs::write(dir.path().join("scopegate.toml"), "[lint\n").unwrap();
    insta::assert_snapshot!(show(run_in(dir.path(), &["lint"])));
}

#[test]
fn directories_globs_and_stdin() {
    let dir = dir_with(&[
        ("sg001.toml", "api/m.toml"),
        ("openapi/semantics.yaml", "api/v1/openapi.yaml"),
    ]);
    std::fs::write(dir.path().join("api/notes.json"), r#"{"a": 1}"#).unwrap();
    let files = |out: &(i32, String, String)| {
        let v: serde_json::Value = serde_json::from_str(&out.1).unwrap();
        let mut files: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap().to_string())
            .collect();
        files.dedup();
        (files, v["summary"]["files"].clone())
    };
    let flags = ["--readonly-scope", "*:read", "--format", "json"];
    let out = run_in(dir.path(), &[&["lint", "api"][..], &flags].concat());
    assert_eq!(out.0, 1, "{}", out.2);
    assert_eq!(
        files(&out),
        (
            vec!["api/m.toml".to_string(), "api/v1/openapi.yaml".to_string()],
            serde_json::json!(2)
        )
    );
    let out = run_in(
        dir.path(),
        &[&["lint", "api/**/*.yaml"][..], &flags].concat(),
    );
    assert_eq!(files(&out).0, vec!["api/v1/openapi.yaml".to_string()]);
    let out = run_in(dir.path(), &["lint", "nothing/*.yaml"]);
    assert_eq!(out.0, 2);
    assert!(
        out.2
            .contains("nothing/*.yaml:1:1: the glob matches no file"),
        "{}",
        out.2
    );
    // `-`: standard input, named `<stdin>`.
    let text = std::fs::read_to_string(fixtures().join("sg001.toml")).unwrap();
    let out = run_with(dir.path(), &[&["lint", "-"][..], &flags].concat(), &text);
    assert_eq!(out.0, 1, "{}", out.2);
    assert_eq!(files(&out).0, vec!["<stdin>".to_string()]);
    // A named file that is not an input is still an error.
    let out = run_in(dir.path(), &["lint", "api/notes.json"]);
    assert_eq!(out.0, 2);
}

#[test]
fn junit_and_gitlab_formats() {
    let dir = fixtures();
    insta::assert_snapshot!(show(run_in(
        &dir,
        &["lint", "sg002.toml", "--format", "junit"]
    )));
    let out = run_in(&dir, &["lint", "sg001.toml", "--format", "gitlab"]);
    assert_eq!(out.0, 1);
    let v: serde_json::Value = serde_json::from_str(&out.1).unwrap();
    let issues = v.as_array().unwrap();
    assert!(!issues.is_empty());
    let mut fingerprints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), issues.len(), "fingerprints are unique");
    insta::assert_snapshot!(show(out));
    // A clean run: one passing test case.
    insta::assert_snapshot!(show(run_in(
        &dir,
        &[
            "lint",
            "sg001.toml",
            "--select",
            "SG001",
            "--readonly-scope",
            "nothing:*",
            "--format",
            "junit"
        ]
    )));
}
