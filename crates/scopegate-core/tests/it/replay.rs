//! Impact replay (`scopegate_core::replay`): logged decisions decided again under a
//! candidate, the flips grouped, the world's changes and stale requests told apart from the
//! candidate's doing, and a candidate policy's scopes carried by name.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use scopegate_core::replay::{read_line, Direction, Line, Replay};
use scopegate_core::{Engine, Manifest, Policy, Source, World, WorldDoc};
use serde_json::{json, Value};

use crate::run::{cases, config};

const MANIFEST: &str = r#"
[permissions.OrganizationPermission]
object = "organization"
scope_map = { GET = ["org:read", "org:write", "org:admin"], PUT = ["org:write", "org:admin"] }

[permissions.ProjectPermission]
object = "project"
scope_map = { GET = ["project:read", "project:write", "project:admin"] }

[[endpoints]]
name = "OrganizationDetailsEndpoint"
permissions = ["OrganizationPermission"]

[[endpoints]]
name = "ProjectDetailsEndpoint"
permissions = ["ProjectPermission"]
"#;

fn world_doc() -> WorldDoc {
    serde_json::from_value(json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 10}, {"id": 11}, {"id": 12}],
        "members": [
            {"id": 100, "organization": 1, "user": 10, "role": "owner"},
            {"id": 101, "organization": 1, "user": 11, "role": "member", "teams": [{"team": 5, "role": null}]}
        ],
        "teams": [{"id": 5, "organization": 1, "slug": "backend"}],
        "projects": [{"id": 50, "organization": 1, "slug": "api", "teams": [5]}]
    }))
    .unwrap()
}

fn manifest(text: &str, policy: &Policy) -> Manifest {
    Manifest::load(&Source::new("m.toml", text), policy).unwrap()
}

/// A log line as the service writes it (`docs/decision-log.md`).
fn line(
    id: &str,
    at: &str,
    principal: Value,
    endpoint: &str,
    method: &str,
    project: Option<&str>,
    reason: &str,
) -> String {
    json!({
        "schema_version": 1, "decision_id": id, "timestamp": at, "api": "check",
        "request_id": null, "caller": {"token_id": "1", "name": null}, "revision": 1,
        "policy_version": "0000000000000000",
        "request": {"principal": principal, "endpoint": endpoint, "method": method,
                    "organization": "acme", "project": project, "team": null},
        "bearer": null,
        "decision": {"allowed": reason == "allowed", "status": 200, "reason": reason,
                     "grant": null, "missing_scopes": [], "challenge": null}
    })
    .to_string()
}

fn session(user: u64) -> Value {
    json!({"kind": "session", "user": user})
}

/// The candidate of these tests: GET needs org:write (members lose it), PUT takes org:read
/// (members gain it).
fn tightened(policy: &Policy) -> Manifest {
    manifest(
        &MANIFEST.replace(
            r#"GET = ["org:read", "org:write", "org:admin"], PUT = ["org:write", "org:admin"]"#,
            r#"GET = ["org:write", "org:admin"], PUT = ["org:read", "org:write", "org:admin"]"#,
        ),
        policy,
    )
}

#[test]
fn flips_are_grouped_and_the_world_changes_told_apart() {
    let policy = Policy::sentry();
    let current = manifest(MANIFEST, &policy);
    let candidate = tightened(&policy);
    let world = World::build(&world_doc(), &policy).unwrap();
    let mut replay = Replay::new(
        Engine::new(&policy, &current, &world),
        Engine::new(&policy, &candidate, &world),
        // Not the version the lines carry: each is counted as logged under another.
        "ffffffffffffffff",
    )
    .with_examples(2);
    let org = "OrganizationDetailsEndpoint";
    let lines = [
        // The member's GETs: lost, by the candidate (3, two examples kept).
        line(
            "a1",
            "2026-12-06T10:00:02.000Z",
            session(11),
            org,
            "GET",
            None,
            "allowed",
        ),
        line(
            "a2",
            "2026-12-06T10:00:01.000Z",
            session(11),
            org,
            "GET",
            None,
            "allowed",
        ),
        line(
            "a3",
            "2026-12-06T10:00:03.000Z",
            session(11),
            org,
            "GET",
            None,
            "allowed",
        ),
        // The owner's GET: unchanged.
        line(
            "b1",
            "2026-12-06T10:00:04.000Z",
            session(10),
            org,
            "GET",
            None,
            "allowed",
        ),
        // The member's PUT: gained.
        line(
            "c1",
            "2026-12-06T10:00:05.000Z",
            session(11),
            org,
            "PUT",
            None,
            "missing_scope",
        ),
        // User 12 was a member when logged and is not any more: lost, but the world's doing.
        line(
            "d1",
            "2026-12-06T10:00:06.000Z",
            session(12),
            org,
            "GET",
            None,
            "allowed",
        ),
        // A project deleted since, and a user deleted since: stale.
        line(
            "e1",
            "2026-12-06T10:00:07.000Z",
            session(10),
            "ProjectDetailsEndpoint",
            "GET",
            Some("gone"),
            "allowed",
        ),
        line(
            "e2",
            "2026-12-06T10:00:08.000Z",
            session(99),
            org,
            "PUT",
            None,
            "not_a_member",
        ),
    ];
    for l in &lines {
        match read_line(l.as_bytes(), &policy).unwrap() {
            Line::Decision(d) => replay.add(d),
            Line::Other => panic!("a decision line"),
        }
    }
    let report = replay.finish();
    let t = &report.totals;
    assert_eq!(t.replayed, 8);
    // a1–a3, d1, e1 (the project is gone: not_found now).
    assert_eq!(t.lost, 5);
    assert_eq!(t.lost_caused, 3);
    assert_eq!(t.gained, 1);
    assert_eq!(t.gained_caused, 1);
    assert_eq!(t.unchanged, 2);
    assert_eq!(t.stale, 2);
    assert_eq!(t.stale_principal, 1);
    assert_eq!(t.stale_objects, 1);
    assert_eq!(t.drifted, 2);
    assert_eq!(t.other_policy_version, 8);

    let lost: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.direction == Direction::Lost)
        .collect();
    assert_eq!(lost.len(), 3);
    let member = lost
        .iter()
        .find(|g| g.endpoint == org && g.new_reason == "missing_scope")
        .expect("the member's GETs");
    assert_eq!(
        (member.count, member.world_changed, member.stale),
        (3, 0, 0)
    );
    assert_eq!(
        (member.method, member.principal_kind, member.old_reason),
        ("GET", "session", "allowed")
    );
    assert_eq!(member.examples, ["a1", "a2"]);
    assert_eq!(member.first_seen, "2026-12-06T10:00:01.000Z");
    assert_eq!(member.last_seen, "2026-12-06T10:00:03.000Z");
    // d1: user 12 is no member today, so the current pair denies it too.
    let gone = lost
        .iter()
        .find(|g| g.new_reason == "not_a_member")
        .unwrap();
    assert_eq!((gone.count, gone.world_changed, gone.stale), (1, 1, 0));
    let project = lost
        .iter()
        .find(|g| g.endpoint == "ProjectDetailsEndpoint")
        .unwrap();
    assert_eq!(
        (project.new_reason, project.stale, project.world_changed),
        ("not_found", 1, 1)
    );
    let gained: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.direction == Direction::Gained)
        .collect();
    assert_eq!(gained.len(), 1);
    assert_eq!(
        (gained[0].method, gained[0].examples.as_slice()),
        ("PUT", ["c1".to_string()].as_slice())
    );
}

#[test]
fn a_candidate_policy_gets_the_logged_scopes_by_name() {
    let policy = Policy::sentry();
    const SENTRY: &str = include_str!("../../policies/sentry.toml");
    // The candidate declares its scopes in another order and drops `openid`.
    let text = SENTRY.replace(
        "\"openid\", \"profile\", \"email\",",
        "\"email\", \"profile\",",
    );
    let text = text.replacen(
        "\"org:read\", \"org:write\",",
        "\"org:write\", \"org:read\",",
        1,
    );
    let candidate_policy = Policy::load(&Source::new("candidate.toml", text)).unwrap();
    let current = manifest(MANIFEST, &policy);
    let candidate = manifest(MANIFEST, &candidate_policy);
    let doc = world_doc();
    let (world, candidate_world) = (
        World::build(&doc, &policy).unwrap(),
        World::build(&doc, &candidate_policy).unwrap(),
    );
    let mut replay = Replay::new(
        Engine::new(&policy, &current, &world),
        Engine::new(&candidate_policy, &candidate, &candidate_world),
        "0000000000000000",
    );
    let token = |scopes: Value| json!({"kind": "user_token", "user": 11, "scopes": scopes});
    let org = "OrganizationDetailsEndpoint";
    for l in [
        line(
            "t1",
            "2026-12-06T10:00:00.000Z",
            token(json!(["org:read"])),
            org,
            "GET",
            None,
            "allowed",
        ),
        line(
            "t2",
            "2026-12-06T10:00:00.000Z",
            token(json!(["org:read", "openid"])),
            org,
            "GET",
            None,
            "allowed",
        ),
        line(
            "t3",
            "2026-12-06T10:00:00.000Z",
            token(json!(["openid"])),
            org,
            "GET",
            None,
            "insufficient_scope",
        ),
    ] {
        let Line::Decision(d) = read_line(l.as_bytes(), &policy).unwrap() else {
            panic!("a decision line");
        };
        replay.add(d);
    }
    let report = replay.finish();
    // The same policy in another order decides alike: nothing flips.
    assert_eq!(report.totals.unchanged, 3, "{report:?}");
    assert_eq!(report.totals.scopes_dropped, 2);
    assert!(report.groups.is_empty());
}

#[test]
fn unreadable_lines_say_why() {
    let policy = Policy::sentry();
    let good = line(
        "x",
        "2026-12-06T10:00:00.000Z",
        session(10),
        "E",
        "GET",
        None,
        "not_found",
    );
    let mut v: Value = serde_json::from_str(&good).unwrap();
    assert!(matches!(
        read_line(good.as_bytes(), &policy),
        Ok(Line::Decision(_))
    ));
    let bad = |edit: &dyn Fn(&mut Value), expect: &str| {
        let mut w = v.clone();
        edit(&mut w);
        let e = read_line(w.to_string().as_bytes(), &policy).unwrap_err();
        assert!(e.0.contains(expect), "{e} should say {expect}");
    };
    bad(&|w| w["schema_version"] = json!(2), "schema_version 2");
    bad(
        &|w| w["decision"]["reason"] = json!("maybe"),
        "unknown reason `maybe`",
    );
    bad(
        &|w| w["decision"]["allowed"] = json!(true),
        "`decision.allowed` is true",
    );
    bad(
        &|w| w["request"]["principal"]["user"] = json!("ten"),
        "request.principal.user",
    );
    bad(
        &|w| w["request"]["principal"] = json!({"kind": "bearer", "token": "s"}),
        "request.principal",
    );
    bad(&|w| w["api"] = json!("other"), "unknown api `other`");
    let e = read_line(b"{\"schema_version\": 1,", &policy).unwrap_err();
    assert!(e.0.starts_with("column "), "{e}");
    v["api"] = json!("who_can");
    assert!(matches!(
        read_line(v.to_string().as_bytes(), &policy),
        Ok(Line::Other)
    ));
}

/// One generated log line: user (10, 11: in the world; 12, 99: not), endpoint, method,
/// project (none, `api`, `gone`), logged reason, and the second of its timestamp (not in
/// order, so first and last seen are not the first and last lines).
fn generated_line() -> impl Strategy<Value = (u64, bool, bool, u8, u8, u8)> {
    (
        prop::sample::select(vec![10u64, 11, 12, 99]),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        0u8..3,
        0u8..60,
    )
}

#[test]
fn a_split_and_merged_replay_reports_as_the_sequential_one() {
    let policy = Policy::sentry();
    let current = manifest(MANIFEST, &policy);
    let candidate = tightened(&policy);
    let world = World::build(&world_doc(), &policy).unwrap();
    let replay = |examples: usize| {
        Replay::new(
            Engine::new(&policy, &current, &world),
            Engine::new(&policy, &candidate, &world),
            "0000000000000000",
        )
        .with_examples(examples)
    };
    let mut runner = TestRunner::new(config(cases(256)));
    // Cases where a group's examples came from more than one run: what the merge must order.
    let spread = std::cell::Cell::new(0u32);
    let strategy = (
        vec(generated_line(), 0..60),
        vec(0usize..60, 0..6),
        0usize..4,
    );
    let result = runner.run(&strategy, |(specs, mut cuts, examples)| {
        let lines: Vec<String> = specs
            .iter()
            .enumerate()
            .map(|(i, &(user, org, put, project, reason, second))| {
                line(
                    &format!("id{i}"),
                    &format!("2026-12-06T10:00:{second:02}.000Z"),
                    session(user),
                    if org {
                        "OrganizationDetailsEndpoint"
                    } else {
                        "ProjectDetailsEndpoint"
                    },
                    if put { "PUT" } else { "GET" },
                    [None, Some("api"), Some("gone")][usize::from(project)],
                    ["allowed", "missing_scope", "not_a_member"][usize::from(reason)],
                )
            })
            .collect();
        let add = |replay: &mut Replay<'_>, lines: &[String]| {
            for l in lines {
                if let Line::Decision(d) = read_line(l.as_bytes(), &policy).unwrap() {
                    replay.add(d);
                }
            }
        };
        let mut sequential = replay(examples);
        add(&mut sequential, &lines);
        let sequential = sequential.finish();

        cuts.push(0);
        cuts.push(lines.len());
        cuts.iter_mut().for_each(|c| *c = (*c).min(lines.len()));
        cuts.sort_unstable();
        let base = replay(examples);
        let mut merged = base.fork();
        let mut runs_of_example = std::collections::HashMap::new();
        for (run, pair) in cuts.windows(2).enumerate() {
            let mut part = base.fork();
            add(&mut part, &lines[pair[0]..pair[1]]);
            merged.merge(part);
            for i in pair[0]..pair[1] {
                runs_of_example.insert(format!("id{i}"), run);
            }
        }
        let merged = merged.finish();
        prop_assert_eq!(&merged, &sequential);
        if sequential.groups.iter().any(|g| {
            let runs: std::collections::HashSet<_> =
                g.examples.iter().map(|id| runs_of_example[id]).collect();
            runs.len() > 1
        }) {
            spread.set(spread.get() + 1);
        }
        Ok::<(), TestCaseError>(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        spread.get() > 0,
        "no case had a group whose examples came from two runs"
    );
}
