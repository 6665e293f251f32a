//! Bad input gets a clear error that says where: `file:line:column` for policies and
//! manifests (TOML and JSON), a path like `members[0].role` for worlds, the field for
//! requests. Never a panic.

use serde_json::json;

use scopegate_core::{Manifest, Policy, Request, Source, World, WorldDoc};

/// The problems of a policy document, one `file:line:column: message` per line.
fn policy_errors(name: &str, text: &str) -> String {
    match Policy::load(&Source::new(name, text)) {
        Ok(_) => panic!("{name} should be rejected:\n{text}"),
        Err(d) => d.to_string(),
    }
}

/// The problems of a manifest document, compiled against the Sentry policy.
fn manifest_errors(name: &str, text: &str) -> String {
    match Manifest::load(&Source::new(name, text), &Policy::sentry()) {
        Ok(_) => panic!("{name} should be rejected:\n{text}"),
        Err(d) => d.to_string(),
    }
}

#[track_caller]
fn assert_has(errors: &str, expected: &[&str]) {
    for e in expected {
        assert!(errors.contains(e), "expected `{e}` in:\n{errors}");
    }
}

const POLICY_HEAD: &str = r#"name = "test"
[scopes]
all = ["a:read", "a:write"]
"#;

// ----- policies -----

#[test]
fn policy_syntax_errors_are_located() {
    let e = policy_errors("p.toml", "name = \"x\"\n[scopes\nall = []\n");
    assert_has(&e, &["p.toml:2:", "invalid TOML"]);
    let e = policy_errors(
        "p.json",
        "{\n  \"name\": \"x\",\n  \"scopes\": {\"all\": [}\n}\n",
    );
    assert_has(&e, &["p.json:3:", "invalid JSON"]);
    let e = policy_errors("p.toml", "");
    assert_has(&e, &["p.toml:1:1: missing field `name`"]);
}

#[test]
fn policy_unknown_scopes_roles_and_keys_are_all_reported() {
    let text = format!(
        r#"{POLICY_HEAD}readonly = ["a:read", "z:read"]

[[org_roles]]
id = "member"
scopes = ["a:read", "b:read"]
colour = "blue"

[[org_roles]]
id = "member"

[[team_roles]]
id = "contributor"
minimum_for = "boss"
"#
    );
    let e = policy_errors("p.toml", &text);
    assert_has(
        &e,
        &[
            "p.toml:4:23: unknown scope `z:read` in `scopes.readonly`",
            "p.toml:8:21: unknown scope `b:read`",
            "p.toml:9:1:",
            "colour",
            "p.toml:12:6: duplicate org role id `member`",
            "p.toml:16:15:",
            "unknown org role `boss`",
        ],
    );
    assert_eq!(e.lines().count(), 5, "one line per problem:\n{e}");
}

#[test]
fn policy_implies_cycle_and_bad_bypass() {
    let text = format!(
        r#"{POLICY_HEAD}[scopes.implies]
"a:read" = ["a:write"]
"a:write" = ["a:read"]

[[granular_resources]]
kind = "replay"
feature = "f"
toggle_option = "o"
bypass = [{{ principal = "robot" }}, {{ principal = "org_token", scope = "a:admin" }}]
"#
    );
    let e = policy_errors("p.toml", &text);
    assert_has(
        &e,
        &[
            "cycle in `scopes.implies`",
            "p.toml:12:25: unknown bypass principal `robot`",
            "p.toml:12:",
            "unknown scope `a:admin`",
        ],
    );
}

#[test]
fn policy_in_json_is_located_too() {
    let text = "{\n  \"name\": \"j\",\n  \"scopes\": {\"all\": [\"a:read\"]},\n  \"org_roles\": [{\"id\": \"m\", \"scopes\": [\"nope\"]}]\n}\n";
    let e = policy_errors("p.json", text);
    assert_has(
        &e,
        &["p.json:4:40: unknown scope `nope` in the scopes of org role `m`"],
    );
}

// ----- manifests -----

#[test]
fn manifest_syntax_errors_are_located() {
    let e = manifest_errors(
        "m.json",
        "{\n  \"permissions\": {\n    \"A\": {\"object\": }\n  }\n}\n",
    );
    assert_has(&e, &["m.json:3:", "invalid JSON"]);
    let e = manifest_errors("m.toml", "[permissions.A]\nobject = organization\n");
    assert_has(&e, &["m.toml:2:", "invalid TOML"]);
}

#[test]
fn manifest_unknown_scopes_methods_statuses_objects() {
    let text = r#"[permissions.A]
object = "organisation"
scope_map = { GET = ["org:read", "org:reed"], FETCH = ["org:read"] }

[permissions.B]
object = "organization"
scope_map = { GET = ["org:read", "org:reed"] }

[[endpoints]]
name = "E"
permissions = ["B"]
publish_status = { GET = "published", FETCH = "public" }
"#;
    let e = manifest_errors("m.toml", text);
    assert_has(
        &e,
        &[
            "m.toml:2:10: unknown object `organisation`",
            "m.toml:3:47: unknown HTTP method `FETCH`",
            "m.toml:12:26: unknown publish status `published`",
            "m.toml:12:39: unknown HTTP method `FETCH`",
        ],
    );
    // Unknown scopes are a compile error (the document itself is well-formed).
    let text = r#"[permissions.B]
object = "organization"
scope_map = { GET = ["org:read", "org:reed"] }
"#;
    let e = manifest_errors("m.toml", text);
    assert_has(
        &e,
        &["m.toml:3:34: unknown scope `org:reed` in the scope map of permission class `B`"],
    );
}

#[test]
fn manifest_unknown_classes_endpoints_and_resources() {
    let text = r#"{
  "permissions": {
    "A": {"object": "organization", "scope_map": {"GET": ["org:read"]}}
  },
  "endpoints": [
    {"name": "E1", "permissions": ["A", "Missing"]},
    {"name": "E2", "permissions": []},
    {"name": "E1", "permissions": ["A"]},
    {"name": "E3", "permissions": ["A"], "granular_resource": "video"}
  ]
}
"#;
    let e = manifest_errors("m.json", text);
    assert_has(
        &e,
        &[
            "m.json:6:41: endpoint `E1` names unknown permission class `Missing`",
            "m.json:7:14: endpoint `E2` names no permission class",
            "m.json:8:14: duplicate endpoint `E1`",
            "m.json:9:63: endpoint `E3` names unknown granular resource `video`",
        ],
    );
}

#[test]
fn manifest_extends_cycles_and_unknown_parents() {
    let text = r#"[permissions.A]
extends = "B"

[permissions.B]
extends = "A"

[permissions.C]
extends = "Nobody"

[permissions.D]
scope_map = { GET = ["org:read"] }
"#;
    let e = manifest_errors("m.toml", text);
    assert_has(
        &e,
        &[
            // Each class's chain, reported at the `extends` that closes the cycle.
            "m.toml:2:11: cycle in `extends`: B -> A -> B",
            "m.toml:5:11: cycle in `extends`: A -> B -> A",
            "m.toml:8:11: `C` extends unknown permission class `Nobody`",
            "m.toml:10:14: permission class `D` has no `object`",
        ],
    );
}

// ----- worlds -----

fn world_errors(doc: serde_json::Value) -> String {
    let doc: WorldDoc = serde_json::from_value(doc).expect("well-formed world JSON");
    match World::build(&doc, &Policy::sentry()) {
        Ok(_) => panic!("the world should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn world_reference_errors_name_their_path() {
    let e = world_errors(json!({
        "organizations": [{"id": 1, "slug": "acme"}, {"id": 1, "slug": "acme"}],
        "users": [{"id": 10}],
        "members": [
            {"id": 100, "organization": 1, "user": 10, "role": "boss"},
            {"id": 101, "organization": 9, "user": 10, "role": "member"},
        ],
        "teams": [{"id": 5, "organization": 3, "slug": "t"}],
        "projects": [{"id": 50, "organization": 1, "slug": "p", "teams": [6]}],
        "integrations": [{"id": 7, "scopes": ["org:reed"], "installed_on": [4]}],
        "granular_grants": [
            {"organization": 1, "kind": "video", "member": 100},
            {"organization": 1, "kind": "replay"},
        ],
    }));
    assert_has(
        &e,
        &[
            "organizations[1]",
            "members[0].role",
            "members[1].organization",
            "teams[0].organization",
            "projects[0].teams[0]",
            "integrations[0].scopes",
            "granular_grants[0].kind",
            "granular_grants[1]",
        ],
    );
}

#[test]
fn world_dangling_member_references_name_their_path() {
    let e = world_errors(json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 10}],
        "teams": [{"id": 5, "organization": 1, "slug": "t"}],
        "members": [
            {"id": 100, "organization": 1, "user": 11, "role": "member",
             "teams": [{"team": 77}, {"team": 5, "role": "captain"}]},
        ],
        "integrations": [{"id": 7, "installed_on": [4]}],
    }));
    assert_has(
        &e,
        &[
            "members[0].user: unknown user id 11",
            "members[0].teams[0]",
            "members[0].teams[1].role",
            "integrations[0].installed_on[0]",
        ],
    );
}

#[test]
fn world_syntax_errors_give_line_and_column() {
    let text = "{\n  \"organizations\": [{\"id\": 1, \"slug\": \"acme\", \"colour\": 3}]\n}";
    let err = serde_json::from_str::<WorldDoc>(text).expect_err("unknown field");
    // serde_json points just past the offending key.
    assert_eq!((err.line(), err.column()), (2, 54), "{err}");
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
}

// ----- requests -----

#[track_caller]
fn request_error(text: &str, field: &str, message: &str) {
    let err = Request::from_json(text, &Policy::sentry()).expect_err("a bad request");
    assert_eq!(err.field, field, "{err}");
    assert!(
        err.message.contains(message),
        "expected `{message}` in {err}"
    );
    assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
}

#[test]
fn bad_requests_name_the_field() {
    let anon = r#"{"kind": "anonymous"}"#;
    request_error(
        &format!(r#"{{"principal": {anon}, "endpoint": "E", "method": "FETCH"}}"#),
        "method",
        "unknown HTTP method `FETCH`",
    );
    request_error(
        &format!(r#"{{"principal": {anon}, "endpoint": "E", "method": "get"}}"#),
        "method",
        "unknown HTTP method `get`",
    );
    request_error(
        r#"{"principal": {"kind": "user_token", "user": 1, "scopes": ["org:reed"]}, "endpoint": "E", "method": "GET"}"#,
        "principal.scopes",
        "unknown scope `org:reed`",
    );
    request_error(
        r#"{"principal": {"kind": "org_token", "organization": "a", "scopes": ["org:read", "x"]}, "endpoint": "E", "method": "GET"}"#,
        "principal.scopes",
        "unknown scope `x`",
    );
    request_error(
        r#"{"principal": {"kind": "robot"}, "endpoint": "E", "method": "GET"}"#,
        "request",
        "unknown variant `robot`",
    );
    request_error(
        &format!(r#"{{"principal": {anon}, "method": "GET"}}"#),
        "request",
        "missing field `endpoint`",
    );
    request_error(
        r#"{"principal": {"kind": "session"}, "endpoint": "E", "method": "GET"}"#,
        "request",
        "missing field `user`",
    );
    request_error(
        &format!(r#"{{"principal": {anon}, "endpoint": "E", "method": "GET", "org": "a"}}"#),
        "request",
        "unknown field `org`",
    );
    request_error("{", "request", "EOF");
}

// ----- hostile documents (issue 11) -----

/// Documents nested 50,000 levels deep get a located error from every loader of the core
/// (on a test thread's small stack: no recursion is left unbounded).
#[test]
fn deep_nesting_is_a_located_error_in_every_loader() {
    const DEEP: usize = 50_000;
    let nested = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(DEEP), close.repeat(DEEP))
    };
    let dotted = vec!["a"; DEEP].join(".");
    for (name, text) in [
        (
            "m.json",
            format!(r#"{{"endpoints": {}}}"#, nested("[", "", "]")),
        ),
        (
            "m.json",
            format!(r#"{{"endpoints": {}}}"#, nested(r#"{"a":"#, "1", "}")),
        ),
        ("m.toml", format!("endpoints = {}\n", nested("[", "", "]"))),
        (
            "m.toml",
            format!("endpoints = {}\n", nested("{a = ", "1", "}")),
        ),
        ("m.toml", format!("endpoints.{dotted} = 1\n")),
        ("m.toml", format!("[endpoints.{dotted}]\n")),
    ] {
        let errors = manifest_errors(name, &text);
        assert!(errors.starts_with(&format!("{name}:1:")), "{errors}");
        assert!(errors.contains("recurs"), "{errors}");
    }
    let errors = policy_errors("p.toml", &format!("scopes = {}\n", nested("[", "", "]")));
    assert!(errors.starts_with("p.toml:1:"), "{errors}");
    let world = format!(
        r#"{{"organizations": [{{"id": 1, "slug": "a", "options": {{"x": {}}}}}]}}"#,
        nested("[", "", "]")
    );
    let e = serde_json::from_str::<WorldDoc>(&world).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
    let request = format!(r#"{{"principal": {}}}"#, nested(r#"{"a":"#, "1", "}"));
    let e = serde_json::from_str::<scopegate_core::wire::RequestDoc>(&request).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

/// An empty document is no manifest (the one rule every command shares).
#[test]
fn an_empty_document_is_no_manifest() {
    for (name, text) in [("e.toml", ""), ("c.toml", "# nothing\n"), ("o.json", "{}")] {
        let errors = manifest_errors(name, text);
        assert_eq!(
            errors.trim(),
            format!("{name}:1:1: not a scopegate manifest: no `permissions` or `endpoints`")
        );
    }
    assert!(Manifest::load(
        &Source::new("n.toml", "endpoints = []\n"),
        &Policy::sentry()
    )
    .is_ok());
}

#[test]
fn world_error_summaries_list_each_row_and_why_on_one_line() {
    let doc: WorldDoc = serde_json::from_value(json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 10}, {"id": 11}, {"id": 12}],
        "members": [
            {"id": 100, "organization": 1, "user": 10, "role": "ghost"},
            {"id": 101, "organization": 1, "user": 11, "role": "spectre"},
            {"id": 102, "organization": 9, "user": 12, "role": "member"},
        ],
    }))
    .expect("well-formed world JSON");
    let Err(errors) = World::build(&doc, &Policy::sentry()) else {
        panic!("the world should be rejected");
    };
    // Not "3 problem(s)" alone: which row, and why.
    assert_eq!(
        errors.summary(10),
        "3 problem(s): members[0].role: unknown org role `ghost`; \
         members[1].role: unknown org role `spectre`; \
         members[2].organization: unknown organization id 9"
    );
    assert_eq!(
        errors.summary(1),
        "3 problem(s): members[0].role: unknown org role `ghost`; … and 2 more"
    );
    assert!(!errors.summary(10).contains('\n'), "one log line");
}
