//! The decision log (docs/decision-log.md): every field of every kind of line, replaying
//! each logged request to its logged decision, rotation, a forced drop, block mode, and no
//! secret or token hash in any log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use scopegate_core::codec::{self, DecisionJson};
use scopegate_core::{Engine, Policy};
use scopegate_server::decision_log::{Destination, Mode, Options, SCHEMA_VERSION};
use serde_json::{json, Value};

use crate::{app, App, Resp};

/// `method uri` as the service token, with `x-request-id: id`.
async fn call_as_service(
    app: &App,
    method: &str,
    uri: &str,
    body: Option<&Value>,
    id: &str,
) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", app.tokens["service"]),
        )
        .header("x-request-id", id)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    app.send(req).await
}

fn bearer(app: &App, who: &str) -> Value {
    json!({"kind": "bearer", "token": app.tokens[who]})
}

fn request(principal: Value, endpoint: &str, method: &str) -> Value {
    json!({"principal": principal, "endpoint": endpoint, "method": method, "organization": "demo"})
}

/// The lines of one file.
fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every secret of the test (and the SHA-256 each is stored as) is absent from `text`.
fn assert_no_secret(app: &App, extra: &[&str], text: &str) {
    let secrets: Vec<&str> = app
        .tokens
        .values()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    assert!(secrets.len() >= 6);
    for secret in secrets {
        assert!(!text.contains(secret), "a secret is in the decision log");
        assert!(
            !text.contains(&secret[secret.len() - 24..]),
            "part of a secret is in the decision log"
        );
        let hash = scopegate_store::hash_secret(secret);
        assert!(!text.contains(&hash), "a token hash is in the decision log");
    }
}

/// A decision id: a UUIDv7 whose embedded time is the line's `timestamp`.
fn check_id_and_time(line: &Value) -> uuid::Uuid {
    let id = uuid::Uuid::parse_str(line["decision_id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7, "{line}");
    let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
    let ms = secs * 1000 + u64::from(nanos / 1_000_000);
    let ts = line["timestamp"].as_str().unwrap();
    // RFC 3339, UTC, milliseconds: 2026-12-06T18:04:05.123Z.
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(
        ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.',
        "{ts}"
    );
    let date = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    let want = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second(),
        date.millisecond()
    );
    assert_eq!(ts, want, "the id's time is the timestamp");
    id
}

#[tokio::test]
async fn every_field_of_every_line_and_each_request_replays_to_its_decision() {
    let app = app().await.with_decision_log();
    let owner = app
        .store
        .token_by_secret(&app.tokens["owner"])
        .await
        .unwrap();
    let service = app
        .store
        .token_by_secret(&app.tokens["service"])
        .await
        .unwrap();
    let unknown = "sgu_00000000000000000000000000000000deadbeefdeadbeefdeadbeefdeadbeef";
    let before = std::time::SystemTime::now();

    let put = request(bearer(&app, "owner"), "OrganizationDetailsEndpoint", "PUT");
    let checked = call_as_service(&app, "POST", "/v1/check", Some(&put), "dl-check").await;
    assert_eq!(checked.status, StatusCode::OK);
    assert_eq!(checked.body["allowed"], true);
    let batch = json!({"requests": [
        request(json!({"kind": "anonymous"}), "OrganizationDetailsEndpoint", "GET"),
        request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "PUT"),
        request(json!({"kind": "bearer", "token": unknown}), "OrganizationDetailsEndpoint", "GET"),
    ]});
    let batched = call_as_service(&app, "POST", "/v1/check/batch", Some(&batch), "dl-batch").await;
    assert_eq!(batched.status, StatusCode::OK);
    let explained = call_as_service(&app, "POST", "/v1/explain", Some(&put), "dl-explain").await;
    assert_eq!(explained.status, StatusCode::OK);
    let who = call_as_service(
        &app,
        "GET",
        "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=PUT",
        None,
        "dl-who",
    )
    .await;
    assert_eq!(who.status, StatusCode::OK);
    app.flush_log().await;
    let after = std::time::SystemTime::now();

    let text = std::fs::read_to_string(app.decision_log()).unwrap();
    assert_no_secret(&app, &[unknown], &text);
    let lines = lines_of(&app.decision_log());
    assert_eq!(lines.len(), 6, "{text}");
    let apis: Vec<&str> = lines.iter().map(|l| l["api"].as_str().unwrap()).collect();
    assert_eq!(
        apis,
        [
            "check",
            "check_batch",
            "check_batch",
            "check_batch",
            "explain",
            "who_can"
        ]
    );

    // What every line has.
    let revision = app.state.index.current().revision;
    let manifest = &app.state.decision_manifest;
    let version = scopegate_server::state::policy_version(&app.state.policy, manifest);
    assert_eq!(version.len(), 16);
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut ids = Vec::new();
    for line in &lines {
        assert_eq!(line["schema_version"], SCHEMA_VERSION, "{line}");
        ids.push(check_id_and_time(line));
        assert_eq!(
            line["caller"],
            json!({"token_id": service.id.to_string(), "name": "tests"})
        );
        assert_eq!(line["revision"], revision);
        assert_eq!(line["policy_version"], version.as_str());
        assert_eq!(
            *line["policy_version"].as_str().unwrap(),
            *app.state.policy_version
        );
    }
    // Unique, time-ordered ids, within the test's run.
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let secs =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let (first_ms, last_ms) = (
        ids[0].get_timestamp().unwrap().to_unix(),
        ids[5].get_timestamp().unwrap().to_unix(),
    );
    assert!(u128::from(first_ms.0) * 1000 + u128::from(first_ms.1 / 1_000_000) >= secs(before));
    assert!(u128::from(last_ms.0) * 1000 + u128::from(last_ms.1 / 1_000_000) <= secs(after));
    let request_ids: Vec<&str> = lines
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        request_ids,
        [
            "dl-check",
            "dl-batch",
            "dl-batch",
            "dl-batch",
            "dl-explain",
            "dl-who"
        ]
    );

    // check: the resolved principal, the bearer's token by id and prefix, the decision as answered.
    let check = &lines[0];
    let principal = &check["request"]["principal"];
    assert_eq!(principal["kind"], "user_token");
    assert_eq!(principal["user"], owner.user_id.unwrap());
    assert!(!principal["scopes"].as_array().unwrap().is_empty());
    assert_eq!(check["request"]["endpoint"], "OrganizationDetailsEndpoint");
    assert_eq!(check["request"]["method"], "PUT");
    assert_eq!(check["request"]["organization"], "demo");
    assert_eq!(check["request"]["project"], Value::Null);
    assert_eq!(check["request"]["team"], Value::Null);
    assert_eq!(
        check["bearer"],
        json!({"token_id": owner.id.to_string(), "token_prefix": owner.prefix})
    );
    assert_eq!(check["decision"], checked.body);
    assert_eq!(check["decision"]["grant"], json!(["role_scope"]));
    assert!(check.get("batch").is_none() && check.get("answer").is_none());

    // check_batch: positions, principals as resolved, decisions as answered.
    for (i, line) in lines[1..4].iter().enumerate() {
        assert_eq!(line["batch"], json!({"index": i, "size": 3}));
        assert_eq!(line["decision"], batched.body["decisions"][i]);
    }
    assert_eq!(
        lines[1]["request"]["principal"],
        json!({"kind": "anonymous"})
    );
    assert_eq!(lines[1]["bearer"], Value::Null);
    assert!(lines[1].as_object().unwrap().contains_key("bearer"));
    assert_eq!(lines[1]["decision"]["reason"], "unauthenticated");
    assert_eq!(lines[2]["request"]["principal"]["kind"], "user_token");
    assert_eq!(lines[2]["decision"]["allowed"], false);
    assert_eq!(
        lines[3]["request"]["principal"],
        json!({"kind": "anonymous"})
    );
    assert_eq!(
        lines[3]["bearer"],
        json!({"token_id": null, "token_prefix": null})
    );

    // explain: the decision without its trace.
    let mut without_trace = explained.body.clone();
    without_trace.as_object_mut().unwrap().remove("trace");
    assert_eq!(lines[4]["decision"], without_trace);

    // who_can: the question and the answer.
    let w = &lines[5];
    assert_eq!(
        w["request"],
        json!({"endpoint": "OrganizationDetailsEndpoint", "method": "PUT", "organization": "demo", "project": null, "team": null})
    );
    assert_eq!(w["answer"]["members"], who.body);
    assert_eq!(w["answer"]["total"], who.body.as_array().unwrap().len());
    assert_eq!(w["answer"]["offset"], 0);
    assert!(w.get("decision").is_none() && w.get("bearer").is_none());

    // Replay: each logged request, read by the codec and decided again over the same world,
    // gives the logged decision.
    let index = app.state.index.current();
    let engine = Engine::new(&app.state.policy, manifest, &index.world);
    for line in lines.iter().filter(|l| l["api"] != "who_can") {
        let text = line["request"].to_string();
        let read = codec::read_request(
            text.as_bytes(),
            &app.state.policy,
            codec::Options::default(),
        )
        .unwrap_or_else(|e| panic!("{e}: {text}"));
        let request = read.resolve(|_| unreachable!("no bearer secret is logged"));
        let decision = engine.decide(&request);
        let again = serde_json::to_value(DecisionJson::new(&decision, &app.state.policy)).unwrap();
        assert_eq!(again, line["decision"], "{text}");
    }
}

/// Options over `path` with `f` applied.
fn options(path: PathBuf, f: impl FnOnce(&mut Options)) -> Options {
    let mut o = Options::new(Destination::File(path));
    f(&mut o);
    o
}

#[tokio::test]
async fn the_file_rotates_by_size_keeping_max_files_parts_of_whole_lines() {
    let app = app().await;
    let path = app.decision_log();
    let app = app.with_decision_log_options(&options(path.clone(), |o| {
        o.max_bytes = 1500;
        o.max_files = 2;
    }));
    let q = request(bearer(&app, "owner"), "OrganizationDetailsEndpoint", "GET");
    for i in 0..20 {
        let r = call_as_service(&app, "POST", "/v1/check", Some(&q), &format!("rot-{i}")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    app.flush_log().await;
    let part = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
    assert!(
        part(1).exists() && part(2).exists(),
        "rotated parts FILE.1 and FILE.2"
    );
    assert!(!part(3).exists(), "at most --decision-log-max-files parts");
    let mut kept = Vec::new();
    for file in [part(2), part(1), path.clone()] {
        assert!(
            std::fs::metadata(&file).unwrap().len() <= 1500,
            "{}",
            file.display()
        );
        kept.extend(lines_of(&file));
    }
    // Oldest part first: the kept lines are the last decisions, in order, none cut.
    let ids: Vec<String> = kept
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_string())
        .collect();
    let last: Vec<String> = (20 - ids.len()..20).map(|i| format!("rot-{i}")).collect();
    assert_eq!(ids, last);
    assert!(ids.len() >= 3 && ids.len() < 20, "{ids:?}");
    let decision_ids: Vec<&str> = kept
        .iter()
        .map(|l| l["decision_id"].as_str().unwrap())
        .collect();
    assert!(decision_ids.windows(2).all(|w| w[0] < w[1]));

    let (text, m) = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_writes_total", &[]),
        20.0,
        "{text}"
    );
    let rotations = crate::metrics::total(&m, "scopegate_decision_log_rotations_total", &[]);
    assert!(rotations >= 2.0, "{text}");
    assert_no_secret(&app, &[], &text);
    for file in [part(2), part(1), path] {
        assert_no_secret(&app, &[], &std::fs::read_to_string(file).unwrap());
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_in_drop_mode() {
    let app = app().await;
    let path = app.decision_log();
    let app = app.with_decision_log_options(&options(path.clone(), |o| o.queue = 2));
    let log = app.state.decision_log.clone().unwrap();
    let stall = log.stall().await;
    let q = request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "GET");
    for i in 0..5 {
        let r = call_as_service(&app, "POST", "/v1/check", Some(&q), &format!("drop-{i}")).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "a dropped entry never fails the decision"
        );
        assert_eq!(r.body["allowed"], true);
    }
    let (text, m) = crate::metrics::scrape(&app).await;
    let drops = |reason| {
        crate::metrics::total(
            &m,
            "scopegate_decision_log_drops_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(drops("queue_full"), 3.0, "{text}");
    assert_eq!(drops("write_error"), 0.0, "{text}");
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_queue_length", &[]),
        2.0,
        "{text}"
    );
    drop(stall);
    app.flush_log().await;
    let lines = lines_of(&path);
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["drop-0", "drop-1"],
        "the queued entries are written, the rest dropped"
    );
    let (text, m) = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_writes_total", &[]),
        2.0,
        "{text}"
    );
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_queue_length", &[]),
        0.0,
        "{text}"
    );
    assert_no_secret(&app, &[], &std::fs::read_to_string(&path).unwrap());
}

#[tokio::test]
async fn block_mode_waits_for_room_and_loses_nothing() {
    let app = app().await;
    let path = app.decision_log();
    let app = app.with_decision_log_options(&options(path.clone(), |o| {
        o.queue = 1;
        o.mode = Mode::Block;
    }));
    let log = app.state.decision_log.clone().unwrap();
    let stall = log.stall().await;
    let q = request(bearer(&app, "bob"), "OrganizationDetailsEndpoint", "GET");
    let r = call_as_service(&app, "POST", "/v1/check", Some(&q), "block-0").await;
    assert_eq!(r.status, StatusCode::OK);
    // The queue is full: the next two wait for room (in tasks of their own).
    let app = std::sync::Arc::new(app);
    let waiting: Vec<_> = (1..3)
        .map(|i| {
            let (app, q) = (app.clone(), q.clone());
            tokio::spawn(async move {
                call_as_service(&app, "POST", "/v1/check", Some(&q), &format!("block-{i}")).await
            })
        })
        .collect();
    drop(stall);
    for w in waiting {
        assert_eq!(w.await.unwrap().status, StatusCode::OK);
    }
    app.flush_log().await;
    let mut ids: Vec<String> = lines_of(&path)
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["block-0", "block-1", "block-2"]);
    let (text, m) = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_drops_total", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(
        crate::metrics::total(&m, "scopegate_decision_log_writes_total", &[]),
        3.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_destination_that_cannot_be_opened_is_an_error_and_a_file_is_appended_to() {
    let app = app().await;
    let bad = Options::new(Destination::File(PathBuf::from(
        "/nonexistent-dir/decisions.log",
    )));
    assert!(app.state.clone().with_decision_log(&bad).is_err());
    let path = app.decision_log();
    std::fs::write(&path, "{\"kept\":true}\n").unwrap();
    let app = app.with_decision_log();
    let q = request(
        json!({"kind": "anonymous"}),
        "OrganizationDetailsEndpoint",
        "GET",
    );
    assert_eq!(
        call_as_service(&app, "POST", "/v1/check", Some(&q), "append-1")
            .await
            .status,
        StatusCode::OK
    );
    app.flush_log().await;
    let lines = lines_of(&path);
    assert_eq!(lines[0], json!({"kept": true}));
    assert_eq!(lines[1]["request_id"], "append-1");
    let distinct: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["decision_id"].as_str())
        .collect();
    assert_eq!(distinct.len(), 1);
}

#[test]
fn the_policy_version_is_the_canonical_forms_and_ignores_format() {
    let policy = Policy::sentry();
    let toml = "[permissions.P]\nobject = \"organization\"\nscope_map = { GET = [\"org:read\"] }\n\n[[endpoints]]\nname = \"E\"\npermissions = [\"P\"]\n";
    let json = r#"{"endpoints": [{"name": "E", "permissions": ["Q"]}], "permissions": {"Q": {"scope_map": {"GET": ["org:read"]}, "object": "organization"}}}"#;
    let load = |name: &str, text: &str| {
        scopegate_core::Manifest::load(&scopegate_core::Source::new(name, text), &policy).unwrap()
    };
    let a = scopegate_server::state::policy_version(&policy, &load("m.toml", toml));
    let b = scopegate_server::state::policy_version(&policy, &load("m.json", json));
    assert_eq!(a, b);
    let c = scopegate_server::state::policy_version(
        &policy,
        &load("m.toml", &toml.replace("org:read", "org:write")),
    );
    assert_ne!(a, c);
}
