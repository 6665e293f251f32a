//! Side-by-side decision benchmarks: scopegate against Cedar (`cedar-policy`), casbin and
//! regorus (Rego) on a Sentry-shaped world (BENCHMARKS.md), and against a hand-written floor.
//!
//! [`Setup`] generates the world, manifest and requests ([`world`]), derives the plain facts
//! the peers are given ([`facts`]), and builds each peer's model in its own language
//! ([`cedar`] in two encodings, [`casbin`], [`rego`] with regorus's interpreter and its
//! bytecode VM) and the [`floor`]. Every engine decides pre-built requests in its own
//! native form; [`Setup::check_agreement`] compares every peer's answer with scopegate's on
//! every compared request, and its reason wherever the peer can name one. [`measure`]
//! times batches and reports medians.

pub mod casbin;
pub mod cedar;
pub mod facts;
pub mod floor;
pub mod measure;
pub mod rego;
pub mod world;

use std::time::Instant;

use anyhow::Context;
use scopegate_core::{Engine, Manifest, Policy, Reason, Request, RequestDoc, World, WorldDoc};

use crate::facts::{Facts, PeerRequest};

/// Everything a benchmark run needs, built once.
#[derive(Debug)]
pub struct Setup {
    /// The Sentry policy.
    pub policy: Policy,
    /// The manifest, compiled.
    pub manifest: Manifest,
    /// Where the manifest came from.
    pub manifest_origin: String,
    /// The world document.
    pub world_doc: WorldDoc,
    /// scopegate's world index.
    pub world: World,
    /// Every request, pre-parsed for scopegate.
    pub requests: Vec<Request>,
    /// Every request as its wire document (docs/wire.md).
    pub request_docs: Vec<RequestDoc>,
    /// Every request as its wire JSON, for timing parse + decide.
    pub request_json: Vec<String>,
    /// The plain facts the peers are given.
    pub facts: Facts,
    /// The subset every peer decides (indexes into `requests`).
    pub peer_requests: Vec<PeerRequest>,
}

/// Where one peer disagrees with scopegate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The peer.
    pub engine: &'static str,
    /// Index into [`Setup::requests`].
    pub index: usize,
    /// scopegate's answer.
    pub scopegate: bool,
    /// The peer's answer.
    pub peer: bool,
    /// When the answers agree but the reasons do not: scopegate's reason and the peer's.
    pub reasons: Option<(String, String)>,
}

/// The outcome classes the medians are reported by.
pub const OUTCOMES: [&str; 4] = ["allowed", "token_gate", "membership", "object"];

/// The outcome class of a scopegate reason on a compared request: allowed, denied at the
/// token gate (before any lookup), denied on membership (not a member, disabled over the
/// member limit), denied on the object (missing scope, project out of reach, replay
/// allowlist).
pub fn outcome_class(reason: Reason) -> &'static str {
    match reason {
        Reason::Allowed => "allowed",
        Reason::InsufficientScope => "token_gate",
        Reason::NotAMember
        | Reason::MemberDisabledOverLimit
        | Reason::SsoRequired
        | Reason::TwoFactorRequired => "membership",
        _ => "object",
    }
}

/// Whether Cedar's reason (see [`cedar::CedarModel::decide_with_reason`]) is compatible
/// with scopegate's.
pub fn cedar_reason_agrees(scopegate: &str, cedar: &str) -> bool {
    match cedar {
        "object_check" => matches!(scopegate, "missing_scope" | "no_project_access"),
        "object_check_or_granular" => matches!(
            scopegate,
            "missing_scope" | "no_project_access" | "granular_access_denied"
        ),
        other => other == scopegate,
    }
}

/// The peers' models and their pre-built requests.
#[derive(Debug)]
pub struct Peers {
    /// Cedar, one policy per scope, one policy set per action.
    pub cedar: cedar::CedarModel,
    /// Cedar requests, in `peer_requests` order.
    pub cedar_requests: Vec<cedar::CedarRequest>,
    /// Cedar, the `containsAny` form, one policy set per action.
    pub cedar_any: cedar::CedarModel,
    /// Requests for `cedar_any`.
    pub cedar_any_requests: Vec<cedar::CedarRequest>,
    /// The hand-written floor.
    pub floor: floor::Floor,
    /// Floor requests resolved to dense ids.
    pub floor_requests: Vec<floor::FloorRequest>,
    /// casbin.
    pub casbin: casbin::CasbinModel,
    /// casbin requests.
    pub casbin_requests: Vec<casbin::CasbinRequest>,
    /// regorus.
    pub rego: rego::RegoModel,
    /// regorus inputs.
    pub rego_requests: Vec<regorus::Value>,
    /// How long each peer's model and requests took to build.
    pub build_times: Vec<(&'static str, std::time::Duration)>,
}

impl Setup {
    /// Generates a world of `size` from `seed`.
    pub fn new(size: world::Size, seed: u64) -> anyhow::Result<Setup> {
        let policy = Policy::sentry();
        let (manifest_origin, manifest) = world::manifest(&policy)?;
        let world_doc = world::world(size, seed);
        let world = World::build(&world_doc, &policy).context("generated world")?;
        let docs = world::requests(&world_doc, &manifest, &policy, size, seed);
        let facts = Facts::derive(&world_doc, &policy, &manifest)?;
        let peer_requests = facts.peer_requests(&docs);
        let request_json = docs
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        let requests = docs
            .iter()
            .map(|d| Request::from_doc(d.clone(), &policy))
            .collect::<Result<Vec<_>, _>>()
            .context("generated request")?;
        Ok(Setup {
            policy,
            manifest,
            manifest_origin,
            world_doc,
            world,
            requests,
            request_docs: docs,
            request_json,
            facts,
            peer_requests,
        })
    }

    /// The scopegate engine.
    pub fn engine(&self) -> Engine<'_> {
        Engine::new(&self.policy, &self.manifest, &self.world)
    }

    /// scopegate's requests for the compared subset, in `peer_requests` order.
    pub fn compared_requests(&self) -> Vec<Request> {
        self.peer_requests
            .iter()
            .filter_map(|r| self.requests.get(r.index).cloned())
            .collect()
    }

    /// Builds every peer's model and pre-built requests.
    pub fn peers(&self) -> anyhow::Result<Peers> {
        self.peers_for(&self.facts)
    }

    /// Builds every peer's model from `facts` (normally [`Setup::facts`]; the tests pass
    /// altered facts to show that the agreement check catches a wrong model).
    pub fn peers_for(&self, facts: &Facts) -> anyhow::Result<Peers> {
        let t = Instant::now();
        let cedar = cedar::CedarModel::new(facts, cedar::Form::PerScope)?;
        let cedar_requests = self
            .peer_requests
            .iter()
            .map(|r| cedar.request(r, facts))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut build_times = vec![("cedar", t.elapsed())];
        let t = Instant::now();
        let cedar_any = cedar::CedarModel::new(facts, cedar::Form::ContainsAny)?;
        let cedar_any_requests = self
            .peer_requests
            .iter()
            .map(|r| cedar_any.request(r, facts))
            .collect::<anyhow::Result<Vec<_>>>()?;
        build_times.push(("cedar-containsAny", t.elapsed()));
        let t = Instant::now();
        let floor = floor::Floor::new(facts)?;
        let floor_requests = self
            .peer_requests
            .iter()
            .map(|r| floor.resolve(r).context("floor: unresolvable request"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        build_times.push(("floor", t.elapsed()));
        let t = Instant::now();
        let casbin = casbin::CasbinModel::new(facts, &self.peer_requests)?;
        let casbin_requests = self
            .peer_requests
            .iter()
            .map(|r| casbin.request(r))
            .collect();
        build_times.push(("casbin", t.elapsed()));
        let t = Instant::now();
        let rego = rego::RegoModel::new(facts)?;
        let rego_requests = self.peer_requests.iter().map(|r| rego.request(r)).collect();
        build_times.push(("regorus", t.elapsed()));
        Ok(Peers {
            cedar,
            cedar_requests,
            cedar_any,
            cedar_any_requests,
            floor,
            floor_requests,
            casbin,
            casbin_requests,
            rego,
            rego_requests,
            build_times,
        })
    }

    /// Decides every compared request with scopegate and every peer; returns every
    /// disagreement on the answer (allowed or not), and on the reason wherever the peer
    /// names one: Cedar through the forbid policies that fired, regorus through its
    /// `reason` rule, the floor exactly; casbin answers allowed or not only. An evaluation
    /// error of a peer is an error, not a denial.
    pub fn check_agreement(&self, peers: &mut Peers) -> anyhow::Result<Vec<Disagreement>> {
        let engine = self.engine();
        let mut out = Vec::new();
        for (i, r) in self.peer_requests.iter().enumerate() {
            let request = self
                .requests
                .get(r.index)
                .context("peer request out of range")?;
            let decision = engine.decide(request);
            let ours = decision.allowed();
            let our_reason = decision.reason.as_str();
            let mut compare = |engine: &'static str, peer: bool, reason: Option<(&str, bool)>| {
                if peer != ours {
                    out.push(Disagreement {
                        engine,
                        index: r.index,
                        scopegate: ours,
                        peer,
                        reasons: None,
                    });
                } else if let Some((theirs, false)) = reason {
                    out.push(Disagreement {
                        engine,
                        index: r.index,
                        scopegate: ours,
                        peer,
                        reasons: Some((our_reason.to_string(), theirs.to_string())),
                    });
                }
            };
            for (name, model, requests) in [
                ("cedar", &peers.cedar, &peers.cedar_requests),
                (
                    "cedar-containsAny",
                    &peers.cedar_any,
                    &peers.cedar_any_requests,
                ),
            ] {
                let c = requests.get(i).context("cedar request")?;
                let (allowed, reason) = model.decide_with_reason(c)?;
                compare(
                    name,
                    allowed,
                    Some((reason, cedar_reason_agrees(our_reason, reason))),
                );
            }
            let c = peers.casbin_requests.get(i).context("casbin request")?;
            compare("casbin", peers.casbin.try_decide(c)?, None);
            let c = peers.rego_requests.get(i).context("regorus request")?;
            let reason = peers.rego.reason(c)?;
            compare(
                "regorus",
                peers.rego.try_decide(c)?,
                Some((&reason, reason == our_reason)),
            );
            compare("regorus-rvm", peers.rego.try_decide_vm(c)?, None);
            let f = peers.floor_requests.get(i).context("floor request")?;
            let reason = peers.floor.decide(f).as_str();
            compare(
                "floor",
                reason == "allowed",
                Some((reason, reason == our_reason)),
            );
        }
        Ok(out)
    }
}
