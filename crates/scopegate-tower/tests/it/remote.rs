//! The remote source against a real scopegate service (`scopegate_server::serve` on an
//! ephemeral loopback port, over a SQLite store holding the example world, deciding `/v1/`
//! with the example manifest), and against stand-ins that answer garbage or nothing.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use scopegate_core::{Manifest, Policy, Principal, Source, Superuser, WorldDoc};
use scopegate_server::index::LiveIndex;
use scopegate_server::AppState;
use scopegate_store::{Actor, NewToken, Store, TokenKind};
use scopegate_tower::{
    bearer, PrincipalResolver, RemoteOptions, RemoteSource, ResolveError, ScopegateLayer,
};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::instrument::WithSubscriber;

use crate::common::{manifest, policy, router, send, TestTokens, MANIFEST, WORLD};

/// A running scopegate service.
struct Service {
    addr: SocketAddr,
    token: String,
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    sync: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Service {
    /// A remote source over this service, its entries kept for `ttl`.
    fn source(&self, ttl: Duration) -> Arc<RemoteSource> {
        Arc::new(RemoteSource::new(&self.url(), &self.token, options(ttl)).unwrap())
    }

    /// A service over a fresh store holding the example world, with a service token.
    async fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = scopegate_store::connect(&url).await.unwrap();
        let policy = Policy::sentry();
        let doc: WorldDoc = serde_json::from_str(WORLD).unwrap();
        store
            .import_world(&doc, &policy, &Actor::system())
            .await
            .unwrap();
        let (_, secret) = store
            .create_token(
                &NewToken {
                    kind: TokenKind::Service,
                    user_id: None,
                    organization_id: None,
                    name: Some("tower".into()),
                    scopes: Vec::new(),
                },
                &Actor::system(),
            )
            .await
            .unwrap();
        let decisions = Manifest::load(&Source::new("manifest.toml", MANIFEST), &policy).unwrap();
        let state = AppState::new(store.clone(), policy)
            .unwrap()
            .with_decision_manifest(decisions);
        state.load_index().await.unwrap();
        let sync = LiveIndex::spawn_sync(&state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            scopegate_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Service {
            addr,
            token: secret.expose().to_string(),
            store,
            stop: Some(stop),
            task: Some(task),
            sync,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits until the listener is closed.
    async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).unwrap();
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.sync.abort();
    }
}

/// The example router behind the layer over `source`.
fn protected(source: Arc<RemoteSource>) -> Router {
    let policy = policy();
    let layer = ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        source,
        TestTokens(policy.clone()),
    );
    router().route_layer(layer)
}

fn options(ttl: Duration) -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_secs(5),
        cache_entries: 100,
        cache_ttl: ttl,
    }
}

fn detail(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["detail"].as_str().unwrap().to_string()
}

const ORG: &str = "/api/0/organizations/acme/";

#[tokio::test]
async fn the_service_allows_and_denies_with_its_status_detail_and_challenge() {
    let service = Service::start().await;
    let source = service.source(Duration::ZERO);
    let app = protected(source.clone());
    let (status, _, body) = send(&app, "GET", ORG, Some("u12")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "OrganizationDetailsEndpoint allowed");
    // User 14 is a member of globex only.
    let (status, headers, body) = send(&app, "GET", ORG, Some("u14")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        detail(&body),
        "You do not have permission to perform this action."
    );
    let (status, _, body) = send(&app, "GET", "/api/0/organizations/nope/", Some("u10")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, headers, _) = send(&app, "PUT", ORG, Some("t10:org:read")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"org:admin org:write\""
    );
    // The replay guard runs on the service: user 12 holds the grant, 13 does not.
    let (status, _, body) = send(
        &app,
        "GET",
        "/api/0/projects/acme/api/replays/1/",
        Some("u12"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(
        &app,
        "GET",
        "/api/0/projects/acme/web/replays/1/",
        Some("u13"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let m = source.metrics().snapshot();
    assert_eq!((m.requests, m.cache_hits, m.failures()), (6, 0, 0));
}

#[tokio::test]
async fn a_cached_answer_is_served_without_the_service_until_its_ttl() {
    let mut service = Service::start().await;
    let source = service.source(Duration::from_secs(600));
    let app = protected(source.clone());
    for _ in 0..3 {
        assert_eq!(send(&app, "GET", ORG, Some("u12")).await.0, StatusCode::OK);
        assert_eq!(
            send(&app, "GET", ORG, Some("u14")).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let m = source.metrics().snapshot();
    assert_eq!((m.requests, m.cache_hits), (2, 4));
    // The service stops: cached answers still stand; anything else fails closed.
    service.stop().await;
    assert_eq!(send(&app, "GET", ORG, Some("u12")).await.0, StatusCode::OK);
    let (status, headers, body) = send(&app, "GET", ORG, Some("u13")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(detail(&body), "Authorization is temporarily unavailable");
    let m = source.metrics().snapshot();
    assert_eq!((m.cache_hits, m.unreachable), (5, 1));

    // A source whose entries expire at once asks every time.
    let service = Service::start().await;
    let source = service.source(Duration::ZERO);
    let app = protected(source.clone());
    for _ in 0..3 {
        assert_eq!(send(&app, "GET", ORG, Some("u12")).await.0, StatusCode::OK);
    }
    assert_eq!(source.metrics().snapshot().requests, 3);
}

#[tokio::test]
async fn raising_the_minimum_revision_bypasses_older_cached_answers() {
    let service = Service::start().await;
    let source = service.source(Duration::from_secs(600));
    let app = protected(source.clone());
    assert_eq!(send(&app, "GET", ORG, Some("u12")).await.0, StatusCode::OK);
    // User 12 leaves acme; the cached allow stands until the application says it wrote.
    service
        .store
        .remove_member(1, 102, &Actor::system())
        .await
        .unwrap();
    let revision = service.store.revision().await.unwrap();
    assert_eq!(send(&app, "GET", ORG, Some("u12")).await.0, StatusCode::OK);
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("x-scopegate-revision", revision.into());
    source.observe(&headers);
    assert_eq!(source.min_revision(), revision);
    // The request names the revision: the service waits for its index to reach it.
    let (status, _, body) = send(&app, "GET", ORG, Some("u12")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The new answer is cached at the new revision; a lower minimum changes nothing.
    source.raise_min_revision(1);
    assert_eq!(
        send(&app, "GET", ORG, Some("u12")).await.0,
        StatusCode::FORBIDDEN
    );
    let m = source.metrics().snapshot();
    assert_eq!((m.requests, m.cache_hits, m.failures()), (2, 2, 0));
}

/// `u<id>` is user `id`'s session, answered at once (`resolve_now`): the layer then
/// awaits only the remote source.
struct SyncSessions;

impl PrincipalResolver for SyncSessions {
    fn resolve_now(&self, parts: &Parts) -> Option<Result<Principal, ResolveError>> {
        let user = bearer(&parts.headers)
            .ok()?
            .and_then(|s| s.strip_prefix('u'))
            .and_then(|id| id.parse().ok())?;
        Some(Ok(Principal::Session {
            user,
            superuser: Superuser::None,
            staff: false,
            sso_ok: true,
        }))
    }
}

#[tokio::test]
async fn a_resolver_that_answers_at_once_with_the_remote_source() {
    let service = Service::start().await;
    let source = service.source(Duration::ZERO);
    let policy = policy();
    let app = router().route_layer(ScopegateLayer::new(
        policy.clone(),
        manifest(&policy),
        source.clone(),
        SyncSessions,
    ));
    let (status, _, body) = send(&app, "GET", ORG, Some("u12")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "OrganizationDetailsEndpoint allowed")
    );
    assert_eq!(
        send(&app, "GET", ORG, Some("u14")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(source.metrics().snapshot().requests, 2);
}

#[tokio::test]
async fn a_revision_the_service_cannot_reach_fails_closed() {
    let service = Service::start().await;
    let source = service.source(Duration::ZERO);
    let revision = service.store.revision().await.unwrap();
    source.raise_min_revision(revision + 1_000);
    let app = protected(source.clone());
    let (status, _, _) = send(&app, "GET", ORG, Some("u12")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(source.metrics().snapshot().behind, 1);
}

#[tokio::test]
async fn a_wrong_service_token_fails_closed() {
    let service = Service::start().await;
    let source =
        Arc::new(RemoteSource::new(&service.url(), "sg_wrong", options(Duration::ZERO)).unwrap());
    let app = protected(source.clone());
    let (status, _, _) = send(&app, "GET", ORG, Some("u12")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(source.metrics().snapshot().status, 1);
}

/// A stand-in service answering every request with `router`.
async fn stand_in(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test]
async fn garbage_and_silence_fail_closed() {
    let garbage = stand_in(Router::new().fallback(|| async { "<html>hello</html>" })).await;
    let lying = stand_in(Router::new().fallback(|| async {
        r#"{"revision": 1, "allowed": true, "status": 200, "reason": "not_a_member"}"#
    }))
    .await;
    let silent = stand_in(Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "late"
    }))
    .await;
    let cases = [
        (garbage, Duration::from_secs(5)),
        (lying, Duration::from_secs(5)),
        (silent, Duration::from_millis(200)),
    ];
    let mut sources = Vec::new();
    for (addr, timeout) in cases {
        let options = RemoteOptions {
            timeout,
            ..RemoteOptions::default()
        };
        let source = Arc::new(RemoteSource::new(&format!("http://{addr}"), "t", options).unwrap());
        let (status, _, _) = send(&protected(source.clone()), "GET", ORG, Some("u12")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        sources.push(source.metrics().snapshot());
    }
    assert_eq!(sources[0].body, 1);
    assert_eq!(sources[1].body, 1);
    assert_eq!(sources[2].timeouts, 1);
    // A failure is not cached: the next request asks again.
    assert!(sources.iter().all(|m| m.cache_hits == 0));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_unreachable_service_is_one_log_line_without_the_token() {
    // A port nothing listens on: bound, then closed.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let token = "sg_service_secret_never_logged";
    let source = Arc::new(
        RemoteSource::new(&format!("http://{addr}"), token, RemoteOptions::default()).unwrap(),
    );
    let app = protected(source.clone());
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let (status, _, _) = send(&app, "GET", ORG, Some("u12"))
        .with_subscriber(subscriber)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(source.metrics().snapshot().unreachable, 1);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("fail closed"), "{log}");
    assert!(
        lines[0].contains(&format!("http://{addr}/v1/check")),
        "{log}"
    );
    assert!(lines[0].contains("cannot connect"), "{log}");
    assert!(!log.contains(token), "{log}");
    assert!(!format!("{source:?}").contains(token));
}
