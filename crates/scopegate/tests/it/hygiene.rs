//! CLI hygiene (issue 15 §5): closed pipes, `--format json` on the admin commands, databases
//! that must exist, feature names the policy knows.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{repo, run, Run};

/// A migrated SQLite database in `dir`, holding the example world.
fn example_db(dir: &Path) -> String {
    let url = format!("sqlite://{}", dir.join("h.db").display());
    let r = run(&["migrate", "--database-url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    url
}

/// Runs the binary with standard output a channel whose reader is already closed: every write
/// fails with `EPIPE`, as after `| head -1`.
fn run_into_closed_pipe(args: &[&str]) -> (i32, String) {
    // A socket pair rather than `std::io::pipe` (Rust 1.87, past the MSRV): writing to a
    // socket whose peer is closed fails with `EPIPE` just the same.
    let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(reader);
    let writer = std::os::fd::OwnedFd::from(writer);
    let out = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args(args)
        .current_dir(repo())
        .env_remove("SCOPEGATE_POLICY")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().expect("an exit code, not a signal"),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let url = example_db(dir.path());
    let commands: Vec<Vec<&str>> = vec![
        vec!["world", "export", "--database-url", &url],
        vec!["integration", "list", "--database-url", &url],
        vec![
            "integration",
            "list",
            "--database-url",
            &url,
            "--format",
            "json",
        ],
        vec!["user", "create", "pipe@example.com", "--database-url", &url],
        vec![
            "token",
            "create",
            "--service",
            "--database-url",
            &url,
            "--format",
            "json",
        ],
        vec![
            "org",
            "features",
            "acme",
            "--enable",
            "organizations:team-roles",
            "--database-url",
            &url,
        ],
        vec!["migrate", "--database-url", &url],
        vec![
            "check",
            "--manifest",
            "examples/manifest.toml",
            "--world",
            "examples/world.json",
            "--requests",
            "examples/requests.jsonl",
        ],
        vec![
            "explain",
            "--manifest",
            "examples/manifest.toml",
            "--world",
            "examples/world.json",
            "examples/request.json",
        ],
        vec!["test", "examples"],
        vec!["test", "examples", "--format", "json"],
        vec!["policy", "show"],
        vec!["policy", "show", "--format", "json"],
        vec!["policy", "check", "policies/sentry.toml"],
        vec!["openapi"],
        vec!["rule"],
        vec!["rule", "SG001"],
        vec!["matrix", "examples/manifest.toml"],
        vec!["lint", "examples/manifest.toml"],
        vec!["completions", "bash"],
    ];
    for args in &commands {
        let (code, stderr) = run_into_closed_pipe(args);
        // The reader is gone: nothing more to decide or report, whatever the output held.
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: quietly");
    }
}

fn json(r: &Run) -> Value {
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "one line: {}", r.stdout);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn admin_commands_print_json_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let url = example_db(dir.path());
    let user = json(&run(&[
        "user",
        "create",
        "ci@example.com",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(user["email"], "ci@example.com");
    assert_eq!(user["superuser"], false);
    assert!(
        user["token"].as_str().unwrap().starts_with("sgu_"),
        "{user}"
    );

    let token = json(&run(&[
        "token",
        "create",
        "--service",
        "--name",
        "ci",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(
        (token["kind"].as_str(), token["name"].as_str()),
        (Some("service"), Some("ci"))
    );
    assert!(
        token["token"].as_str().unwrap().starts_with("sgs_"),
        "{token}"
    );

    let created = json(&run(&[
        "integration",
        "create",
        "Deploy Bot",
        "--scope",
        "project:read",
        "--install",
        "acme",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(created["slug"], "deploy-bot");
    assert_eq!(created["installed_on"], serde_json::json!(["acme"]));
    let id = created["id"].as_i64().unwrap().to_string();
    let installed = json(&run(&[
        "integration",
        "install",
        &id,
        "globex",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(
        installed["installed_on"],
        serde_json::json!(["acme", "globex"])
    );
    let uninstalled = json(&run(&[
        "integration",
        "uninstall",
        &id,
        "acme",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(uninstalled["installed_on"], serde_json::json!(["globex"]));
    let list = json(&run(&[
        "integration",
        "list",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    let slugs: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"deploy-bot"), "{list}");

    let org = json(&run(&[
        "org",
        "features",
        "globex",
        "--enable",
        "organizations:team-roles",
        "--database-url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(
        org,
        serde_json::json!({"slug": "globex", "features": ["organizations:team-roles"]})
    );

    let other = tempfile::tempdir().unwrap();
    let fresh = format!("sqlite://{}", other.path().join("i.db").display());
    assert_eq!(run(&["migrate", "--database-url", &fresh]).code, 0);
    let summary = json(&run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &fresh,
        "--format",
        "json",
    ]));
    assert_eq!(summary["organizations"], 2);
    assert_eq!(summary["users"], 6);
}

#[test]
fn only_serve_and_migrate_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    for args in [
        vec!["world", "export"],
        vec!["world", "import", "examples/world.json"],
        vec!["user", "create", "a@example.com"],
        vec!["token", "create", "--service"],
        vec![
            "org",
            "features",
            "acme",
            "--enable",
            "organizations:team-roles",
        ],
        vec!["integration", "list"],
        vec!["integration", "create", "X", "--scope", "org:read"],
        vec!["integration", "install", "1", "acme"],
    ] {
        let mut args = args.clone();
        args.extend(["--database-url", &url]);
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
        assert!(
            r.stderr
                .contains("(a database is created by `scopegate migrate` or `scopegate serve`)")
                && r.stderr.contains("no such database file"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!path.exists(), "{args:?} created the file");
    }
    let r = run(&["migrate", "--database-url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(path.exists());
    let r = run(&["world", "export", "--database-url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn org_features_accepts_only_features_the_policy_reads() {
    let dir = tempfile::tempdir().unwrap();
    let url = example_db(dir.path());
    let r = run(&[
        "org",
        "features",
        "acme",
        "--enable",
        "organizations:team-role",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: unknown feature `organizations:team-role` (did you mean `organizations:team-roles`?): \
         the policy knows `organizations:granular-replay-permissions`, `organizations:team-roles`\n"
    );
    let r = run(&[
        "org",
        "features",
        "acme",
        "--disable",
        "organizations:nope",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown feature `organizations:nope`"),
        "{}",
        r.stderr
    );
    // A feature the organization has may be disabled even when the policy does not read it.
    let world = std::fs::read_to_string(repo().join("examples/world.json")).unwrap();
    let world = world.replace(
        "\"organizations:team-roles\"]",
        "\"organizations:team-roles\", \"legacy:thing\"]",
    );
    std::fs::write(dir.path().join("w.json"), world).unwrap();
    let other = format!("sqlite://{}", dir.path().join("o.db").display());
    assert_eq!(run(&["migrate", "--database-url", &other]).code, 0);
    let w = dir.path().join("w.json");
    let r = run(&[
        "world",
        "import",
        w.to_str().unwrap(),
        "--database-url",
        &other,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&[
        "org",
        "features",
        "acme",
        "--disable",
        "legacy:thing",
        "--database-url",
        &other,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "acme: organizations:granular-replay-permissions, organizations:team-roles\n"
    );
}

#[test]
fn check_reads_requests_from_stdin_and_numbers_each_decision() {
    use std::io::Write as _;
    let requests = std::fs::read_to_string(repo().join("examples/requests.jsonl")).unwrap();
    // A blank line and a typo'd endpoint: the numbers are the input's lines.
    let input = format!(
        "{}\n\n{}\n",
        requests.lines().next().unwrap(),
        requests
            .lines()
            .next()
            .unwrap()
            .replace("OrganizationDetails", "OrganisationDetails")
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args([
            "check",
            "--manifest",
            "examples/manifest.toml",
            "--world",
            "examples/world.json",
            "--requests",
            "-",
        ])
        .current_dir(repo())
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
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["allowed"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        (lines[1]["line"].as_u64(), lines[1]["allowed"].as_bool()),
        (Some(3), Some(false))
    );
    assert_eq!(
        stderr,
        "warning: <stdin>:3: unknown endpoint `OrganisationDetailsEndpoint` (did you mean `OrganizationDetailsEndpoint`?): denied\n"
    );
}

#[test]
fn unknown_rules_and_subcommands_get_a_suggestion() {
    let r = run(&["rule", "SG01"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown rule `SG01` (did you mean `SG001`?)"),
        "{}",
        r.stderr
    );
    let r = run(&["rule", "readonly-scope-on-mutatoin"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("(did you mean `readonly-scope-on-mutation`?)"),
        "{}",
        r.stderr
    );
    let r = run(&["chekc"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("tip: a similar subcommand exists: 'check'"),
        "{}",
        r.stderr
    );
}

#[test]
fn policy_show_and_check_take_the_file_the_same_way() {
    let path = "policies/sentry.toml";
    let ok = "policies/sentry.toml: ok: policy `sentry` with 25 scopes, 4 org roles, 2 team roles, 1 granular resources\n";
    for args in [
        vec!["policy", "check", path],
        vec!["policy", "check", "--policy", path],
    ] {
        let r = run(&args);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, ok),
            "{args:?}: {}",
            r.stderr
        );
    }
    let builtin = run(&["policy", "show"]).stdout;
    for args in [
        vec!["policy", "show", path],
        vec!["policy", "show", "--policy", path],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stdout, builtin,
            "{args:?}: the file is the built-in policy"
        );
    }
    let r = run(&["policy", "check"]);
    assert_eq!(r.stdout, "built-in: ok: policy `sentry` with 25 scopes, 4 org roles, 2 team roles, 1 granular resources\n");
    let r = run(&["policy", "show", "a.toml", "--policy", "b.toml"]);
    assert_eq!(r.code, 2, "one file, one way: {}", r.stderr);
    let r = run(&["policy", "show", "missing.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read `missing.toml`"),
        "{}",
        r.stderr
    );
}
