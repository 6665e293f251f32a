//! `scopegate replay` and `serve --shadow-manifest` end to end: a running server (shadowing a
//! candidate manifest that tightens one endpoint) writes a rotated decision log; the replay
//! of that log under the same candidate names exactly the decisions that flip, and shadow
//! mode counted and logged the same ones live.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::served::{database_with_service_token, http, stop};

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// The service's manifest with `OrganizationDetailsEndpoint` alone tightened: GET needs
/// `org:write` (members hold only `org:read`).
fn candidate(dir: &Path) -> String {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopegate-server/manifest.toml"),
    )
    .unwrap();
    let at = manifest
        .find("name = \"OrganizationDetailsEndpoint\"")
        .unwrap();
    let (head, tail) = manifest.split_at(at);
    let old = "permissions = [\"OrganizationPermission\"]";
    assert!(tail.contains(old));
    let tail = tail.replacen(old, "permissions = [\"TightOrganizationPermission\"]", 1);
    let text = format!(
        "{head}{tail}\n[permissions.TightOrganizationPermission]\nobject = \"organization\"\n\
         scope_map = {{ GET = [\"org:write\", \"org:admin\"], PUT = [\"org:write\", \"org:admin\"], DELETE = [\"org:admin\"] }}\n"
    );
    let path = dir.join("candidate.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn request(principal: &Value, endpoint: &str, method: &str) -> Value {
    json!({"principal": principal, "endpoint": endpoint, "method": method, "organization": "demo"})
}

fn replay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("replay")
        .args(args)
        .env_remove("SCOPEGATE_POLICY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn replay_names_exactly_the_flips_shadow_mode_counted_live() {
    let dir = tempfile::tempdir().unwrap();
    let (url, service) = database_with_service_token(dir.path(), "r.db");
    let candidate = candidate(dir.path());
    let log = dir.path().join("decisions.log");
    let log_arg = log.display().to_string();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ])
        .args(["--decision-log", &log_arg, "--decision-log-mode", "block"])
        // Small parts, so that the log is rotated and replay reads every part.
        .args([
            "--decision-log-max-bytes",
            "4000",
            "--decision-log-max-files",
            "100",
        ])
        .args(["--shadow-manifest", &candidate])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut owner, mut alice) = (String::new(), String::new());
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["owner", "owner@demo.invalid", t] => owner = t.to_string(),
            ["member", "alice@demo.invalid", t] => alice = t.to_string(),
            _ => {}
        }
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_string();
        }
    };
    assert!(!owner.is_empty() && !alice.is_empty());
    let bearer = |t: &str| json!({"kind": "bearer", "token": t});
    let details = "OrganizationDetailsEndpoint";
    // Request ids starting with `flip` are the decisions the candidate turns around.
    let mut sent = Vec::new();
    for i in 0..4 {
        sent.push((
            format!("flip-get-{i}"),
            request(&bearer(&alice), details, "GET"),
        ));
        sent.push((
            format!("same-owner-{i}"),
            request(&bearer(&owner), details, "GET"),
        ));
        sent.push((
            format!("same-put-{i}"),
            request(&bearer(&alice), details, "PUT"),
        ));
        sent.push((
            format!("same-members-{i}"),
            request(&bearer(&alice), "OrganizationMemberIndexEndpoint", "GET"),
        ));
    }
    for (id, body) in &sent {
        let (status, answer) = http(
            &addr,
            "POST",
            "/v1/check",
            Some(&service),
            &[("x-request-id", id)],
            &body.to_string(),
        );
        assert_eq!(status, 200, "{answer}");
    }
    // A batch: one flip among three; explain: one flip.
    let batch = json!({"requests": [
        request(&bearer(&owner), details, "GET"),
        request(&bearer(&alice), details, "GET"),
        request(&bearer(&owner), details, "DELETE"),
    ]});
    let (status, answer) = http(
        &addr,
        "POST",
        "/v1/check/batch",
        Some(&service),
        &[("x-request-id", "flip-batch")],
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    let explained = request(&bearer(&alice), details, "GET").to_string();
    let (status, answer) = http(
        &addr,
        "POST",
        "/v1/explain",
        Some(&service),
        &[("x-request-id", "flip-explain")],
        &explained,
    );
    assert_eq!(status, 200, "{answer}");
    let who = format!("/v1/who-can?organization=demo&endpoint={details}&method=GET");
    let (status, answer) = http(
        &addr,
        "GET",
        &who,
        Some(&service),
        &[("x-request-id", "who")],
        "",
    );
    assert_eq!(status, 200, "{answer}");
    let (status, metrics) = http(
        &addr,
        "GET",
        "/metrics",
        Some(&service),
        &[("x-request-id", "metrics")],
        "",
    );
    assert_eq!(status, 200);
    stop(&mut child);

    // The log, every part (oldest first).
    let mut parts: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("decisions.log")
        })
        .collect();
    assert!(parts.len() > 1, "the log was rotated: {parts:?}");
    parts.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        std::cmp::Reverse(
            name.rsplit_once('.')
                .and_then(|(_, n)| n.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    let lines: Vec<Value> = parts
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    let decisions: Vec<&Value> = lines.iter().filter(|l| l["api"] != "who_can").collect();
    assert_eq!(decisions.len(), sent.len() + 3 + 1);
    // What flips, from the log alone: alice's allowed GETs of the tightened endpoint.
    let expected: BTreeSet<String> = decisions
        .iter()
        .filter(|l| {
            l["decision"]["allowed"] == true
                && l["request"]["endpoint"] == details
                && l["request"]["method"] == "GET"
                && l["request_id"].as_str().unwrap().starts_with("flip")
                && l["bearer"]["token_prefix"].as_str().unwrap() == &alice[..8]
        })
        .map(|l| l["decision_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expected.len(), 6);
    // Shadow mode: the same decisions logged with the candidate's, and counted.
    let shadowed: BTreeSet<String> = decisions
        .iter()
        .filter(|l| l.get("shadow").is_some())
        .map(|l| {
            assert_eq!(l["shadow"]["decision"]["reason"], "missing_scope");
            assert_eq!(l["decision"]["allowed"], true);
            l["decision_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(shadowed, expected);
    let counted = format!(
        "scopegate_shadow_disagreements_total{{endpoint=\"{details}\",direction=\"lost\"}} {}",
        expected.len()
    );
    assert!(metrics.contains(&counted), "{metrics}");
    assert!(metrics.contains(&format!(
        "scopegate_shadow_decisions_total {}",
        decisions.len()
    )));

    // The replay of the log under the same candidate names exactly those decisions.
    let args = [
        log_arg.as_str(),
        "--manifest",
        &candidate,
        "--database-url",
        &url,
        "--format",
        "json",
        "--examples",
        "100",
    ];
    let (code, stdout, stderr) = replay(&args);
    assert_eq!(code, 1, "allowed → denied fails by default: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["totals"]["replayed"], decisions.len());
    assert_eq!(report["totals"]["lost"], expected.len());
    assert_eq!(report["totals"]["lost_caused"], expected.len());
    assert_eq!(report["totals"]["gained"], 0);
    assert_eq!(report["totals"]["stale"], 0);
    assert_eq!(report["reading"]["not_decisions"], 1);
    assert_eq!(
        report["reading"]["files"].as_array().unwrap().len(),
        parts.len()
    );
    let groups = report["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| g["direction"] == "lost"
        && g["endpoint"] == details
        && g["method"] == "GET"
        && g["principal_kind"] == "user_token"
        && g["old_reason"] == "allowed"
        && g["new_reason"] == "missing_scope"));
    let named: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g["examples"].as_array().unwrap().iter())
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, expected);
    assert!(report["world_note"]
        .as_str()
        .unwrap()
        .contains("approximated"));

    // --fail-on.
    for (fail_on, code) in [("none", 0), ("gained", 0), ("any", 1), ("lost", 1)] {
        let (got, _, stderr) = replay(&[&args[..5], &["--fail-on", fail_on]].concat());
        assert_eq!(got, code, "--fail-on {fail_on}: {stderr}");
    }
    // The text report says what the replay approximates and groups the flips.
    let (_, text, _) = replay(&args[..5]);
    assert!(text.contains("approximated by today's"), "{text}");
    assert!(
        text.contains(&format!(
            "{details} GET user_token: allowed → missing_scope: 6"
        )),
        "{text}"
    );

    // `diff --log`: each change weighted by the log's decisions of its endpoint method.
    let service_manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scopegate-server/manifest.toml")
        .display()
        .to_string();
    let out = Command::new(BIN)
        .args([
            "diff",
            &service_manifest,
            &candidate,
            "--format",
            "json",
            "--log",
            &log_arg,
        ])
        .env_remove("SCOPEGATE_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let weighted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(weighted["logged_decisions"], decisions.len());
    let gets = |allowed: bool| {
        decisions
            .iter()
            .filter(|l| l["request"]["endpoint"] == details && l["request"]["method"] == "GET")
            .filter(|l| !allowed || l["decision"]["allowed"] == true)
            .count()
    };
    let changes = weighted["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    // Only GET was tightened: every change is a GET lost, weighted alike.
    for c in changes {
        assert_eq!(
            (&c["endpoint"], &c["method"], &c["gained"]),
            (&json!(details), &json!("GET"), &json!(false)),
            "{c}"
        );
        assert_eq!(c["logged"], gets(false), "{c}");
        assert_eq!(c["logged_allowed"], gets(true), "{c}");
    }

    // An unreadable line: located, skipped and counted; fatal with --strict.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "{{\"schema_version\": 1, \"decision_id\": 7}}").unwrap();
    drop(f);
    let n = std::fs::read_to_string(&log).unwrap().lines().count();
    let (code, stdout, stderr) = replay(&args);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("decisions.log:{n}: skipped:")),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["reading"]["unreadable"], 1);
    assert_eq!(report["totals"]["lost"], expected.len());
    let (code, _, stderr) = replay(&[&args[..], &["--strict"]].concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("decisions.log:{n}:")), "{stderr}");
}
