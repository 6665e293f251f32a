//! `/metrics` after a known mix of `/api/` and `/v1/` calls: exact counts by label, the
//! latency and batch-size histograms filled, and an exposition that a strict OpenMetrics
//! text reader (below: every line a HELP, TYPE, UNIT, sample of the family declared
//! last, or the final `# EOF`) reads whole. CI also parses a live server's exposition with
//! Python's `prometheus_client` (`scripts/openapi_client.sh`).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{app, App};

fn request(app: &App, who: &str, endpoint: &str, method: &str) -> Value {
    json!({"principal": {"kind": "bearer", "token": app.tokens[who]},
           "endpoint": endpoint, "method": method, "organization": "demo"})
}

/// One sample line.
#[derive(Debug)]
pub(crate) struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Reads `{k="v",...}` at the start of `rest`; returns the labels and what follows.
fn labels(rest: &str) -> (BTreeMap<String, String>, &str) {
    let mut out = BTreeMap::new();
    let Some(mut rest) = rest.strip_prefix('{') else {
        return (out, rest);
    };
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return (out, r);
        }
        let (key, r) = rest.split_once("=\"").expect("label `key=\"`");
        assert!(is_name(key), "label name `{key}`");
        let mut value = String::new();
        let mut chars = r.char_indices();
        let end = loop {
            match chars.next().expect("closed label value") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("bad escape `\\{c}`"),
                },
                (_, c) => {
                    assert!(c != '\n');
                    value.push(c);
                }
            }
        };
        assert!(
            out.insert(key.to_string(), value).is_none(),
            "duplicate label"
        );
        rest = &r[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses the exposition strictly (panics on any line it cannot read).
fn parse(text: &str) -> Vec<Sample> {
    let mut family = (String::new(), String::new());
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(is_name(name), "{line}");
            let rest = parts.next().unwrap_or_default();
            match kind {
                "HELP" => {}
                "TYPE" => {
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "info",
                            "stateset",
                            "unknown"
                        ]
                        .contains(&rest),
                        "{line}"
                    );
                    family = (name.to_string(), rest.to_string());
                }
                "UNIT" => assert!(name.ends_with(&format!("_{rest}")), "{line}"),
                _ => panic!("unknown metadata line: {line}"),
            }
            continue;
        }
        let end = line.find(['{', ' ']).expect(line);
        let name = &line[..end];
        assert!(is_name(name), "{line}");
        let suffixes: &[&str] = match family.1.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            _ => &[""],
        };
        assert!(
            suffixes.iter().any(|s| name == format!("{}{s}", family.0)),
            "`{name}` outside its family {family:?}"
        );
        let (labels, rest) = labels(&line[end..]);
        let value = rest.strip_prefix(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value in {line}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// Scrapes `/metrics` and parses it.
pub(crate) async fn scrape(app: &App) -> (String, Vec<Sample>) {
    let r = app.call("GET", "/metrics", "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.body.as_str().unwrap().to_string();
    let samples = parse(&text);
    (text, samples)
}

/// The samples named `name` whose labels include every pair of `labels`.
fn find<'a>(m: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    m.iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// The sum of the values of the samples `find` returns.
pub(crate) fn total(m: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(m, name, labels).iter().map(|s| s.value).sum()
}

/// The buckets (upper bound → cumulative count) of the histogram `name` with `labels`.
fn buckets(m: &[Sample], name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
    let found = find(m, &format!("{name}_bucket"), labels);
    assert!(!found.is_empty(), "{name} {labels:?}");
    found
        .iter()
        .map(|s| {
            let le = &s.labels["le"];
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.value)
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_a_known_mix_of_api_and_v1_calls() {
    let app = app().await;
    // /api/: two allowed reads by the owner, one denied rename by a member.
    for _ in 0..2 {
        let r = app
            .call("GET", "/api/0/organizations/demo/", "owner", None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "bob",
            Some(r#"{"name": "Mine"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // /v1/: three checks (two allowed, one denied), one batch of four, one explain.
    let allowed = request(&app, "owner", "OrganizationDetailsEndpoint", "PUT");
    let denied = request(&app, "bob", "OrganizationDetailsEndpoint", "PUT");
    for body in [&allowed, &allowed, &denied] {
        let r = app
            .call("POST", "/v1/check", "service", Some(&body.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let batch = json!({"requests": [allowed, denied, denied, denied]});
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&batch.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .call("POST", "/v1/explain", "service", Some(&allowed.to_string()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let (text, m) = scrape(&app).await;
    let d = "scopegate_decisions_total";
    assert_eq!(total(&m, d, &[("api", "api")]), 3.0, "{text}");
    assert_eq!(
        total(&m, d, &[("api", "api"), ("reason", "allowed")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        total(&m, d, &[("api", "api"), ("reason", "missing_scope")]),
        1.0,
        "{text}"
    );
    assert_eq!(total(&m, d, &[("api", "v1")]), 8.0, "{text}");
    // Allowed: two checks, one in the batch, the explain; all by the owner's role scopes.
    assert_eq!(
        total(
            &m,
            d,
            &[
                ("api", "v1"),
                ("reason", "allowed"),
                ("grant", "role_scope")
            ]
        ),
        4.0,
        "{text}"
    );
    assert_eq!(
        total(&m, d, &[("api", "v1"), ("grant", "none")]),
        4.0,
        "{text}"
    );

    let req = "scopegate_http_requests_total";
    let org_route = "/api/0/organizations/{organization_id_or_slug}/";
    assert_eq!(
        total(
            &m,
            req,
            &[("route", org_route), ("method", "GET"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        total(
            &m,
            req,
            &[("route", org_route), ("method", "PUT"), ("status", "403")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &m,
            req,
            &[
                ("route", "/v1/check"),
                ("method", "POST"),
                ("status", "200")
            ]
        ),
        3.0
    );
    assert_eq!(total(&m, req, &[("route", "/v1/check/batch")]), 1.0);
    assert_eq!(total(&m, req, &[("route", "/v1/explain")]), 1.0);
    // No label holds a slug or a token.
    assert!(!text.contains("demo\""), "{text}");
    for secret in app.tokens.values() {
        assert!(!text.contains(secret.as_str()));
    }

    // The latency histogram: three observations of /v1/check, each in some finite bucket.
    let lat = buckets(
        &m,
        "scopegate_http_request_duration_seconds",
        &[("route", "/v1/check"), ("method", "POST")],
    );
    let inf = lat.iter().find(|(le, _)| le.is_infinite()).unwrap().1;
    assert_eq!(inf, 3.0);
    assert!(
        lat.iter().any(|(le, n)| le.is_finite() && *n > 0.0),
        "{lat:?}"
    );
    assert!(lat.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative");
    assert_eq!(
        total(
            &m,
            "scopegate_http_request_duration_seconds_count",
            &[("route", "/v1/check")]
        ),
        3.0
    );

    // The batch-size histogram: one batch of four.
    let sizes: BTreeMap<String, f64> = buckets(&m, "scopegate_v1_batch_size", &[])
        .into_iter()
        .map(|(le, n)| (le.to_string(), n))
        .collect();
    assert_eq!(sizes["2"], 0.0);
    assert_eq!(sizes["5"], 1.0);
    assert_eq!(sizes["inf"], 1.0);
    assert_eq!(total(&m, "scopegate_v1_batch_size_sum", &[]), 4.0);

    // The index: built at start-up, no write since; its size and revision.
    assert_eq!(
        total(
            &m,
            "scopegate_index_rebuilds_total",
            &[("trigger", "startup"), ("outcome", "ok")]
        ),
        1.0,
        "{text}"
    );
    let revision = app.store.revision().await.unwrap() as f64;
    assert!(revision > 0.0);
    assert_eq!(total(&m, "scopegate_index_revision", &[]), revision);
    let members = app.state.index.current().world.member_count() as f64;
    assert!(members > 0.0);
    assert_eq!(total(&m, "scopegate_index_members", &[]), members);
    let pool_max = total(&m, "scopegate_db_pool_max_connections", &[]);
    assert!(pool_max >= 1.0, "{text}");
    assert!(total(&m, "scopegate_db_pool_connections", &[]) <= pool_max);
    assert_eq!(total(&m, "scopegate_decision_log_writes_total", &[]), 0.0);
    assert_eq!(total(&m, "scopegate_decision_log_drops_total", &[]), 0.0);
}

#[tokio::test]
async fn a_write_rebuilds_the_index_and_is_counted_by_trigger() {
    let app = app().await;
    let r = app
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "owner",
            Some(r#"{"name": "Renamed"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (text, m) = scrape(&app).await;
    assert_eq!(
        total(
            &m,
            "scopegate_index_rebuilds_total",
            &[("trigger", "write"), ("outcome", "ok")]
        ),
        1.0,
        "{text}"
    );
    // The write's revision: the index caught up to it, and the response says so.
    let revision = app.store.revision().await.unwrap();
    assert_eq!(r.revision, Some(revision));
    assert_eq!(total(&m, "scopegate_index_revision", &[]), revision as f64);
    assert_eq!(
        total(&m, "scopegate_index_rebuild_duration_seconds_count", &[]),
        2.0
    );
}

/// On PostgreSQL, a write through one replica reaches a second one by the change feed: the
/// second counts a `change_feed` rebuild and observes its lag.
#[tokio::test]
async fn the_change_feed_rebuild_and_its_lag_are_counted_on_postgres() {
    let Some(a) = crate::postgres_app().await else {
        return;
    };
    let (b, sync) = a.replica().await;
    let r = a
        .call(
            "PUT",
            "/api/0/organizations/demo/",
            "owner",
            Some(r#"{"name": "Fed"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Bounded wait for the notification (the periodic resync alone would not count).
    let mut fed = 0.0;
    for _ in 0..200 {
        let (_, m) = scrape(&b).await;
        fed = total(
            &m,
            "scopegate_index_rebuilds_total",
            &[("trigger", "change_feed"), ("outcome", "ok")],
        );
        if fed >= 1.0 {
            assert!(total(&m, "scopegate_change_feed_lag_seconds_count", &[]) >= 1.0);
            assert!(total(&m, "scopegate_index_revision", &[]) >= 2.0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sync.abort();
    assert!(fed >= 1.0, "no change-feed rebuild was counted");
}

/// Decision log lines written are counted; a line that cannot be written (the log on
/// `/dev/full`) is counted as dropped (`write_error`), and the decision is still answered.
#[tokio::test]
async fn decision_log_writes_and_drops_are_counted() {
    use scopegate_server::decision_log::{Destination, Options};
    let app = app().await;
    let path = app.decision_log();
    let app = app.with_decision_log();
    let q = request(&app, "owner", "OrganizationDetailsEndpoint", "PUT");
    for _ in 0..2 {
        let r = app
            .call("POST", "/v1/check", "service", Some(&q.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let batch = json!({"requests": [q, q, q]});
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&batch.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.flush_log().await;
    let (text, m) = scrape(&app).await;
    assert_eq!(
        total(&m, "scopegate_decision_log_writes_total", &[]),
        5.0,
        "{text}"
    );
    assert_eq!(total(&m, "scopegate_decision_log_drops_total", &[]), 0.0);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 5);

    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped the drop half: no /dev/full");
        return;
    }
    let app = app.with_decision_log_options(&Options::new(Destination::File(full.into())));
    let r = app
        .call("POST", "/v1/check", "service", Some(&q.to_string()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["allowed"], true);
    app.flush_log().await;
    let (text, m) = scrape(&app).await;
    assert_eq!(
        total(
            &m,
            "scopegate_decision_log_drops_total",
            &[("reason", "write_error")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(total(&m, "scopegate_decision_log_writes_total", &[]), 5.0);
}
