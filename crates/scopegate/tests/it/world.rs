//! `scopegate world import|export` and `scopegate integration …` on a temporary SQLite
//! database: the example world goes in and comes back out, decides the example requests the
//! same, bad input exits 2 and writes nothing.

use std::path::Path;

use serde_json::{json, Value};

use crate::{repo, run, Run};

/// A migrated SQLite database in `dir` (commands other than `serve` and `migrate` do not
/// create one).
fn db(dir: &Path) -> String {
    let url = format!("sqlite://{}", dir.join("w.db").display());
    let r = run(&["migrate", "--database-url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    url
}

fn export(url: &str) -> Value {
    let r = run(&["world", "export", "--database-url", url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("export prints a world document")
}

/// The example world, with every omitted field spelled out and every list in id order (the
/// export's shape), so that the two compare as values.
fn normalized(mut w: Value) -> Value {
    let doc: scopegate_core::WorldDoc = serde_json::from_value(w.take()).unwrap();
    let mut v = serde_json::to_value(doc).unwrap();
    for key in [
        "organizations",
        "users",
        "members",
        "teams",
        "projects",
        "integrations",
    ] {
        v[key]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|x| x["id"].as_u64());
    }
    for m in v["members"].as_array_mut().unwrap() {
        m["teams"]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|t| t["team"].as_u64());
    }
    v
}

fn check(world: &Path, requests: &str) -> Run {
    run(&[
        "check",
        "--manifest",
        "examples/manifest.toml",
        "--world",
        world.to_str().unwrap(),
        "--requests",
        requests,
    ])
}

#[test]
fn world_import_then_export_gives_back_the_document_and_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let url = db(dir.path());
    let r = run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "imported 2 organization(s), 6 user(s), 6 member(s), 2 team(s), 3 project(s), \
             1 integration(s), 1 grant(s) into sqlite://"
        ),
        "{}",
        r.stdout
    );
    let original: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("examples/world.json")).unwrap())
            .unwrap();
    let exported = export(&url);
    assert_eq!(normalized(exported.clone()), normalized(original));

    // Requests written against the document decide the same against the export.
    let path = dir.path().join("exported.json");
    std::fs::write(&path, exported.to_string()).unwrap();
    let before = check(
        &repo().join("examples/world.json"),
        "examples/requests.jsonl",
    );
    let after = check(&path, "examples/requests.jsonl");
    assert_eq!(after.code, before.code, "{}", after.stderr);
    assert!(!after.stdout.is_empty());
    assert_eq!(after.stdout, before.stdout);

    // A second import is refused: the database is not empty.
    let again = run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(again.code, 2);
    assert!(
        again
            .stderr
            .contains("the store is not empty (6 user(s), 2 organization(s), 1 integration(s))"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_bad_world_exits_2_naming_every_problem_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = db(dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({
            "organizations": [{"id": 1, "slug": "acme"}],
            "members": [{"id": 100, "organization": 1, "user": 10, "role": "boss"},
                        {"id": 101, "organization": 2, "role": "member"}],
        })
        .to_string(),
    )
    .unwrap();
    let r = run(&[
        "world",
        "import",
        bad.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 2);
    let shown = bad.display().to_string();
    assert!(
        r.stderr.contains("invalid world (nothing imported)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{shown}: members[0].role: unknown org role `boss`"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{shown}: members[1].organization: unknown organization id 2"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(export(&url), normalized(json!({})));

    let syntax = dir.path().join("syntax.json");
    std::fs::write(&syntax, "{\"organizations\": [\n  {\"id\": }]}").unwrap();
    let r = run(&[
        "world",
        "import",
        syntax.to_str().unwrap(),
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!("{}:2:", syntax.display())),
        "{}",
        r.stderr
    );
    let r = run(&[
        "world",
        "import",
        "/nonexistent.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read `/nonexistent.json`"),
        "{}",
        r.stderr
    );
}

#[test]
fn integration_create_install_uninstall_and_decide() {
    let dir = tempfile::tempdir().unwrap();
    let url = db(dir.path());
    let r = run(&[
        "world",
        "import",
        "examples/world.json",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = run(&[
        "integration",
        "create",
        "Deploy Bot",
        "--scope",
        "org:write",
        "--scope",
        "project:read",
        "--install",
        "acme",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Implied scopes added (org:write → org:read), sorted; id past the imported ones.
    assert_eq!(
        r.stdout.trim(),
        "created integration 8 deploy-bot [org:read, org:write, project:read] installed on acme"
    );
    let w = export(&url);
    assert_eq!(
        w["integrations"][1],
        json!({"id": 8, "scopes": ["org:read", "org:write", "project:read"], "installed_on": [1]})
    );

    // Bad input: exit 2, a clear message, nothing written.
    for (args, message) in [
        (
            vec!["create", "X", "--scope", "org:nope"],
            "--scope: unknown scope `org:nope`",
        ),
        (
            vec!["create", "X", "--scope", "org:read", "--install", "nope"],
            "no organization `nope`",
        ),
        (
            vec!["create", "Deploy-Bot", "--scope", "org:read"],
            "an integration `deploy-bot` already exists",
        ),
        (
            vec!["create", "!!", "--scope", "org:read"],
            "has no letter or digit",
        ),
        (
            vec!["install", "8", "acme"],
            "integration 8 is already installed on `acme`",
        ),
        (vec!["install", "999", "acme"], "no integration 999"),
        (
            vec!["uninstall", "8", "globex"],
            "integration 8 is not installed on `globex`",
        ),
    ] {
        let mut full = vec!["integration"];
        full.extend(&args);
        full.extend(["--database-url", &url]);
        let r = run(&full);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
    }
    let missing = run(&["integration", "create", "X", "--database-url", &url]);
    assert_eq!(missing.code, 2, "--scope is required");
    assert_eq!(export(&url), w);

    let r = run(&[
        "integration",
        "install",
        "8",
        "globex",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.trim(),
        "integration 8 deploy-bot [org:read, org:write, project:read] installed on acme, globex"
    );
    let r = run(&[
        "integration",
        "uninstall",
        "8",
        "acme",
        "--database-url",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["integration", "list", "--database-url", &url]);
    assert_eq!(
        r.stdout,
        "7 integration-7 [event:read, project:read] installed on acme\n\
         8 deploy-bot [org:read, org:write, project:read] installed on globex\n"
    );

    // The exported world decides the new integration: allowed on globex, not on acme.
    let path = dir.path().join("exported.json");
    std::fs::write(&path, export(&url).to_string()).unwrap();
    let requests = dir.path().join("requests.jsonl");
    let ask = |org: &str| {
        json!({"principal": {"kind": "integration", "integration": 8},
               "endpoint": "OrganizationDetailsEndpoint", "method": "GET", "organization": org})
        .to_string()
    };
    std::fs::write(&requests, format!("{}\n{}\n", ask("globex"), ask("acme"))).unwrap();
    let r = check(&path, requests.to_str().unwrap());
    let reasons: Vec<String> = r
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(reasons, ["allowed", "wrong_organization"], "{}", r.stderr);
}
