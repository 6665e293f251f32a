//! The decision API (`/v1/`): callers, every route, bad input, batch limit, `not_found`
//! decisions, consistency of check ≡ batch ≡ explain ≡ who-can, freshness after every kind
//! of write, the decision log, and two replicas on PostgreSQL.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{app, App, Resp};

fn request(principal: Value, endpoint: &str, method: &str) -> Value {
    json!({"principal": principal, "endpoint": endpoint, "method": method, "organization": "demo"})
}

fn bearer(app: &App, who: &str) -> Value {
    json!({"kind": "bearer", "token": app.tokens[who]})
}

async fn check(app: &App, body: &Value) -> Resp {
    app.call("POST", "/v1/check", "service", Some(&body.to_string()))
        .await
}

/// The decision of `body`, asserting the call itself succeeded.
async fn decision(app: &App, body: &Value) -> Value {
    let r = check(app, body).await;
    assert_eq!(r.status, StatusCode::OK, "{body} → {:?}", r.body);
    r.body
}

/// The member id and user id of every member of the demo organization with a user.
async fn members(app: &App) -> Vec<(i64, i64)> {
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store
        .members(org.id, scopegate_store::Page::default())
        .await
        .unwrap()
        .iter()
        .filter_map(|m| Some((m.id, m.user_id?)))
        .collect()
}

async fn member_id(app: &App, email: &str) -> i64 {
    let org = app.store.org_by_slug("demo").await.unwrap();
    let user = app.store.user_by_email(email).await.unwrap();
    app.store.member_of_user(org.id, user.id).await.unwrap().id
}

#[tokio::test]
async fn check_decides_with_the_stored_world() {
    let app = app().await;
    let owner = decision(
        &app,
        &request(bearer(&app, "owner"), "OrganizationDetailsEndpoint", "PUT"),
    )
    .await;
    assert_eq!(
        owner,
        json!({"allowed": true, "status": 200, "reason": "allowed", "grant": ["role_scope"],
               "missing_scopes": [], "challenge": null})
    );
    let alice = decision(
        &app,
        &request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "PUT"),
    )
    .await;
    assert_eq!(alice["allowed"], false);
    assert_eq!(alice["status"], 403);
    assert_eq!(alice["reason"], "missing_scope");
    assert!(!alice["missing_scopes"].as_array().unwrap().is_empty());
    // An unknown bearer secret is decided as unauthenticated, not an error.
    let unknown = decision(
        &app,
        &request(
            json!({"kind": "bearer", "token": "sgu_nope"}),
            "OrganizationDetailsEndpoint",
            "GET",
        ),
    )
    .await;
    assert_eq!(unknown["reason"], "unauthenticated");
    assert_eq!(unknown["status"], 401);
    // The explicit shapes of §4.1 work as they do in-process.
    let ci = decision(
        &app,
        &request(
            json!({"kind": "org_token", "organization": "demo", "scopes": ["org:read"]}),
            "OrganizationDetailsEndpoint",
            "GET",
        ),
    )
    .await;
    assert_eq!(ci["grant"], json!(["org_token"]));
}

#[tokio::test]
async fn only_service_tokens_may_call_v1() {
    let app = app().await;
    let body = request(
        json!({"kind": "anonymous"}),
        "OrganizationDetailsEndpoint",
        "GET",
    )
    .to_string();
    let routes = [
        ("POST", "/v1/check", Some(body.clone())),
        (
            "POST",
            "/v1/check/batch",
            Some(format!("{{\"requests\": [{body}]}}")),
        ),
        ("POST", "/v1/explain", Some(body.clone())),
        (
            "GET",
            "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=GET",
            None,
        ),
    ];
    for (method, uri, body) in &routes {
        let call = |who: &'static str| app.call(method, uri, who, body.as_deref());
        assert_eq!(call("").await.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            call("sgs_unknown").await.status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
        for who in ["owner", "alice", "ci"] {
            let r = call(who).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri} as {who}");
            assert!(r.detail().contains("service token"), "{:?}", r.body);
        }
        assert_eq!(call("service").await.status, StatusCode::OK, "{uri}");
    }
    // A service token is nobody on the management API.
    let r = app
        .call("GET", "/api/0/organizations/demo/", "service", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// A service token verified once (and so remembered by the worker thread) stops working at
/// the first request after the index is rebuilt without it; a bearer principal likewise.
#[tokio::test]
async fn a_revoked_service_token_stops_at_the_next_request_after_a_refresh() {
    let app = app().await;
    let body = request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "GET").to_string();
    for uri in ["/v1/check", "/v1/check/batch", "/v1/explain"] {
        let body = if uri.ends_with("batch") {
            format!("[{body}]")
        } else {
            body.clone()
        };
        for _ in 0..3 {
            let r = app.call("POST", uri, "service", Some(&body)).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.body);
        }
    }
    let secret = &app.tokens["service"];
    let id = app.store.token_by_secret(secret).await.unwrap().id;
    app.store
        .delete_token(id, &scopegate_store::Actor::system())
        .await
        .unwrap();
    // Revoked by another process: this replica learns of it at its next rebuild.
    app.state.load_index().await.unwrap();
    for uri in ["/v1/check", "/v1/check/batch", "/v1/explain"] {
        let r = app.call("POST", uri, "service", Some(&body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}: {:?}", r.body);
    }
    let r = app
        .call(
            "GET",
            "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=GET",
            "service",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// A bearer principal decided once is decided again after its token is deleted by another
/// process and the index rebuilt: as unauthenticated, in check and batch alike.
#[tokio::test]
async fn a_deleted_bearer_token_is_unauthenticated_after_a_refresh() {
    let app = app().await;
    let q = request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "GET");
    let batch = json!({ "requests": [q, q] }).to_string();
    assert_eq!(decision(&app, &q).await["allowed"], true);
    let r = app
        .call("POST", "/v1/check/batch", "service", Some(&batch))
        .await;
    assert_eq!(r.body["decisions"][1]["allowed"], true, "{:?}", r.body);
    let id = app
        .store
        .token_by_secret(&app.tokens["alice"])
        .await
        .unwrap()
        .id;
    app.store
        .delete_token(id, &scopegate_store::Actor::system())
        .await
        .unwrap();
    // Deleted by another process: this replica sees it at its next rebuild.
    app.state.load_index().await.unwrap();
    assert_eq!(decision(&app, &q).await["reason"], "unauthenticated");
    let r = app
        .call("POST", "/v1/check/batch", "service", Some(&batch))
        .await;
    for d in r.body["decisions"].as_array().unwrap() {
        assert_eq!(d["reason"], "unauthenticated");
    }
}

/// The typed fast path and the field-by-field path answer alike: bodies the fast path
/// declines (escaped strings, reordered or duplicate keys, a bare array) get the same
/// decisions as plain ones.
#[tokio::test]
async fn unusual_but_valid_bodies_get_the_same_decisions() {
    let app = app().await;
    let plain = request(bearer(&app, "owner"), "OrganizationDetailsEndpoint", "PUT");
    let want = decision(&app, &plain).await;
    assert_eq!(want["allowed"], true);
    let secret = &app.tokens["owner"];
    let escaped = format!(
        r#"{{"method": "P\u0055T", "organization": "demo", "endpoint": "OrganizationDetailsEndpoint",
            "principal": {{"token": "{secret}", "kind": "b\u0065arer"}}}}"#
    );
    assert_eq!(
        decision(&app, &serde_json::from_str(&escaped).unwrap()).await,
        want
    );
    let r = app
        .call("POST", "/v1/check", "service", Some(&escaped))
        .await;
    assert_eq!(r.body, want, "{escaped}");
    for batch in [
        format!(r#"{{"requests": [{escaped}, {plain}]}}"#),
        format!(r#"[{plain}, {escaped}]"#),
        format!(r#"  {{ "requests" : [ {plain} ] , "requests": [{plain}, {plain}] }}"#),
    ] {
        let r = app
            .call("POST", "/v1/check/batch", "service", Some(&batch))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{batch}: {:?}", r.body);
        let decisions = r.body["decisions"].as_array().unwrap();
        assert!(!decisions.is_empty());
        assert!(
            decisions.iter().all(|d| *d == want),
            "{batch}: {:?}",
            r.body
        );
    }
    // Trailing garbage after a valid batch is bad input, not a fast-path answer.
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&format!("[{plain}] x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.detail().starts_with("body:"), "{}", r.detail());
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = app().await;
    let ok = request(
        json!({"kind": "anonymous"}),
        "OrganizationDetailsEndpoint",
        "GET",
    );
    let with = |key: &str, v: Value| {
        let mut r = ok.clone();
        r[key] = v;
        r
    };
    let cases = [
        ("not json", "body"),
        ("[1]", "body"),
        (&*with("method", json!("FETCH")).to_string(), "method"),
        (&*with("method", json!(3)).to_string(), "method"),
        (&*with("endpoint", Value::Null).to_string(), "endpoint"),
        (&*with("organization", json!(7)).to_string(), "organization"),
        (
            &*with("principal", json!({"kind": "ghost"})).to_string(),
            "principal",
        ),
        (
            &*with("principal", json!({"kind": "bearer"})).to_string(),
            "principal.token",
        ),
        (
            &*with(
                "principal",
                json!({"kind": "user_token", "user": 1, "scopes": ["org:nope"]}),
            )
            .to_string(),
            "principal.scopes",
        ),
        (&*with("extra", json!(1)).to_string(), "extra"),
    ];
    for (body, field) in cases {
        for uri in ["/v1/check", "/v1/explain"] {
            let r = app.call("POST", uri, "service", Some(body)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri} {body}");
            assert!(
                r.detail().starts_with(&format!("{field}:")),
                "{uri} {body}: {}",
                r.detail()
            );
        }
    }
    let batch = json!({"requests": [ok, with("method", json!("FETCH"))]}).to_string();
    let r = app
        .call("POST", "/v1/check/batch", "service", Some(&batch))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.detail().starts_with("requests[1].method:"),
        "{}",
        r.detail()
    );
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(r#"{"requests": 3}"#),
        )
        .await;
    assert!(r.detail().starts_with("requests:"), "{}", r.detail());
    for (query, field) in [
        ("endpoint=E&method=GET", "organization"),
        ("organization=demo&method=GET", "endpoint"),
        ("organization=demo&endpoint=E", "method"),
        ("organization=demo&endpoint=E&method=FETCH", "method"),
        (
            "organization=demo&endpoint=E&method=GET&project=a&team=b",
            "team",
        ),
        ("organization=demo&endpoint=E&method=GET&cursor=x", "cursor"),
    ] {
        let r = app
            .call("GET", &format!("/v1/who-can?{query}"), "service", None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            r.detail().starts_with(&format!("{field}:")),
            "{query}: {}",
            r.detail()
        );
    }
}

#[tokio::test]
async fn batch_keeps_order_and_has_a_limit() {
    let app = app().await;
    let reqs = vec![
        request(bearer(&app, "owner"), "OrganizationDetailsEndpoint", "PUT"),
        request(bearer(&app, "alice"), "OrganizationDetailsEndpoint", "PUT"),
        request(
            json!({"kind": "anonymous"}),
            "OrganizationDetailsEndpoint",
            "GET",
        ),
    ];
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&json!({ "requests": reqs }).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let decisions = r.body["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), reqs.len());
    for (req, d) in reqs.iter().zip(decisions) {
        assert_eq!(*d, decision(&app, req).await);
    }
    // A bare array works too.
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&Value::Array(reqs.clone()).to_string()),
        )
        .await;
    assert_eq!(r.body["decisions"].as_array().unwrap(), decisions);
    let anon = request(
        json!({"kind": "anonymous"}),
        "OrganizationDetailsEndpoint",
        "GET",
    );
    let full = vec![anon; 1000];
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&json!({ "requests": full }).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["decisions"].as_array().unwrap().len(), 1000);
    let mut over = full;
    over.push(over[0].clone());
    let r = app
        .call(
            "POST",
            "/v1/check/batch",
            "service",
            Some(&json!({ "requests": over }).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.detail().contains("1000"), "{}", r.detail());
}

#[tokio::test]
async fn unknown_things_are_not_found_decisions() {
    let app = app().await;
    let owner = bearer(&app, "owner");
    let mut unknown_org = request(owner.clone(), "OrganizationDetailsEndpoint", "GET");
    unknown_org["organization"] = json!("nope");
    let mut unknown_project = request(owner.clone(), "ProjectDetailsEndpoint", "GET");
    unknown_project["project"] = json!("nope");
    let mut unknown_team = request(owner.clone(), "TeamDetailsEndpoint", "GET");
    unknown_team["team"] = json!("nope");
    for body in [
        request(owner.clone(), "NoSuchEndpoint", "GET"),
        unknown_org,
        unknown_project,
        unknown_team,
    ] {
        let d = decision(&app, &body).await;
        assert_eq!(d["reason"], "not_found", "{body}");
        assert_eq!(d["status"], 404);
        let r = app
            .call("POST", "/v1/explain", "service", Some(&body.to_string()))
            .await;
        assert_eq!(r.body["reason"], "not_found");
    }
    let r = app
        .call(
            "GET",
            "/v1/who-can?organization=nope&endpoint=OrganizationDetailsEndpoint&method=GET",
            "service",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!([]));
}

/// Every endpoint method of the service manifest, on every object of the demo world.
fn probes(app: &App) -> Vec<(String, String, Option<&'static str>, Option<&'static str>)> {
    let mut out = Vec::new();
    for e in &app.state.decision_manifest.endpoints {
        for m in ["GET", "POST", "PUT", "DELETE"] {
            for (project, team) in [
                (None, None),
                (Some("api"), None),
                (Some("web"), None),
                (None, Some("backend")),
                (None, Some("frontend")),
            ] {
                out.push((e.name.clone(), m.to_string(), project, team));
            }
        }
    }
    out
}

/// check ≡ batch ≡ explain ≡ who-can over the demo world and variations of it.
#[tokio::test]
async fn check_batch_explain_and_who_can_agree() {
    let app = app().await;
    let alice = member_id(&app, "alice@demo.invalid").await;
    let variations = [
        None,
        Some((
            "PUT",
            format!("/api/0/organizations/demo/members/{alice}/teams/frontend/"),
            r#"{"teamRole": "admin"}"#,
        )),
        Some((
            "PUT",
            "/api/0/organizations/demo/".to_string(),
            r#"{"openMembership": true, "eventsMemberAdmin": false}"#,
        )),
    ];
    let mut compared = 0;
    for variation in variations {
        if let Some((method, uri, body)) = &variation {
            if uri.contains("/teams/frontend/") {
                let join = app.call("POST", uri, "owner", None).await;
                assert!(join.status.is_success(), "{:?}", join.body);
            }
            let r = app.call(method, uri, "owner", Some(body)).await;
            assert!(r.status.is_success(), "{uri}: {:?}", r.body);
        }
        let members = members(&app).await;
        for (endpoint, method, project, team) in probes(&app) {
            let mut reqs = Vec::new();
            for (_, user) in &members {
                let mut r = request(json!({"kind": "session", "user": user}), &endpoint, &method);
                if let Some(p) = project {
                    r["project"] = json!(p);
                }
                if let Some(t) = team {
                    r["team"] = json!(t);
                }
                reqs.push(r);
            }
            let batch = app
                .call(
                    "POST",
                    "/v1/check/batch",
                    "service",
                    Some(&json!({ "requests": reqs }).to_string()),
                )
                .await;
            assert_eq!(batch.status, StatusCode::OK);
            let batch = batch.body["decisions"].as_array().unwrap().clone();
            let mut allowed = BTreeSet::new();
            for (((member, _), req), b) in members.iter().zip(&reqs).zip(&batch) {
                let c = decision(&app, req).await;
                assert_eq!(c, *b, "{req}");
                let mut e = app
                    .call("POST", "/v1/explain", "service", Some(&req.to_string()))
                    .await
                    .body;
                assert!(!e["trace"].as_array().unwrap().is_empty());
                e.as_object_mut().unwrap().remove("trace");
                assert_eq!(e, c, "{req}");
                if c["allowed"] == true {
                    allowed.insert((member.to_string(), c["grant"].to_string()));
                }
                compared += 1;
            }
            let mut uri =
                format!("/v1/who-can?organization=demo&endpoint={endpoint}&method={method}");
            if let Some(p) = project {
                uri.push_str(&format!("&project={p}"));
            }
            if let Some(t) = team {
                uri.push_str(&format!("&team={t}"));
            }
            let who = app.call("GET", &uri, "service", None).await;
            assert_eq!(who.status, StatusCode::OK, "{uri}");
            let listed: BTreeSet<_> = who
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["member"].as_str().unwrap().to_string(),
                        a["grant"].to_string(),
                    )
                })
                .collect();
            assert_eq!(listed, allowed, "{uri}");
        }
    }
    assert!(compared > 500, "{compared}");
}

#[tokio::test]
async fn who_can_is_paged() {
    let app = app().await;
    let base = "/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=GET";
    let all = app.call("GET", base, "service", None).await;
    let all = all.body.as_array().unwrap().clone();
    assert_eq!(all.len(), 4, "{all:?}");
    let first = app
        .call("GET", &format!("{base}&cursor=3:0:0"), "service", None)
        .await;
    assert_eq!(first.body.as_array().unwrap()[..], all[..3]);
    let link = first.headers["link"].to_str().unwrap();
    assert!(
        link.contains("organization=demo&") && link.contains("rel=\"next\"; results=\"true\""),
        "{link}"
    );
    let second = app
        .call("GET", &format!("{base}&cursor=3:1:0"), "service", None)
        .await;
    assert_eq!(second.body.as_array().unwrap()[..], all[3..]);
    // `per_page` sets the page size, and with a `Host` the links are absolute, as on every
    // list of the management API.
    let req = axum::http::Request::builder()
        .method("GET")
        .uri(format!("{base}&per_page=2"))
        .header("authorization", format!("Bearer {}", app.tokens["service"]))
        .header("host", "scopegate.example.test:8080")
        .body(axum::body::Body::empty())
        .unwrap();
    let paged = app.send(req).await;
    assert_eq!(paged.body.as_array().unwrap()[..], all[..2]);
    let link = paged.headers["link"].to_str().unwrap();
    assert!(
        link.starts_with(
            "<http://scopegate.example.test:8080/v1/who-can?organization=demo&endpoint=OrganizationDetailsEndpoint&method=GET&per_page=2&cursor=2:0:1>"
        ),
        "{link}"
    );
    assert!(
        link.contains("cursor=2:1:0>; rel=\"next\"; results=\"true\""),
        "{link}"
    );
}

/// After each kind of write through the management API, the next check reflects it.
#[tokio::test]
async fn writes_are_reflected_in_the_next_decision() {
    let app = &app().await;
    let alice = member_id(app, "alice@demo.invalid").await;
    let as_alice = |endpoint: &str, method: &str, project: Option<&str>, team: Option<&str>| {
        let mut r = request(bearer(app, "alice"), endpoint, method);
        if let Some(p) = project {
            r["project"] = json!(p);
        }
        if let Some(t) = team {
            r["team"] = json!(t);
        }
        r
    };
    let write = |method: &'static str, uri: String, body: Option<&'static str>| async move {
        let r = app.call(method, &uri, "owner", body).await;
        assert!(r.status.is_success(), "{method} {uri}: {:?}", r.body);
        r
    };

    // Org role.
    let q = as_alice("OrganizationDetailsEndpoint", "PUT", None, None);
    assert_eq!(decision(app, &q).await["allowed"], false);
    write(
        "PUT",
        format!("/api/0/organizations/demo/members/{alice}/"),
        Some(r#"{"orgRole": "manager"}"#),
    )
    .await;
    assert_eq!(decision(app, &q).await["allowed"], true);
    write(
        "PUT",
        format!("/api/0/organizations/demo/members/{alice}/"),
        Some(r#"{"orgRole": "member"}"#),
    )
    .await;
    assert_eq!(decision(app, &q).await["allowed"], false);

    // Team membership, and the project link.
    let web = as_alice("ProjectDetailsEndpoint", "GET", Some("web"), None);
    assert_eq!(decision(app, &web).await["reason"], "no_project_access");
    write(
        "POST",
        format!("/api/0/organizations/demo/members/{alice}/teams/frontend/"),
        None,
    )
    .await;
    assert_eq!(decision(app, &web).await["allowed"], true);
    write(
        "DELETE",
        format!("/api/0/organizations/demo/members/{alice}/teams/frontend/"),
        None,
    )
    .await;
    assert_eq!(decision(app, &web).await["allowed"], false);
    write(
        "POST",
        "/api/0/projects/demo/web/teams/backend/".into(),
        None,
    )
    .await;
    assert_eq!(decision(app, &web).await["allowed"], true);
    write(
        "DELETE",
        "/api/0/projects/demo/web/teams/backend/".into(),
        None,
    )
    .await;
    assert_eq!(decision(app, &web).await["allowed"], false);

    // Open membership (an organization option).
    write(
        "PUT",
        "/api/0/organizations/demo/".into(),
        Some(r#"{"openMembership": true}"#),
    )
    .await;
    assert_eq!(decision(app, &web).await["allowed"], true);
    write(
        "PUT",
        "/api/0/organizations/demo/".into(),
        Some(r#"{"openMembership": false}"#),
    )
    .await;

    // Teams: a new team is found; a deleted one is not.
    let team = as_alice("TeamDetailsEndpoint", "GET", None, Some("ops"));
    assert_eq!(decision(app, &team).await["reason"], "not_found");
    write(
        "POST",
        "/api/0/organizations/demo/teams/".into(),
        Some(r#"{"slug": "ops"}"#),
    )
    .await;
    assert_ne!(decision(app, &team).await["reason"], "not_found");
    write("DELETE", "/api/0/teams/demo/ops/".into(), None).await;
    assert_eq!(decision(app, &team).await["reason"], "not_found");

    // Granular grants are stored in the index too (the edit needs the resource's feature).
    let org = app.store.org_by_slug("demo").await.unwrap();
    app.store
        .set_features(
            org.id,
            &["organizations:granular-replay-permissions".to_string()],
            &[],
            &scopegate_store::Actor::system(),
        )
        .await
        .unwrap();
    write(
        "PUT",
        "/api/0/organizations/demo/granular-access/replay/".into(),
        Some(r#"{"members": [], "teams": []}"#),
    )
    .await;
    assert!(app.store.grants(org.id).await.unwrap().is_empty());

    // Tokens: a new token works at once; a deleted one is unauthenticated at once.
    let r = app
        .call(
            "POST",
            "/api/0/api-tokens/",
            "alice",
            Some(r#"{"scopes": ["org:read"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let (id, secret) = (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["token"].as_str().unwrap().to_string(),
    );
    let q = request(
        json!({"kind": "bearer", "token": secret}),
        "OrganizationDetailsEndpoint",
        "GET",
    );
    assert_eq!(decision(app, &q).await["allowed"], true);
    let r = app
        .call("DELETE", &format!("/api/0/api-tokens/{id}/"), "alice", None)
        .await;
    assert!(r.status.is_success());
    assert_eq!(decision(app, &q).await["reason"], "unauthenticated");

    // Removing the member.
    let q = as_alice("OrganizationDetailsEndpoint", "GET", None, None);
    assert_eq!(decision(app, &q).await["allowed"], true);
    write(
        "DELETE",
        format!("/api/0/organizations/demo/members/{alice}/"),
        None,
    )
    .await;
    assert_eq!(decision(app, &q).await["reason"], "not_a_member");
}

/// Two replicas on one PostgreSQL database: a write through one is in the other's
/// decisions within a second.
#[tokio::test]
async fn a_second_replica_sees_writes_within_a_second() {
    let Some(a) = crate::postgres_app().await else {
        return;
    };
    let (b, sync) = a.replica().await;
    let alice = member_id(&a, "alice@demo.invalid").await;
    let q = request(bearer(&a, "alice"), "OrganizationDetailsEndpoint", "PUT");
    assert_eq!(decision(&b, &q).await["allowed"], false);
    let r = a
        .call(
            "PUT",
            &format!("/api/0/organizations/demo/members/{alice}/"),
            "owner",
            Some(r#"{"orgRole": "manager"}"#),
        )
        .await;
    assert!(r.status.is_success());
    assert_eq!(decision(&a, &q).await["allowed"], true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if decision(&b, &q).await["allowed"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second replica did not see the write within a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sync.abort();
    drop(b);
    scopegate_store::testing::drop_postgres_database(a.postgres_url.as_deref().unwrap())
        .await
        .unwrap();
}

/// Every kind of principal on every endpoint method and object, drawn deterministically:
/// `/v1/check/batch` answers exactly what the engine answers in-process over the same stored
/// world.
#[tokio::test]
async fn batch_equals_the_engine_in_process() {
    use scopegate_core::{Engine, Policy, Request, RequestDoc, World};

    let app = app().await;
    let policy = Policy::sentry();
    let doc = app.store.full_world().await.unwrap();
    let world = World::build(&doc, &policy).unwrap();
    let engine = Engine::new(&policy, &app.state.decision_manifest, &world);
    let users: Vec<u64> = doc.users.iter().map(|u| u.id).chain([999]).collect();
    let scope_sets = [
        json!([]),
        json!(["org:read"]),
        json!(["org:read", "project:read", "team:read"]),
        json!(["org:admin", "member:admin", "team:admin", "project:admin"]),
        json!(["org:ci"]),
    ];
    let mut principals = vec![json!({"kind": "anonymous"}), json!({"kind": "system"})];
    for u in &users {
        for su in ["none", "read", "write"] {
            principals.push(json!({"kind": "session", "user": u, "superuser": su}));
        }
        principals.push(json!({"kind": "session", "user": u, "staff": true}));
        principals.push(json!({"kind": "session", "user": u, "sso_ok": false}));
        for s in &scope_sets {
            principals.push(json!({"kind": "user_token", "user": u, "scopes": s}));
            principals.push(
                json!({"kind": "user_token", "user": u, "scopes": s, "organization": "other"}),
            );
        }
    }
    for s in &scope_sets {
        for org in ["demo", "other"] {
            principals.push(json!({"kind": "org_token", "organization": org, "scopes": s}));
            principals.push(json!({"kind": "api_key", "organization": org, "scopes": s}));
        }
    }
    principals.push(json!({"kind": "integration", "integration": 7}));
    let probes = probes(&app);
    let orgs = ["demo", "demo", "demo", "nope"];
    // A fixed linear congruential sequence: deterministic, no seed to manage.
    let mut x: u64 = 0x5eed;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize % n
    };
    let mut compared = 0;
    for _ in 0..3 {
        let mut reqs = Vec::new();
        for _ in 0..1000 {
            let (endpoint, method, project, team) = &probes[next(probes.len())];
            let mut r = json!({
                "principal": principals[next(principals.len())],
                "endpoint": endpoint,
                "method": method,
                "organization": orgs[next(orgs.len())],
            });
            if let Some(p) = project {
                r["project"] = json!(p);
            }
            if let Some(t) = team {
                r["team"] = json!(t);
            }
            reqs.push(r);
        }
        let r = app
            .call(
                "POST",
                "/v1/check/batch",
                "service",
                Some(&json!({ "requests": reqs }).to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        for (req, got) in reqs.iter().zip(r.body["decisions"].as_array().unwrap()) {
            let doc: RequestDoc = serde_json::from_value(req.clone()).unwrap();
            let request = Request::from_doc(doc, &policy).unwrap();
            let want = serde_json::to_value(engine.decide(&request).to_doc(&policy)).unwrap();
            assert_eq!(*got, want, "{req}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3000);
}
