//! Start-up, in one place and one order: open the store (which migrates it) → build the
//! state → reduce stored org tokens to the policy → build the decision index → start the
//! change feed and the deletion task → bind the listener → serve.
//!
//! The steps are typed so that they cannot be reordered: [`open`] gives an [`Opened`]
//! store (seed it here, e.g. `serve --demo`), [`Opened::start`] gives a [`Started`] server
//! whose index is built and whose listener is bound, and only a [`Started`] server
//! [`serves`](Started::serve). So a server never answers `/v1/` from an empty index (and
//! `/readyz` says not ready until the index is built, [`crate::index::LiveIndex::is_built`]).
//! [`launch`] runs every step.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scopegate_core::{Manifest, Policy};
use scopegate_store::{redact_url, Store, StoreError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::index::{IndexError, LiveIndex};
use crate::shutdown::Outcome;
use crate::state::{AppState, StateError};

/// What a server is started with.
#[derive(Debug)]
pub struct Config {
    /// The database: `sqlite://FILE` or `postgres://…`.
    pub database_url: String,
    /// The address to listen on (port 0 picks a free port).
    pub listen: String,
    /// The policy.
    pub policy: Policy,
    /// The manifest `/v1/` decides with (the service's own by default).
    pub decision_manifest: Option<Manifest>,
    /// The decision log, when on.
    pub decision_log: Option<crate::decision_log::Options>,
    /// Shadow mode, when on: the candidate policy (`None`: the live one) and manifest
    /// (compiled against it) every `/v1/` decision is also made under ([`crate::shadow`]).
    pub shadow: Option<(Option<Policy>, Manifest)>,
    /// How long an organization stays pending deletion.
    pub org_deletion_grace: Duration,
    /// A second address serving only `/metrics` (`serve --metrics-listen`).
    pub metrics_listen: Option<String>,
    /// Bench only: mount `POST /v1/bench/noop` (`serve --bench-noop-route`).
    pub bench_noop_route: bool,
    /// How long a `/v1/` request naming `at_least_revision` waits (`serve --revision-wait`).
    pub revision_wait: Duration,
    /// How often the index is fully resynchronized (`serve --resync-interval`; a zero
    /// interval is taken as [`crate::index::RESYNC_INTERVAL`]).
    pub resync_interval: Duration,
    /// The management plane to run the store, the `/api/` routes and the background tasks
    /// on ([`crate::plane`]); `None`: the current runtime.
    pub management: Option<tokio::runtime::Handle>,
}

/// A step of start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The store could not be opened or migrated.
    #[error("cannot open `{url}`")]
    Open {
        /// The database URL, password redacted.
        url: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The state could not be built.
    #[error(transparent)]
    State(#[from] StateError),
    /// Stored org tokens could not be reduced to the policy's scopes.
    #[error("cannot reduce the org auth tokens' scopes to the policy's")]
    ReduceTokens(#[source] StoreError),
    /// The decision index could not be built.
    #[error("cannot build the decision index")]
    Index(#[source] IndexError),
    /// The decision log's destination could not be opened.
    #[error("cannot open the decision log `{destination}`")]
    DecisionLog {
        /// The destination.
        destination: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listener could not be bound.
    #[error("cannot listen on `{listen}`")]
    Bind {
        /// The address asked for.
        listen: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
    /// A start-up step on the management plane panicked, or the plane stopped under it.
    #[error("a start-up step on the management plane failed")]
    Plane(#[source] tokio::task::JoinError),
}

/// An opened, migrated store, nothing built or served yet.
#[derive(Debug)]
pub struct Opened {
    store: Arc<dyn Store>,
    config: Config,
}

/// Opens (and migrates) the store of `config`.
///
/// With a management plane, the store is opened on it: PostgreSQL's sockets are then driven
/// by the plane's runtime, and SQLite's connection threads start from (and share the
/// priority of) the plane's threads.
pub async fn open(config: Config) -> Result<Opened, LaunchError> {
    let url = config.database_url.clone();
    let store = crate::plane::run(config.management.as_ref(), async move {
        scopegate_store::connect(&url).await
    })
    .await
    .map_err(LaunchError::Plane)?
    .map_err(|source| LaunchError::Open {
        url: redact_url(&config.database_url),
        source,
    })?;
    Ok(Opened { store, config })
}

impl Opened {
    /// The store, to seed before the index is built.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Builds the state and its index, starts the change feed and the deletion task, and
    /// binds the listener.
    pub async fn start(self) -> Result<Started, LaunchError> {
        let Opened { store, config } = self;
        let resync = if config.resync_interval.is_zero() {
            crate::index::RESYNC_INTERVAL
        } else {
            config.resync_interval
        };
        let mut state = AppState::new(store, config.policy)?
            .with_org_deletion_grace(config.org_deletion_grace)
            .with_revision_wait(config.revision_wait)
            .with_resync_interval(resync);
        if let Some(manifest) = config.decision_manifest {
            state = state.with_decision_manifest(manifest);
        }
        if let Some((policy, manifest)) = config.shadow {
            state = state.with_shadow(policy, manifest);
        }
        if let Some(options) = &config.decision_log {
            state =
                state
                    .with_decision_log(options)
                    .map_err(|source| LaunchError::DecisionLog {
                        destination: match &options.destination {
                            crate::decision_log::Destination::Stdout => "stdout".into(),
                            crate::decision_log::Destination::File(p) => p.display().to_string(),
                        },
                        source,
                    })?;
        }
        if config.bench_noop_route {
            state = state.with_bench_noop_route();
        }
        if let Some(plane) = &config.management {
            state = state.with_management(plane.clone());
        }
        // Org auth tokens hold exactly the policy's org token scopes (security issue 11):
        // tokens stored with more are reduced, each change audited.
        let reduced_tokens = state
            .reduce_org_token_scopes()
            .await
            .map_err(LaunchError::ReduceTokens)?;
        // On the management plane, with the store's threads (`plane`'s module documentation).
        let loading = state.clone();
        crate::plane::run(config.management.as_ref(), async move {
            loading.load_index().await
        })
        .await
        .map_err(LaunchError::Plane)?
        .map_err(LaunchError::Index)?;
        let tasks = {
            // Spawned on the management plane when there is one (no await in this block).
            let _plane = config
                .management
                .as_ref()
                .map(tokio::runtime::Handle::enter);
            vec![
                LiveIndex::spawn_sync(&state),
                crate::deletion::spawn(&state),
            ]
        };
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| LaunchError::Bind {
                    listen: config.listen.clone(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| LaunchError::Bind {
            listen: config.listen,
            source,
        })?;
        let metrics = match config.metrics_listen {
            Some(listen) => {
                Some(
                    TcpListener::bind(&listen)
                        .await
                        .map_err(|source| LaunchError::Bind {
                            listen: listen.clone(),
                            source,
                        })?,
                )
            }
            None => None,
        };
        Ok(Started {
            state,
            listener,
            addr,
            metrics,
            reduced_tokens,
            tasks,
        })
    }
}

/// A server ready to serve: index built, change feed running, listener bound.
#[derive(Debug)]
pub struct Started {
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
    metrics: Option<TcpListener>,
    reduced_tokens: u64,
    tasks: Vec<JoinHandle<()>>,
}

impl Started {
    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address serving only `/metrics`, when one was asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The state served.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// How many stored org tokens had their scopes reduced at start.
    pub fn reduced_tokens(&self) -> u64 {
        self.reduced_tokens
    }

    /// Serves until `shutdown` resolves, then shuts down as [`crate::shutdown`] says
    /// (`/readyz` false, in-flight requests finish within `grace`, the decision log is
    /// flushed) and stops the background tasks.
    pub async fn serve(
        self,
        grace: Duration,
        delay: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Outcome, LaunchError> {
        let options = crate::shutdown::Options {
            grace,
            delay,
            metrics: self.metrics,
        };
        let served = crate::shutdown::run(self.listener, self.state, options, shutdown).await;
        for task in &self.tasks {
            task.abort();
        }
        served.map_err(LaunchError::Serve)
    }
}

/// Every step: open, start, serve until `shutdown` (with the default shutdown grace).
pub async fn launch(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Outcome, LaunchError> {
    open(config)
        .await?
        .start()
        .await?
        .serve(crate::shutdown::DEFAULT_GRACE, Duration::ZERO, shutdown)
        .await
}
