//! An example of scopegate-tower: a small multi-tenant API — organizations' projects and
//! their session replays — protected in-process by [`ScopegateLayer`] over a SQLite world
//! ([`Replica`]), with scopegate's stored tokens as credentials ([`Replica::tokens`]).
//!
//! The handlers hold no authorization code: every route is declared in `manifest.toml`,
//! the layer decides before any handler runs, and replay routes are guarded by Sentry's
//! replay allowlist (`granular_resource = "replay"`). `tests/app.rs` checks the router
//! against the manifest (route coverage) and the behaviour end to end.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use scopegate_core::{Manifest, Policy, Source, WorldDoc};
use scopegate_store::{Actor, NewToken, Store, TokenKind};
use scopegate_tower::coverage::RecordedRoutes;
use scopegate_tower::{Authorized, Replica, ReplicaOptions, RouteRecorder, ScopegateLayer};
use serde_json::{json, Value};

/// The application's endpoint manifest.
pub const MANIFEST: &str = include_str!("../manifest.toml");

/// The world the example seeds an empty store with (the repository's example world: the
/// `acme` organization with its replay allowlist on, and `globex`).
pub const WORLD: &str = include_str!("../../world.json");

/// Any error of the example's setup.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Replay ids by (organization slug, project slug).
type Replays = BTreeMap<(String, String), Vec<String>>;

/// The application's own data: projects and their replays, in memory.
#[derive(Debug, Clone, Default)]
pub struct AppData {
    replays: Arc<RwLock<Replays>>,
}

impl AppData {
    /// Two replays for every project of `world`.
    pub fn seeded(world: &WorldDoc) -> AppData {
        let mut replays = BTreeMap::new();
        for p in &world.projects {
            let Some(org) = world.organizations.iter().find(|o| o.id == p.organization) else {
                continue;
            };
            let ids = (1..=2).map(|i| format!("{}-{i}", p.slug)).collect();
            replays.insert((org.slug.clone(), p.slug.clone()), ids);
        }
        AppData {
            replays: Arc::new(RwLock::new(replays)),
        }
    }
}

/// The routes, registered through a [`RouteRecorder`] so that tests can check them
/// against the manifest.
pub fn routes() -> (Router<AppData>, RecordedRoutes<AppData>) {
    RouteRecorder::new()
        .route(
            "/api/0/organizations/{organization_id_or_slug}/projects/",
            get(projects),
        )
        .route(
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/",
            get(project).put(project),
        )
        .route(
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/replays/",
            get(replays),
        )
        .route(
            "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/replays/{replay_id}/",
            get(replay).delete(delete_replay),
        )
        .finish()
}

/// The policy and the compiled manifest.
pub fn policy_and_manifest() -> Result<(Arc<Policy>, Arc<Manifest>), Error> {
    let policy = Policy::sentry();
    let manifest = Manifest::load(&Source::new("manifest.toml", MANIFEST), &policy)
        .map_err(|d| d.to_string())?;
    Ok((Arc::new(policy), Arc::new(manifest)))
}

/// The protected application over `store`: the ten lines of the README.
pub async fn protected(
    store: Arc<dyn Store>,
    data: AppData,
) -> Result<(Router, Arc<Replica>), Error> {
    let (policy, manifest) = policy_and_manifest()?;
    let replica = Arc::new(Replica::start(store, policy.clone(), ReplicaOptions::default()).await?);
    let layer = ScopegateLayer::new(policy, manifest, replica.clone(), replica.tokens());
    let (router, _) = routes();
    Ok((router.route_layer(layer).with_state(data), replica))
}

/// The same routes with no authorization at all: the baseline of the load benchmark.
/// Never serve this.
pub fn unprotected(data: AppData) -> Router {
    routes().0.with_state(data)
}

/// Imports [`WORLD`] into `store` when it is empty. Returns the world.
pub async fn seed(store: &dyn Store) -> Result<WorldDoc, Error> {
    let doc: WorldDoc = serde_json::from_str(WORLD)?;
    let (policy, _) = policy_and_manifest()?;
    match store.import_world(&doc, &policy, &Actor::system()).await {
        Ok(_) | Err(scopegate_store::StoreError::NotEmpty { .. }) => Ok(doc),
        Err(e) => Err(e.into()),
    }
}

/// Creates a personal token of user `user` with `scopes`; returns its secret.
pub async fn token(store: &dyn Store, user: i64, scopes: &[&str]) -> Result<String, Error> {
    let (_, secret) = store
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(user),
                organization_id: None,
                name: Some("example".into()),
                scopes: scopes.iter().map(ToString::to_string).collect(),
            },
            &Actor::user(user),
        )
        .await?;
    Ok(secret.expose().to_string())
}

async fn projects(State(data): State<AppData>, Path(org): Path<String>) -> Json<Value> {
    let replays = data.replays.read().unwrap_or_else(PoisonError::into_inner);
    let slugs: Vec<&String> = replays
        .keys()
        .filter(|(o, _)| *o == org)
        .map(|(_, p)| p)
        .collect();
    Json(json!({ "organization": org, "projects": slugs }))
}

async fn project(
    Path((org, project)): Path<(String, String)>,
    Extension(auth): Extension<Authorized>,
) -> Json<Value> {
    Json(json!({
        "organization": org,
        "project": project,
        "grant": auth.verdict.grant.map(|g| g.path.as_str()),
    }))
}

async fn replays(
    State(data): State<AppData>,
    Path((org, project)): Path<(String, String)>,
) -> Json<Value> {
    let replays = data.replays.read().unwrap_or_else(PoisonError::into_inner);
    let ids = replays.get(&(org, project)).cloned().unwrap_or_default();
    Json(json!({ "replays": ids }))
}

async fn replay(
    State(data): State<AppData>,
    Path((org, project, id)): Path<(String, String, String)>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let replays = data.replays.read().unwrap_or_else(PoisonError::into_inner);
    match replays.get(&(org, project)) {
        Some(ids) if ids.contains(&id) => Ok(Json(json!({ "id": id }))),
        _ => Err(not_found()),
    }
}

async fn delete_replay(
    State(data): State<AppData>,
    Path((org, project, id)): Path<(String, String, String)>,
) -> Result<StatusCode, (StatusCode, Json<Value>)> {
    let mut replays = data.replays.write().unwrap_or_else(PoisonError::into_inner);
    let ids = replays.get_mut(&(org, project)).ok_or_else(not_found)?;
    let before = ids.len();
    ids.retain(|r| *r != id);
    if ids.len() == before {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

fn not_found() -> (StatusCode, Json<Value>) {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "detail": "The requested resource does not exist" })),
    )
}
