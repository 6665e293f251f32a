//! World sources: where the layer's decisions get the world they read.
//!
//! One async trait, [`WorldSource`], three implementations: [`StaticWorld`] (a world
//! document, for tests), [`crate::Replica`] (an in-process read-only index kept current
//! from scopegate's store) and [`crate::RemoteSource`] (a scopegate service's `/v1/check`
//! over HTTP, with a bounded cache and the revision protocol).
//!
//! A source that cannot answer returns a [`SourceError`]; the layer then refuses the
//! request (503, fail closed). A source never turns its own failure into an allow.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scopegate_core::{Decision, Engine, Grant, Manifest, Policy, Reason, Request, World, WorldDoc};

/// What a source answers about one request: the decision's outcome, as the layer needs it
/// to pass the request on or answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Why (the stable reason; [`Reason::Allowed`] is the only allow).
    pub reason: Reason,
    /// The HTTP status of the decision (200 when allowed).
    pub status: u16,
    /// The `WWW-Authenticate` challenge of an `insufficient_scope` denial.
    pub challenge: Option<String>,
    /// The grant path, when allowed and decided in-process (a remote verdict has none).
    pub grant: Option<Grant>,
}

impl Verdict {
    /// The verdict of an in-process decision.
    pub fn of(decision: &Decision, policy: &Policy) -> Verdict {
        Verdict {
            reason: decision.reason,
            status: decision.status(),
            challenge: decision.challenge_header(policy),
            grant: decision.grant,
        }
    }

    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        self.reason == Reason::Allowed
    }
}

/// What a decision is made with: the layer's policy and manifest.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The application's manifest, compiled against the policy.
    pub manifest: &'a Manifest,
}

impl DecisionContext<'_> {
    /// Decides `request` over `world` with the engine.
    pub fn decide(&self, world: &World, request: &Request) -> Verdict {
        let decision = Engine::new(self.policy, self.manifest, world).decide(request);
        Verdict::of(&decision, self.policy)
    }
}

/// A source that cannot answer now. The layer answers 503 with a JSON body and counts it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The replica has not synchronized with its store for longer than its bound.
    #[error("the replica is stale: last synchronized {age:?} ago (bound {bound:?})")]
    Stale {
        /// Time since the last successful rebuild.
        age: Duration,
        /// The replica's bound.
        bound: Duration,
    },
    /// The remote service could not be reached or answered with something unusable.
    #[error("the remote decision service failed: {0}")]
    Remote(String),
}

/// Where decisions get their world from. Implementations must fail closed: any doubt is an
/// error, never an allow.
///
/// A source implements one of the two methods: [`WorldSource::decide_now`] when it decides
/// without waiting (in-process, with [`DecisionContext::decide`]: the layer then makes no
/// allocation for its future), [`WorldSource::decide`] when it must wait (the network).
#[async_trait]
pub trait WorldSource: Send + Sync + 'static {
    /// Decides `request` at once, or `None` (the default) when the source must wait: the
    /// layer then awaits [`WorldSource::decide`].
    fn decide_now(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Option<Result<Verdict, SourceError>> {
        let _ = (cx, request);
        None
    }

    /// Decides `request`, waiting if need be. The default answers with
    /// [`WorldSource::decide_now`] (and fails closed for a source that implements neither).
    async fn decide(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Result<Verdict, SourceError> {
        self.decide_now(cx, request).unwrap_or_else(|| {
            Err(SourceError::Remote(
                "the source implements neither decide_now nor decide".into(),
            ))
        })
    }
}

/// A fixed world, for tests and examples: a [`WorldDoc`] (the JSON of `scopegate check
/// --world`) indexed once.
#[derive(Debug, Clone)]
pub struct StaticWorld {
    world: Arc<World>,
}

/// A world document that does not build against the policy.
#[derive(Debug, thiserror::Error)]
pub enum StaticWorldError {
    /// Not JSON of a world document.
    #[error("world: {0}")]
    Json(#[from] serde_json::Error),
    /// A world that does not fit the policy.
    #[error("world: {0}")]
    World(String),
}

impl StaticWorld {
    /// Indexes `doc` against `policy`.
    pub fn new(doc: &WorldDoc, policy: &Policy) -> Result<StaticWorld, StaticWorldError> {
        let world = World::build(doc, policy).map_err(|e| {
            StaticWorldError::World(
                e.0.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        Ok(StaticWorld {
            world: Arc::new(world),
        })
    }

    /// Parses a world document (JSON) and indexes it against `policy`.
    pub fn from_json(text: &str, policy: &Policy) -> Result<StaticWorld, StaticWorldError> {
        let doc: WorldDoc = serde_json::from_str(text)?;
        StaticWorld::new(&doc, policy)
    }
}

/// A shared source (the application keeps a handle, e.g. to raise a
/// [`crate::RemoteSource`]'s minimum revision or read a [`crate::Replica`]'s status).
#[async_trait]
impl<T: WorldSource> WorldSource for Arc<T> {
    fn decide_now(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Option<Result<Verdict, SourceError>> {
        (**self).decide_now(cx, request)
    }

    async fn decide(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Result<Verdict, SourceError> {
        (**self).decide(cx, request).await
    }
}

impl WorldSource for StaticWorld {
    fn decide_now(
        &self,
        cx: DecisionContext<'_>,
        request: &Request,
    ) -> Option<Result<Verdict, SourceError>> {
        Some(Ok(cx.decide(&self.world, request)))
    }
}
