//! Shadow mode ([`scopegate_server::shadow`]): every `/v1/` decision also made under a
//! candidate policy, never changing the answer; each disagreement counted by endpoint and
//! direction and written on its decision log line with the candidate's decision.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use scopegate_core::{Policy, Source};
use serde_json::{json, Value};

use crate::{app, App, Resp};

const SENTRY: &str = include_str!("../../../scopegate-core/policies/sentry.toml");

/// Sentry's policy with members holding `org:write` instead of `org:read` and no
/// `member:read`, and its scopes declared in another order (requests are carried by name).
fn candidate() -> Policy {
    let member = "\"org:read\",\n  \"member:invite\", \"member:read\", \"team:read\"";
    assert!(SENTRY.contains(member));
    let text = SENTRY
        .replace(member, "\"org:write\",\n  \"member:invite\", \"team:read\"")
        .replace(
            "\"openid\", \"profile\", \"email\",",
            "\"email\", \"profile\", \"openid\",",
        );
    Policy::load(&Source::new("candidate.toml", text)).unwrap_or_else(|d| panic!("{d}"))
}

async fn check(app: &App, path: &str, body: &Value, id: &str) -> Resp {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", app.tokens["service"]),
        )
        .header("x-request-id", id)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

fn request(app: &App, who: &str, endpoint: &str, method: &str) -> Value {
    json!({"principal": {"kind": "bearer", "token": app.tokens[who]},
           "endpoint": endpoint, "method": method, "organization": "demo"})
}

#[tokio::test]
async fn disagreements_are_counted_and_logged_and_answers_never_change() {
    let plain = app().await;
    let app = app()
        .await
        .with_decision_log()
        .with_shadow(Some(candidate()), None)
        .await;
    let members = "OrganizationMemberIndexEndpoint";
    let details = "OrganizationDetailsEndpoint";
    let cases = [
        ("lost-members", request(&app, "alice", members, "GET")),
        ("gained-put", request(&app, "alice", details, "PUT")),
        ("same-get", request(&app, "alice", details, "GET")),
        ("same-owner", request(&app, "owner", members, "GET")),
    ];
    for (id, body) in &cases {
        let shadowed = check(&app, "/v1/check", body, id).await;
        assert_eq!(shadowed.status, StatusCode::OK, "{:?}", shadowed.body);
        // The answer is the live policy's: the same as a service without a shadow.
        let mut unshadowed = body.clone();
        unshadowed["principal"]["token"] = json!(plain.tokens[id_owner(id)]);
        let expected = check(&plain, "/v1/check", &unshadowed, id).await;
        assert_eq!(shadowed.body, expected.body, "{id}");
    }
    let batch = json!({"requests": [cases[0].1, cases[2].1]});
    let answer = check(&app, "/v1/check/batch", &batch, "batch").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["decisions"][0]["allowed"], true);
    let explained = check(&app, "/v1/explain", &cases[1].1, "explain").await;
    assert_eq!(explained.body["allowed"], false);

    let metrics = app.call("GET", "/metrics", "", None).await;
    let text = metrics.body.as_str().unwrap();
    for (endpoint, direction, n) in [(members, "lost", 2), (details, "gained", 2)] {
        let line = format!(
            "scopegate_shadow_disagreements_total{{endpoint=\"{endpoint}\",direction=\"{direction}\"}} {n}"
        );
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(
        text.contains("scopegate_shadow_decisions_total 7"),
        "{text}"
    );
    assert!(text.contains("scopegate_shadow_skipped_total 0"), "{text}");

    app.flush_log().await;
    let lines: Vec<Value> = std::fs::read_to_string(app.decision_log())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    let shadowed: BTreeSet<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            let shadow = l.get("shadow")?;
            assert_ne!(shadow["policy_version"], l["policy_version"]);
            assert_ne!(shadow["decision"]["allowed"], l["decision"]["allowed"]);
            let reason = shadow["decision"]["reason"].as_str().unwrap().to_string();
            Some((l["request_id"].as_str().unwrap().to_string(), reason))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("lost-members", "missing_scope"),
        ("gained-put", "allowed"),
        ("batch", "missing_scope"),
        ("explain", "allowed"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(shadowed, expected);
    let lost = lines
        .iter()
        .find(|l| l["request_id"] == "lost-members")
        .unwrap();
    assert_eq!(
        lost["shadow"]["decision"]["missing_scopes"],
        json!(["member:admin", "member:read", "member:write"])
    );
}

/// The demo account a case id's request is made as.
fn id_owner(id: &str) -> &'static str {
    if id == "same-owner" {
        "owner"
    } else {
        "alice"
    }
}

#[tokio::test]
async fn a_world_that_does_not_build_under_the_candidate_is_not_shadowed() {
    // The candidate has no `manager` role; the demo organization has a manager.
    let text = SENTRY.replace("id = \"manager\"", "id = \"supervisor\"");
    let policy = Policy::load(&Source::new("candidate.toml", text)).unwrap();
    let app = app().await.with_shadow(Some(policy), None).await;
    let body = request(&app, "alice", "OrganizationDetailsEndpoint", "GET");
    let answer = check(&app, "/v1/check", &body, "x").await;
    assert_eq!(answer.body["allowed"], true);
    let metrics = app.call("GET", "/metrics", "", None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("scopegate_shadow_skipped_total 1"), "{text}");
    assert!(
        text.contains("scopegate_shadow_decisions_total 0"),
        "{text}"
    );
}
