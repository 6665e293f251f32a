//! The service's HTTP tests: the router driven with `oneshot`, over a fresh SQLite store
//! seeded with the demo organization ([`app`]) or holding an imported world
//! ([`imported_app`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod access;
mod access_requests;
mod boundary;
mod decision_log;
mod durability;
mod errors;
mod granular;
mod http_hygiene;
mod incremental;
mod integrations;
mod manifest;
mod members;
mod metrics;
mod mgmt_index;
mod org_tokens;
mod organizations;
mod plane;
mod revisions;
mod sentry_member_delete;
mod sentry_member_details;
mod sentry_member_index;
mod sentry_organizations;
mod sentry_team_details;
mod sentry_team_edits;
mod sentry_teams;
mod shadow;
mod teams_projects;
mod tokens;
mod v1;
mod v1_worlds;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use scopegate_core::{Manifest, Policy, Source, WorldDoc};
use scopegate_server::{demo, router, AppState};
use scopegate_store::Store;
use serde_json::Value;
use tower::ServiceExt;

/// A service over a fresh database with the demo organization.
pub struct App {
    /// The service.
    pub router: Router,
    /// Its state.
    pub state: AppState,
    /// Its store.
    pub store: Arc<dyn Store>,
    /// Personal tokens by role: `owner`, `manager`, `alice` (member, backend team admin),
    /// `bob` (member, frontend contributor), `ci` (the demo org auth token) and `service` (a
    /// service token, for `/v1/`).
    pub tokens: HashMap<&'static str, String>,
    /// The PostgreSQL database to drop after a passing test.
    pub postgres_url: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    /// A PostgreSQL app's database is dropped after a passing test (kept after a failing one,
    /// to look at), on a thread of its own: `Drop` cannot await.
    fn drop(&mut self) {
        let Some(url) = self.postgres_url.take() else {
            return;
        };
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", scopegate_store::redact_url(&url));
            return;
        }
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(scopegate_store::testing::drop_postgres_database(&url))
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The JSON body (a string for text, null when empty). A decision body's `"revision"`
    /// is checked against the header and taken out (see [`Resp::revision`]).
    pub body: Value,
    /// `X-Scopegate-Revision`: the store revision a `/v1/` decision was made at, or that the
    /// index reached after a write.
    pub revision: Option<u64>,
}

impl Resp {
    /// The `detail` of an error body.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

/// A fresh service with the demo organization, on SQLite.
pub async fn app() -> App {
    if std::env::var("SCOPEGATE_TEST_BACKEND").as_deref() == Ok("postgres") {
        return postgres_app()
            .await
            .expect("SCOPEGATE_TEST_BACKEND=postgres needs SCOPEGATE_TEST_DATABASE_URL");
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    app_on(&url, dir).await
}

/// The same on a fresh PostgreSQL database, when `SCOPEGATE_TEST_DATABASE_URL` is set.
pub async fn postgres_app() -> Option<App> {
    let url = fresh_postgres_url().await?;
    let mut app = app_on(&url, tempfile::tempdir().unwrap()).await;
    app.postgres_url = Some(url);
    Some(app)
}

/// A fresh PostgreSQL database on `SCOPEGATE_TEST_DATABASE_URL`'s server, or `None` (and a
/// skip message) when it is unset.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("SCOPEGATE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SCOPEGATE_TEST_DATABASE_URL unset");
        return None;
    };
    Some(
        scopegate_store::testing::fresh_postgres_database(&base)
            .await
            .unwrap(),
    )
}

/// A service over a fresh SQLite store holding exactly `world` (imported, ids kept), under
/// `policy`, deciding `/v1/` with `manifest` (a manifest document's text, compiled against
/// `policy`). Its one token is `service`.
pub async fn imported_app(world: &WorldDoc, policy: Policy, manifest: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    imported_app_on(&url, dir, world, policy, manifest).await
}

/// [`imported_app`] on the database at `url` (a fresh one).
pub async fn imported_app_on(
    url: &str,
    dir: tempfile::TempDir,
    world: &WorldDoc,
    policy: Policy,
    manifest: &str,
) -> App {
    let store = scopegate_store::connect(url).await.unwrap();
    store
        .import_world(world, &policy, &scopegate_store::Actor::system())
        .await
        .unwrap();
    let mut tokens = HashMap::new();
    tokens.insert("service", service_token(&*store).await);
    let compiled = Manifest::load(&Source::new("manifest.json", manifest), &policy)
        .unwrap_or_else(|d| panic!("the manifest compiles: {d}\n{manifest}"));
    let state = AppState::new(store.clone(), policy)
        .unwrap()
        .with_decision_manifest(compiled);
    state.load_index().await.unwrap();
    App {
        state: state.clone(),
        router: router(state),
        store,
        tokens,
        postgres_url: url.starts_with("postgres").then(|| url.to_string()),
        _dir: dir,
    }
}

/// A new service token's secret.
async fn service_token(store: &dyn Store) -> String {
    let (_, secret) = store
        .create_token(
            &scopegate_store::NewToken {
                kind: scopegate_store::TokenKind::Service,
                user_id: None,
                organization_id: None,
                name: Some("tests".into()),
                scopes: Vec::new(),
            },
            &scopegate_store::Actor::system(),
        )
        .await
        .unwrap();
    secret.expose().to_string()
}

async fn app_on(url: &str, dir: tempfile::TempDir) -> App {
    let store = scopegate_store::connect(url).await.unwrap();
    let policy = Policy::sentry();
    let seeded = demo::seed(&*store, &policy).await.unwrap();
    let mut tokens = HashMap::new();
    for (name, account) in ["owner", "manager", "alice", "bob"]
        .into_iter()
        .zip(&seeded.accounts)
    {
        tokens.insert(name, account.token.expose().to_string());
    }
    tokens.insert("ci", seeded.org_token.expose().to_string());
    tokens.insert("service", service_token(&*store).await);
    let state = AppState::new(store.clone(), policy).unwrap();
    state.load_index().await.unwrap();
    App {
        state: state.clone(),
        router: router(state),
        store,
        tokens,
        postgres_url: None,
        _dir: dir,
    }
}

impl App {
    /// The same service with the decision log on (a file in its temporary directory,
    /// [`App::decision_log`]): every `/v1/` request then takes the field-by-field parsing
    /// path instead of the typed fast path.
    pub fn with_decision_log(self) -> App {
        let options = scopegate_server::decision_log::Options::new(
            scopegate_server::decision_log::Destination::File(self.decision_log()),
        );
        self.with_decision_log_options(&options)
    }

    /// The same service with the decision log kept as `options` say.
    pub fn with_decision_log_options(
        mut self,
        options: &scopegate_server::decision_log::Options,
    ) -> App {
        self.state = self.state.clone().with_decision_log(options).unwrap();
        self.router = router(self.state.clone());
        self
    }

    /// Shadows every `/v1/` decision with `policy` (`None`: the live one) and `manifest`
    /// (the service's own, compiled against the candidate, when `None`); the index is rebuilt
    /// so that it holds the world under the candidate policy.
    pub async fn with_shadow(mut self, policy: Option<Policy>, manifest: Option<&str>) -> App {
        let under = policy
            .clone()
            .unwrap_or_else(|| (*self.state.policy).clone());
        let text = manifest.unwrap_or(scopegate_server::SERVICE_MANIFEST);
        let compiled = Manifest::load(&Source::new("shadow.toml", text), &under)
            .unwrap_or_else(|d| panic!("the shadow manifest compiles: {d}"));
        self.state = self.state.clone().with_shadow(policy, compiled);
        self.state.load_index().await.unwrap();
        self.router = router(self.state.clone());
        self
    }

    /// The same service with its management API on `plane` (`scopegate_server::plane`), as
    /// `scopegate serve` runs it.
    pub fn on_plane(mut self, plane: tokio::runtime::Handle) -> App {
        self.state = self.state.clone().with_management(plane);
        self.router = router(self.state.clone());
        self
    }

    /// Waits until every decision made so far is in the decision log's file.
    pub async fn flush_log(&self) {
        self.state
            .decision_log
            .as_ref()
            .expect("the decision log is on")
            .flush()
            .await
            .unwrap();
    }

    /// The decision log's path ([`App::with_decision_log`]).
    pub fn decision_log(&self) -> std::path::PathBuf {
        self._dir.path().join("decisions.log")
    }

    /// Sends a request as `who` (a key of `tokens`, a raw `Bearer` secret, or `""` for none).
    pub async fn call(&self, method: &str, uri: &str, who: &str, body: Option<&str>) -> Resp {
        self.send(self.request(method, uri, who, body)).await
    }

    /// A second replica of this PostgreSQL app: its own state and index over the same
    /// database, kept current by its sync loop (the handle; abort it when done), with the
    /// same credentials.
    pub async fn replica(&self) -> (App, tokio::task::JoinHandle<()>) {
        let url = self.postgres_url.clone().expect("a PostgreSQL app");
        let store = scopegate_store::connect(&url).await.unwrap();
        let state = AppState::new(store, Policy::sentry()).unwrap();
        state.load_index().await.unwrap();
        let sync = scopegate_server::index::LiveIndex::spawn_sync(&state);
        let replica = App {
            router: router(state.clone()),
            state,
            store: self.store.clone(),
            tokens: self.tokens.clone(),
            postgres_url: None,
            _dir: tempfile::tempdir().unwrap(),
        };
        (replica, sync)
    }

    /// A request as `who` ([`App::call`]).
    pub fn request(&self, method: &str, uri: &str, who: &str, body: Option<&str>) -> Request<Body> {
        let mut req = Request::builder().method(method).uri(uri);
        if !who.is_empty() {
            let secret = self
                .tokens
                .get(who)
                .cloned()
                .unwrap_or_else(|| who.to_string());
            req = req.header(header::AUTHORIZATION, format!("Bearer {secret}"));
        }
        match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap()
    }

    /// Sends a prepared request. A management (`/api/`) request is authorized from an index
    /// caught up to the store's revision (rows a test seeds through the store included, as
    /// another process's would be); a `/v1/` one from the index as it is.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        let revision = headers
            .get("x-scopegate-revision")
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        if let Some(in_body) = body.as_object_mut().and_then(|o| o.remove("revision")) {
            // Every decision body names the revision it was made at, as the header does.
            assert_eq!(
                in_body.as_u64(),
                revision,
                "the body's and the header's revision"
            );
        }
        Resp {
            status,
            headers,
            body,
            revision,
        }
    }

    /// The number of audit entries of the demo organization.
    pub async fn audit_count(&self) -> usize {
        let org = self.store.org_by_slug("demo").await.unwrap();
        self.store
            .audit_log(
                org.id,
                scopegate_store::Page {
                    offset: 0,
                    limit: 10_000,
                },
            )
            .await
            .unwrap()
            .len()
    }

    /// Creates a user with a personal token; returns the token.
    pub async fn user(&mut self, key: &'static str, email: &str) -> String {
        let (_, secret) = demo::create_user(&*self.store, &Policy::sentry(), email, false)
            .await
            .unwrap();
        self.tokens.insert(key, secret.expose().to_string());
        secret.expose().to_string()
    }
}
