//! End to end: `scopegate serve --demo` on `127.0.0.1:0`, driven over HTTP, stopped with
//! SIGTERM; `scopegate user create` and `scopegate migrate`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::served::http;

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

#[test]
fn serve_demo_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("e2e.db").display());
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tokens = std::collections::HashMap::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["listening", "on", url] = words.as_slice() {
            break url.trim_start_matches("http://").to_string();
        }
        if let [role, _, token] = words.as_slice() {
            if token.starts_with("sgu_") || token.starts_with("sntrys_") {
                tokens
                    .entry(role.to_string())
                    .or_insert_with(|| token.to_string());
            }
        }
    };
    let owner = tokens["owner"].clone();
    let member = tokens["member"].clone();

    assert_eq!(http(&addr, "GET", "/healthz", None, &[], "").0, 200);
    let (status, body) = http(
        &addr,
        "GET",
        "/api/0/organizations/demo/",
        Some(&owner),
        &[],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"slug\":\"demo\""));
    let (status, body) = http(&addr, "GET", "/api/0/organizations/demo/", None, &[], "");
    assert_eq!(status, 401, "{body}");
    let (status, _) = http(
        &addr,
        "PUT",
        "/api/0/organizations/demo/",
        Some(&member),
        &[],
        r#"{"name":"Mine"}"#,
    );
    assert_eq!(status, 403);
    let (status, body) = http(
        &addr,
        "POST",
        "/api/0/organizations/demo/teams/",
        Some(&owner),
        &[],
        r#"{"slug":"e2e"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        &addr,
        "POST",
        "/api/0/organizations/demo/teams/",
        Some(&owner),
        &[],
        "{",
    );
    assert_eq!(status, 400, "{body}");

    // SIGTERM: graceful shutdown, exit 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    // The data survived: a second start without --demo serves it.
    let out = Command::new(BIN)
        .args(["user", "create", "late@example.com", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("personal token (shown once): sgu_"),
        "{stdout}"
    );
    let again = Command::new(BIN)
        .args(["user", "create", "late@example.com", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Organization features, straight in the database.
    let features = |args: &[&str]| {
        Command::new(BIN)
            .args(["org", "features"])
            .args(args)
            .args(["--database-url", &url])
            .output()
            .unwrap()
    };
    let replay = "organizations:granular-replay-permissions";
    let out = features(&["demo", "--enable", replay]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(replay));
    let out = features(&["demo", "--disable", replay]);
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(replay));
    assert_eq!(
        features(&["nope", "--enable", replay]).status.code(),
        Some(2)
    );
    assert_eq!(
        features(&["demo", "--enable", "Bad Name"]).status.code(),
        Some(2)
    );
}

#[test]
fn migrate_and_bad_urls() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("m.db").exists());
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", "mysql://u:secret@h/db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sqlite:"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}

/// `token create --service`, then `serve --manifest --decision-log`: the service token calls
/// `/v1/check` with the application's manifest, and the decision is logged.
#[test]
fn service_token_manifest_and_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v1.db").display());
    let migrated = Command::new(BIN)
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let out = Command::new(BIN)
        .args([
            "token",
            "create",
            "--service",
            "--name",
            "app",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let service = stdout
        .split_whitespace()
        .find(|w| w.starts_with("sgs_"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    let missing = Command::new(BIN)
        .args(["token", "create", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "--service is required");

    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/manifest.toml");
    let log = dir.path().join("decisions.jsonl");
    let bad = Command::new(BIN)
        .args([
            "serve",
            "--database-url",
            &url,
            "--manifest",
            "/nonexistent.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--manifest",
        ])
        .arg(manifest)
        .arg("--decision-log")
        .arg(&log)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_string();
        }
    };
    // An endpoint of the example manifest, not of the service's own.
    let body = r#"{"principal": {"kind": "anonymous"}, "endpoint": "ProjectReplayDetailsEndpoint",
        "method": "GET", "organization": "acme", "project": "web"}"#;
    let (status, answer) = http(&addr, "POST", "/v1/check", Some(&service), &[], body);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains("\"reason\":\"unauthenticated\""),
        "{answer}"
    );
    let (status, answer) = http(&addr, "POST", "/v1/check", None, &[], body);
    assert_eq!(status, 401, "{answer}");
    // SIGTERM: the decision log is flushed before the process exits.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(logged.contains("\"policy_version\""), "{logged}");
    assert!(!logged.contains(&service));
}

/// `scopegate check` and the service's `/v1/check` and `/v1/check/batch` write the same
/// decision JSON, byte for byte, for the same requests over the same world (both go through
/// the core's codec): the example world imported into the service's database, the example
/// manifest as its decision manifest.
#[test]
fn check_and_the_service_write_byte_identical_decisions() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("same.db").display());
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(root)
            .env_remove("SCOPEGATE_POLICY")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            out.stderr,
        )
    };
    let (code, _, err) = run(&["migrate", "--database-url", &url]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    let (code, _, err) = run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&err));
    let (code, stdout, _) = run(&["token", "create", "--service", "--database-url", &url]);
    assert_eq!(code, Some(0), "{stdout}");
    let service = stdout
        .split_whitespace()
        .find(|w| w.starts_with("sgs_"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    let (_, cli, err) = run(&[
        "check",
        "--manifest",
        "examples/manifest.toml",
        "--world",
        "examples/world.json",
        "--requests",
        "examples/requests.jsonl",
    ]);
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    // Each `check` line is `{"line":N,` and then the decision's fields.
    let cli: String = cli
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix("{\"line\":")
                .and_then(|r| r.split_once(','))
                .unwrap_or_else(|| panic!("no line number: {l}"))
                .1;
            format!("{{{rest}\n")
        })
        .collect();
    let requests: Vec<String> = std::fs::read_to_string(format!("{root}/examples/requests.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(cli.lines().count(), requests.len());

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .arg("--manifest")
        .arg(format!("{root}/examples/manifest.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_string();
        }
    };
    // The service leads each decision body with the store revision it was made at (no
    // write happens here: one revision throughout); the rest is the CLI's bytes.
    let seen = std::cell::Cell::new(None::<u64>);
    let without_revision = |got: &str| {
        let rest = got
            .strip_prefix("{\"revision\":")
            .unwrap_or_else(|| panic!("no revision first: {got}"));
        let (digits, rest) = rest.split_once(',').unwrap();
        let revision: u64 = digits.parse().unwrap();
        assert!(revision > 0, "the import and the setup are writes");
        assert_eq!(*seen.get().get_or_insert(revision), revision);
        seen.set(Some(revision));
        format!("{{{rest}")
    };
    for (request, want) in requests.iter().zip(cli.lines()) {
        let (status, got) = http(&addr, "POST", "/v1/check", Some(&service), &[], request);
        assert_eq!(status, 200, "{request}: {got}");
        assert_eq!(without_revision(&got), want, "{request}");
    }
    let batch = format!("[{}]", requests.join(","));
    let (status, got) = http(
        &addr,
        "POST",
        "/v1/check/batch",
        Some(&service),
        &[],
        &batch,
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        without_revision(&got),
        format!(
            "{{\"decisions\":[{}]}}",
            cli.lines().collect::<Vec<_>>().join(",")
        )
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
