//! The service's state: [`AppState`], one `Arc` of [`Shared`] (the store, the policy, the
//! service's and the decision API's manifests, the decision index, the decision log, the
//! metrics), built by [`AppState::new`] and the `with_*` builders. Start-up, which fills
//! the index before anything is served, is [`crate::launch`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scopegate_core::{Manifest, Policy, Source};
use scopegate_store::Store;

use crate::{REQUEST_TIMEOUT, SERVICE_MANIFEST};

/// The one shared state of the service: one `Arc`, so that the per-request clones that
/// axum makes of it (each middleware, each `State` extractor) are one atomic increment.
/// Its fields are [`Shared`]'s, read through `Deref`.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The policy.
    pub policy: Arc<Policy>,
    /// The service's manifest, compiled against the policy.
    pub manifest: Arc<Manifest>,
    /// Endpoint name by route path.
    pub endpoints: Arc<HashMap<String, String>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The OpenAPI document, rendered.
    pub openapi: Arc<String>,
    /// The in-memory index of the stored world the decision API reads.
    pub index: Arc<crate::index::LiveIndex>,
    /// The application's manifest the decision API decides with (`serve --manifest`; the
    /// service's own manifest by default).
    pub decision_manifest: Arc<Manifest>,
    /// The policy version written to the decision log ([`policy_version`]: a hash of the
    /// canonical form of the policy and the decision manifest).
    pub policy_version: Arc<str>,
    /// The decision log, when on (`serve --decision-log`).
    pub decision_log: Option<Arc<crate::decision_log::DecisionLog>>,
    /// The candidate every `/v1/` decision is also made under, when on
    /// (`serve --shadow-policy` / `--shadow-manifest`; [`crate::shadow`]).
    pub shadow: Option<Arc<crate::shadow::Shadow>>,
    /// How long a read may take ([`crate::deadline`]); [`REQUEST_TIMEOUT`] by default.
    pub request_timeout: Duration,
    /// How long an organization stays pending deletion before the background task removes
    /// it ([`crate::deletion::DEFAULT_GRACE`] unless set).
    pub org_deletion_grace: std::time::Duration,
    /// Whether the service is shutting down ([`crate::shutdown`]; `/readyz` reads it).
    pub lifecycle: Arc<crate::shutdown::Lifecycle>,
    /// How long a `/v1/` request naming `at_least_revision` waits for the index to reach
    /// it before 503 ([`crate::revision`]; `serve --revision-wait`, 2 s by default).
    pub revision_wait: Duration,
    /// How often the whole index is rebuilt aside and compared with the incrementally kept
    /// one ([`crate::index::RESYNC_INTERVAL`] unless set; `serve --resync-interval`).
    pub resync_interval: Duration,
    /// Bench only: mount `POST /v1/bench/noop` ([`crate::routes::bench_noop`];
    /// `serve --bench-noop-route`).
    pub bench_noop_route: bool,
    /// The management plane the `/api/` routes and the background tasks run on
    /// ([`crate::plane`]); `None`: they run where they are called.
    pub management: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("policy", &self.policy.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.store)
            .field("policy", &self.policy.name)
            .finish_non_exhaustive()
    }
}

/// Building the state failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The service manifest does not compile against the policy.
    #[error("the service manifest does not compile against policy `{policy}`:\n{diagnostics}")]
    Manifest {
        /// The policy's name.
        policy: String,
        /// The rendered problems.
        diagnostics: String,
    },
    /// The OpenAPI document could not be rendered.
    #[error("cannot render the OpenAPI document: {0}")]
    OpenApi(String),
    /// The decision index could not be built.
    #[error("cannot build the decision index: {0}")]
    Index(#[from] crate::index::IndexError),
}

impl AppState {
    /// The state over `store` and `policy`, with the built-in service manifest.
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Result<AppState, StateError> {
        let source = Source::new("crates/scopegate-server/manifest.toml", SERVICE_MANIFEST);
        let manifest = Manifest::load(&source, &policy).map_err(|d| StateError::Manifest {
            policy: policy.name.clone(),
            diagnostics: d.to_string(),
        })?;
        let endpoints = manifest
            .endpoints
            .iter()
            .filter_map(|e| Some((e.path.clone()?, e.name.clone())))
            .collect();
        let openapi = crate::openapi::document(&manifest, &policy)
            .to_json()
            .map_err(|e| StateError::OpenApi(e.to_string()))?;
        let index = crate::index::LiveIndex::new(crate::index::Index::empty(&policy)?);
        let policy_version = policy_version(&policy, &manifest);
        let manifest = Arc::new(manifest);
        let shared = Shared {
            openapi: Arc::new(openapi),
            store,
            policy: Arc::new(policy),
            decision_manifest: manifest.clone(),
            manifest,
            endpoints: Arc::new(endpoints),
            metrics: Arc::default(),
            index: Arc::new(index),
            policy_version: policy_version.into(),
            decision_log: None,
            shadow: None,
            request_timeout: REQUEST_TIMEOUT,
            org_deletion_grace: crate::deletion::DEFAULT_GRACE,
            lifecycle: Arc::default(),
            bench_noop_route: false,
            management: None,
            revision_wait: crate::revision::DEFAULT_REVISION_WAIT,
            resync_interval: crate::index::RESYNC_INTERVAL,
        };
        Ok(AppState {
            shared: Arc::new(shared),
        })
    }

    /// Decides `/v1/` requests with `manifest` (compiled against this state's policy).
    #[must_use]
    pub fn with_decision_manifest(mut self, manifest: Manifest) -> AppState {
        let shared = Arc::make_mut(&mut self.shared);
        shared.policy_version = policy_version(&shared.policy, &manifest).into();
        shared.decision_manifest = Arc::new(manifest);
        self
    }

    /// Shadows every `/v1/` decision ([`crate::shadow`]) with the candidate `policy` (`None`:
    /// this state's) and `manifest` (compiled against the candidate policy). Call after
    /// [`AppState::with_decision_manifest`] and before the index is built.
    #[must_use]
    pub fn with_shadow(mut self, policy: Option<Policy>, manifest: Manifest) -> AppState {
        let shadow =
            crate::shadow::Shadow::new(&self.policy, &self.decision_manifest, policy, manifest);
        if let Some(policy) = shadow.world_policy() {
            self.index.shadow_under(policy.clone());
        }
        Arc::make_mut(&mut self.shared).shadow = Some(Arc::new(shadow));
        self
    }

    /// Removes organizations `grace` after their `DELETE` (default one day).
    #[must_use]
    pub fn with_org_deletion_grace(mut self, grace: std::time::Duration) -> AppState {
        Arc::make_mut(&mut self.shared).org_deletion_grace = grace;
        self
    }

    /// Logs every `/v1/` decision and `who-can` answer as `options` say: opens the
    /// destination and starts the log's writer ([`crate::decision_log`]), counting into this
    /// state's metrics. Fails when the destination cannot be opened.
    pub fn with_decision_log(
        mut self,
        options: &crate::decision_log::Options,
    ) -> std::io::Result<AppState> {
        let log = crate::decision_log::DecisionLog::start(
            options,
            self.policy.clone(),
            self.metrics.decision_log_counters(),
        )?;
        Arc::make_mut(&mut self.shared).decision_log = Some(Arc::new(log));
        Ok(self)
    }

    /// Bench only: also mounts `POST /v1/bench/noop` ([`crate::routes::bench_noop`]).
    #[must_use]
    pub fn with_bench_noop_route(mut self) -> AppState {
        Arc::make_mut(&mut self.shared).bench_noop_route = true;
        self
    }

    /// Runs the management API and the background tasks on `plane` ([`crate::plane`]).
    #[must_use]
    pub fn with_management(mut self, plane: tokio::runtime::Handle) -> AppState {
        Arc::make_mut(&mut self.shared).management = Some(plane);
        self
    }

    /// Waits up to `wait` for the index to reach a requested `at_least_revision`.
    #[must_use]
    pub fn with_revision_wait(mut self, wait: Duration) -> AppState {
        Arc::make_mut(&mut self.shared).revision_wait = wait;
        self
    }

    /// Resynchronizes the whole index every `every` (the sync loop).
    #[must_use]
    pub fn with_resync_interval(mut self, every: Duration) -> AppState {
        Arc::make_mut(&mut self.shared).resync_interval = every;
        self
    }

    /// Cuts reads short after `timeout` ([`crate::deadline`]).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> AppState {
        Arc::make_mut(&mut self.shared).request_timeout = timeout;
        self
    }

    /// Reduces the stored org auth tokens' scopes to the policy's `org_token_scopes` (call
    /// once at start, before serving): one transaction, one `org-auth-token.edit` audit
    /// entry by `system` per changed token. Returns how many changed.
    pub async fn reduce_org_token_scopes(&self) -> Result<u64, scopegate_store::StoreError> {
        let allowed: Vec<String> = self
            .policy
            .scopes
            .sorted_names(self.policy.org_token_scopes)
            .into_iter()
            .map(str::to_string)
            .collect();
        self.store
            .reduce_org_token_scopes(&allowed, &scopegate_store::Actor::system())
            .await
    }

    /// Builds the decision index from the store (call once before serving).
    pub async fn load_index(&self) -> Result<(), crate::index::IndexError> {
        crate::index::rebuild(self, crate::metrics::Trigger::Startup).await
    }
}

/// The policy version: the first 16 hex digits of the SHA-256 of the compact JSON of
/// [`scopegate_core::canonical::canonical`] (the policy and `manifest` as decisions read them,
/// whatever their format, order, comments or names).
pub fn policy_version(policy: &Policy, manifest: &Manifest) -> String {
    use sha2::Digest;
    let canonical = scopegate_core::canonical::canonical(policy, manifest).to_string();
    let digest = sha2::Sha256::digest(canonical.as_bytes());
    hex::encode(digest.get(..8).unwrap_or_default())
}
