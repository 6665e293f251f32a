//! Writes the seed corpus `fuzz/corpus/<target>/` (committed; run only on purpose:
//! `cargo test -p scopegate-fuzz --test seed -- --ignored`): the repository's own
//! documents, hand-written hostile inputs, and proptest-generated worlds, manifests and
//! requests from a fixed seed. Each file is named by a hash of its content, as cargo-fuzz
//! names what it adds, so rewriting is idempotent and fuzzer-found inputs sit beside these.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use proptest::collection::vec;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use scopegate_testkit::gen;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn put(target: &str, data: &[u8]) {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), data).unwrap();
}

fn file(target: &str, path: &str) {
    put(target, &std::fs::read(root().join(path)).unwrap());
}

fn files_in(target: &str, dir: &str, ext: &[&str]) {
    for entry in std::fs::read_dir(root().join(dir)).unwrap() {
        let path = entry.unwrap().path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ext.contains(&e));
        if matches {
            put(target, &std::fs::read(&path).unwrap());
        }
    }
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

fn runner() -> TestRunner {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    TestRunner::new_with_rng(Config::default(), rng)
}

#[test]
#[ignore = "writes the committed seed corpus"]
fn write_seed_corpus() {
    // policy
    file("policy", "policies/sentry.toml");
    for text in [
        "",
        "name = \"x\"\n",
        "name = \"x\"\n[scopes]\nall = [\"a:read\", \"a:read\"]\n",
        "name = \"\\u0000\"\n[scopes]\nall = [\"a:\\u0000\"]\n",
        "{\"name\": \"x\", \"scopes\": {\"all\": [\"a:read\"]}}",
        "{\"name\": 1e999}",
        "name = \"x\"\n[scopes]\nall = [\"a:read\"]\n[scopes.implies]\n\"a:read\" = [\"a:read\"]\n",
        "[roles.org.x]\nscopes = [\"nope\"]\n[roles.org.x]\n",
        "scopes.all = 99999999999999999999\n",
        "\u{feff}name = 'x'\r\n",
    ] {
        put("policy", text.as_bytes());
    }
    put(
        "policy",
        format!("scopes = {}\n", nested("[", "", "]", 300)).as_bytes(),
    );
    put(
        "policy",
        format!(
            "name = \"x\"\n[scopes]\nall = [{}]\n",
            vec!["\"a:read\""; 200].join(",")
        )
        .as_bytes(),
    );

    // manifest
    file("manifest", "examples/manifest.toml");
    file("manifest", "crates/scopegate-server/manifest.toml");
    files_in(
        "manifest",
        "crates/scopegate-lint/tests/fixtures",
        &["toml"],
    );
    put(
        "manifest",
        scopegate_testkit::golden::manifest_json()
            .to_string()
            .as_bytes(),
    );
    for text in [
        "",
        "{}",
        "endpoints = []\n",
        "[permissions.A]\nextends = \"A\"\n",
        "[permissions.A]\nobject = \"organization\"\nscope_map = { GET = [\"org:read\"], BREW = [] }\n[[endpoints]]\nname = \"E\"\nclasses = [\"A\", \"B\"]\n",
        "{\"endpoints\": [{\"name\": \"\\u0000\", \"classes\": []}]}",
        "[[endpoints]]\nname = \"E\"\nclasses = [\"A\"]\nstatus = \"bogus\"\n",
    ] {
        put("manifest", text.as_bytes());
    }
    put(
        "manifest",
        format!("{{\"endpoints\": {}}}", nested("[", "", "]", 300)).as_bytes(),
    );
    put(
        "manifest",
        format!("endpoints.{} = 1\n", vec!["a"; 300].join(".")).as_bytes(),
    );
    let mut r = runner();
    for _ in 0..8 {
        let m = gen::manifest().new_tree(&mut r).unwrap().current();
        put("manifest", m.json.to_string().as_bytes());
    }

    // world
    file("world", "examples/world.json");
    put(
        "world",
        scopegate_testkit::golden::world().to_string().as_bytes(),
    );
    for text in [
        "{}",
        "{\"organizations\": [{\"id\": 1, \"slug\": \"a\"}, {\"id\": 1, \"slug\": \"a\"}]}",
        "{\"organizations\": [{\"id\": 18446744073709551615, \"slug\": \"\\u0000\"}]}",
        "{\"members\": [{\"id\": 1, \"organization\": 9, \"user\": 9, \"role\": \"nope\"}]}",
        "{\"organizations\": [{\"id\": 1, \"slug\": \"a\", \"options\": {\"x\": [[[[]]]]}}]}",
        "[]",
    ] {
        put("world", text.as_bytes());
    }
    let mut r = runner();
    for _ in 0..10 {
        let w = gen::world().new_tree(&mut r).unwrap().current();
        put("world", serde_json::to_vec(&w).unwrap().as_slice());
    }

    // request
    file("request", "examples/request.json");
    let text = std::fs::read_to_string(root().join("examples/requests.jsonl")).unwrap();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        put("request", line.as_bytes());
    }
    for text in [
        r#"{"principal": {"kind": "anonymous"}, "endpoint": "OrganizationDetailsEndpoint", "method": "GET", "organization": "acme"}"#,
        r#"{"principal": {"kind": "system"}, "endpoint": "X", "method": "BREW"}"#,
        r#"{"principal": {"kind": "session", "user": 18446744073709551615}, "endpoint": "E", "method": "GET", "organization": "\u0000"}"#,
        r#"{"principal": {"kind": "user_token", "user": 1, "scopes": ["org:read", "org:nope"]}, "endpoint": "E", "method": "delete"}"#,
        r#"{"principal": {"kind": "org_token", "organization": "acme", "scopes": []}, "endpoint": "E", "method": "GET", "project": "p", "team": "t"}"#,
        r#"{"principal": {"kind": "integration", "integration": 1}, "endpoint": "E", "method": "GET"}"#,
        r#"{"principal": {"kind": "api_key", "organization": "acme", "scopes": ["org:admin"]}, "endpoint": "E", "method": "PUT"}"#,
        r#"{"principal": {"kind": "nope"}}"#,
    ] {
        put("request", text.as_bytes());
    }

    // openapi_json, openapi_yaml
    files_in(
        "openapi_json",
        "crates/scopegate-lint/tests/fixtures/openapi",
        &["json"],
    );
    files_in(
        "openapi_json",
        "crates/scopegate-lint/tests/fixtures/malformed",
        &["json"],
    );
    files_in(
        "openapi_yaml",
        "crates/scopegate-lint/tests/fixtures/openapi",
        &["yaml", "yml"],
    );
    files_in(
        "openapi_yaml",
        "crates/scopegate-lint/tests/fixtures/malformed",
        &["yaml", "yml"],
    );
    for text in [
        "",
        "{}",
        "[1, 2",
        r#"{"openapi": "3.1.0", "paths": {"/a": {"get": {"security": [{"b": ["org:read"]}]}}}}"#,
        r##"{"openapi": "3.1.0", "paths": {"/a": {"$ref": "#/paths/~1a"}}}"##,
        r#"{"swagger": "2.0", "paths": {"/a": {"post": {"security": []}}}, "security": [{"o": ["org:write"]}]}"#,
        "{\"a\": \"\\ud800\"}",
        "{\"a\": 1e400, \"b\": -0, \"c\": 12345678901234567890123}",
    ] {
        put("openapi_json", text.as_bytes());
    }
    put("openapi_json", nested("[", "", "]", 300).as_bytes());
    for text in [
        "",
        "openapi: 3.0.0\npaths: {}\n",
        "a: &a [*a]\n",
        "a: &x [1, 2]\nb: &y [*x, *x, *x, *x]\nc: &z [*y, *y, *y, *y]\nd: [*z, *z, *z, *z]\n",
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      security:\n        - b: [org:read]\n",
        "? [a, b]\n: c\n",
        "--- \n...\n---\nopenapi: 3\n",
        "openapi: '3.0.0'\npaths:\n  /a:\n    $ref: '#/paths/~1a'\n",
    ] {
        put("openapi_yaml", text.as_bytes());
    }
    put(
        "openapi_yaml",
        format!("openapi: 3.0.0\npaths:\n  {}x\n", "- ".repeat(300)).as_bytes(),
    );

    // decision: seeds
    for i in 0u32..24 {
        put("decision", &i.to_le_bytes());
    }
    let mut r = runner();
    for _ in 0..8 {
        let bytes = vec(proptest::num::u8::ANY, 0..64)
            .new_tree(&mut r)
            .unwrap()
            .current();
        put("decision", &bytes);
    }
}
