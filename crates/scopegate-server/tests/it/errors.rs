//! Errors that name the thing (issue 12 §7): an invalid stored world, or a stored token that
//! stands for no principal, is a 500 whose log line says which row and why, while the client
//! gets a JSON body without internal details; an invalid stored world the index is rebuilt
//! from keeps the last good index, and the failed rebuild's log line names the row.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use scopegate_core::{Policy, WorldDoc};
use scopegate_server::error::ApiError;
use scopegate_server::index::{Index, IndexError};
use scopegate_store::{Actor, Page, Token, TokenKind};
use serde_json::json;

use crate::app;

/// A log sink: what the service logs while a test runs, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn bad_world() -> WorldDoc {
    serde_json::from_value(json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 10}],
        "members": [
            {"id": 100, "organization": 1, "user": 10, "role": "ghost"},
            {"id": 101, "organization": 7, "user": 10, "role": "member"},
        ],
    }))
    .unwrap()
}

#[test]
fn index_errors_hold_and_list_every_problem() {
    let Err(e) = Index::build(&bad_world(), Vec::new(), &Policy::sentry(), 1) else {
        panic!("the world should be rejected");
    };
    assert_eq!(
        e.to_string(),
        "the stored world is invalid: 2 problem(s): members[0].role: unknown org role \
         `ghost`; members[1].organization: unknown organization id 7"
    );
    let IndexError::World(problems) = e else {
        panic!("a world error");
    };
    assert_eq!(problems.0.len(), 2);
    assert_eq!(problems.0[1].path, "members[1].organization");
}

/// Gives alice, a member of the demo organization, a role the policy does not know, written
/// past the API (as an old policy or a manual edit would leave it).
async fn ghost_alice(app: &crate::App) {
    let org = app.store.org_by_slug("demo").await.unwrap().id;
    let alice = app
        .store
        .members(org, Page::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.as_deref().is_some_and(|e| e.starts_with("alice")))
        .unwrap();
    app.store
        .set_member_role(org, alice.id, "ghost", &Actor::system())
        .await
        .unwrap();
}

/// The responses to `calls` made while the service's log goes to a [`Logs`], and that log.
async fn logged(
    app: &crate::App,
    calls: &[(&str, &str, Option<&str>)],
) -> (Vec<crate::Resp>, String) {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut out = Vec::new();
    for (method, uri, body) in calls {
        out.push(app.call(method, uri, "owner", *body).await);
    }
    (out, logs.text())
}

/// The decision index is not rebuilt from a stored world that does not build: the management
/// API, which authorizes from the index, keeps answering from the last good one, and the
/// failed rebuild's log line names the row and why.
#[tokio::test]
async fn an_invalid_stored_world_keeps_the_last_index_and_the_log_names_the_row() {
    let app = app().await;
    ghost_alice(&app).await;
    let (r, logged) = logged(
        &app,
        &[
            (
                "PUT",
                "/api/0/organizations/demo/",
                Some(r#"{"name": "Renamed"}"#),
            ),
            ("GET", "/api/0/organizations/demo/", None),
        ],
    )
    .await;
    assert_eq!(r[0].status, StatusCode::OK, "{:?}", r[0].body);
    assert_eq!(r[1].status, StatusCode::OK, "{:?}", r[1].body);
    assert_eq!(r[1].body["name"], "Renamed");
    assert!(
        logged.contains("cannot rebuild the decision index after a write")
            // A catch-up patches the member into its organization: the path names the
            // patch's edit.
            && logged.contains("the stored world is invalid: 1 problem(s): edits[0].members[")
            && logged.contains("].role: unknown org role `ghost`"),
        "the log names the row and why:\n{logged}"
    );
    assert!(
        !logged.contains(&app.tokens["owner"]),
        "no secret in the log"
    );
}

/// Where authorization still reads a store export (the details of an organization pending
/// deletion, not in the index), an invalid stored world is a 500 with a JSON body without
/// details, and the log names the row and why.
#[tokio::test]
async fn an_invalid_exported_world_is_a_json_500_and_the_log_names_the_row() {
    let app = app().await;
    let r = app
        .call("DELETE", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    ghost_alice(&app).await;
    let (r, logged) = logged(&app, &[("GET", "/api/0/organizations/demo/", None)]).await;
    assert_eq!(r[0].status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r[0].body,
        json!({"detail": "Internal Error"}),
        "no detail leaks"
    );
    assert!(
        logged.contains("the stored world is invalid: 1 problem(s): members[")
            && logged.contains("].role: unknown org role `ghost`"),
        "the log names the row and why:\n{logged}"
    );
    assert!(
        !logged.contains(&app.tokens["owner"]),
        "no secret in the log"
    );
}

fn token(kind: TokenKind, user_id: Option<i64>, org: Option<&str>) -> Token {
    Token {
        id: 42,
        kind,
        user_id,
        organization_id: org.map(|_| 1),
        organization_slug: org.map(str::to_string),
        name: None,
        prefix: "sntrys_".into(),
        last_characters: None,
        hash: "0123abcd".repeat(8),
        scopes: Vec::new(),
        created_at: 0,
    }
}

#[test]
fn a_token_that_stands_for_no_principal_names_the_token_and_why() {
    let cases = [
        (
            token(TokenKind::User, Some(-3), None),
            "stored token 42: user id -3 is negative (not an engine id)",
        ),
        (
            token(TokenKind::User, None, None),
            "stored token 42: a user token without a user",
        ),
        (
            token(TokenKind::Org, Some(5), None),
            "stored token 42: an org auth token without an organization",
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(
            scopegate_server::index::token_principal(&t, &Policy::sentry()),
            None
        );
        let e = scopegate_server::auth::unusable(&t);
        assert_eq!(e.to_string(), format!("internal error: {expected}"));
        assert!(!e.to_string().contains(&t.hash), "never the hash");
        assert!(matches!(e, ApiError::Internal(_)));
    }
}
