//! `scopegate serve --decision-log …` end to end: the flags, stdout as the destination (and
//! nothing else on stdout), rotation by `--decision-log-max-bytes` and
//! `--decision-log-max-files`, the log flushed at SIGTERM, no secret in any output.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::served::{database_with_service_token, http, stop};

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// Reads `lines` until `listening on`; returns the address and the demo tokens seen.
fn address(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> (String, Vec<String>) {
    let mut tokens = Vec::new();
    loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        // The demo's account lines: `role email token`.
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [_, _, token] = words.as_slice() {
            if token.starts_with("sgu_") || token.starts_with("sntrys_") {
                tokens.push(token.to_string());
            }
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            return (a.to_string(), tokens);
        }
    }
}

fn check_body(token: &str) -> String {
    format!(
        r#"{{"principal": {{"kind": "bearer", "token": "{token}"}}, "endpoint": "OrganizationDetailsEndpoint", "method": "GET", "organization": "demo"}}"#
    )
}

#[test]
fn stdout_holds_only_decision_lines_flushed_at_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (url, service) = database_with_service_token(dir.path(), "dl.db");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ])
        .args([
            "--decision-log",
            "stdout",
            "--decision-log-mode",
            "block",
            "--decision-log-queue",
            "4",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The start-up lines (address, demo tokens) go to stderr when the log is on stdout.
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (addr, tokens) = address(&mut err_lines);
    assert!(tokens.len() >= 2, "the demo tokens are printed: {tokens:?}");
    let mut stdout = child.stdout.take().unwrap();
    for token in &tokens {
        let (status, body) = http(
            &addr,
            "POST",
            "/v1/check",
            Some(&service),
            &[],
            &check_body(token),
        );
        assert_eq!(status, 200, "{body}");
    }
    let who = "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=PUT";
    assert_eq!(http(&addr, "GET", who, Some(&service), &[], "").0, 200);
    let status = stop(&mut child);
    assert_eq!(status.code(), Some(0));
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();
    let rest: Vec<String> = err_lines.map_while(Result::ok).collect();
    let lines: Vec<Value> = out
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout holds only JSON lines: {e}: {l}"))
        })
        .collect();
    assert_eq!(lines.len(), tokens.len() + 1, "{out}");
    for (line, token) in lines.iter().zip(&tokens) {
        assert_eq!(line["schema_version"], 1);
        assert_eq!(line["api"], "check");
        assert_eq!(line["caller"]["name"], "gateway");
        assert!(line["bearer"]["token_id"].is_string(), "{line}");
        assert!(token.starts_with(line["bearer"]["token_prefix"].as_str().unwrap()));
        // The demo's members may read their organization; its org token (org:ci) may not.
        let member = token.starts_with("sgu_");
        assert_eq!(line["decision"]["allowed"], member, "{line}");
        let kind = if member { "user_token" } else { "org_token" };
        assert_eq!(line["request"]["principal"]["kind"], kind, "{line}");
    }
    assert_eq!(lines[tokens.len()]["api"], "who_can");
    for secret in tokens.iter().chain([&service]) {
        assert!(
            !out.contains(secret.as_str()),
            "a secret is in the decision log"
        );
        assert!(
            !rest.join("\n").contains(secret.as_str()),
            "a secret is in the logs"
        );
    }
}

#[test]
fn a_file_rotates_by_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (url, service) = database_with_service_token(dir.path(), "dl.db");
    let log = dir.path().join("decisions.jsonl");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--decision-log",
        ])
        .arg(&log)
        .args([
            "--decision-log-max-bytes",
            "1200",
            "--decision-log-max-files",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (addr, tokens) = address(&mut lines);
    for _ in 0..8 {
        let (status, body) = http(
            &addr,
            "POST",
            "/v1/check",
            Some(&service),
            &[],
            &check_body(&tokens[0]),
        );
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(stop(&mut child).code(), Some(0));
    let part = |n: u32| dir.path().join(format!("decisions.jsonl.{n}"));
    assert!(part(1).exists(), "rotated to FILE.1");
    assert!(
        !part(2).exists(),
        "--decision-log-max-files 1 keeps one part"
    );
    for file in [part(1), log] {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.len() <= 1200, "{}", file.display());
        assert!(!text.contains(&tokens[0]) && !text.contains(&service));
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["api"], "check");
        }
    }
}

#[test]
fn bad_decision_log_flags_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bad.db").display());
    for (args, says) in [
        (
            vec![
                "--decision-log",
                "stdout",
                "--decision-log-mode",
                "sometimes",
            ],
            "sometimes",
        ),
        (
            vec!["--decision-log", "stdout", "--decision-log-queue", "0"],
            "decision-log-queue",
        ),
        (
            vec!["--decision-log", "stdout", "--decision-log-max-bytes", "0"],
            "decision-log-max-bytes",
        ),
        (vec!["--decision-log", ""], "stdout"),
        (
            vec!["--decision-log", "/nonexistent-dir/decisions.jsonl"],
            "/nonexistent-dir/decisions.jsonl",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
