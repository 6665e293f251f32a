//! Shadow mode (`serve --shadow-policy FILE` / `--shadow-manifest FILE`): every `/v1/`
//! decision is also made under a candidate policy and/or manifest, over the same index
//! snapshot, and never changes the answer. A disagreement (allowed by one, denied by the
//! other) is counted in `scopegate_shadow_disagreements_total{endpoint, direction}` and, when
//! the decision log is on, written on the decision's line as `shadow` (the candidate's
//! decision and policy version; `docs/decision-log.md`).
//!
//! A candidate policy declares its own scopes and roles: requests are carried into its
//! scopes by name ([`ScopeMap`]; a scope it does not declare is dropped) and the world is
//! indexed under it too (`Index::shadow_world`, built with every index). A stored world
//! that does not build under the candidate policy leaves that index without a shadow
//! world: its decisions are not shadowed, counted in `scopegate_shadow_skipped_total`.
//! With `--shadow-manifest` alone the live world and scopes are used as they are.

use std::collections::HashSet;
use std::sync::Arc;

use scopegate_core::replay::{Direction, ScopeMap};
use scopegate_core::{Decision, Engine, Manifest, Policy, Request};

use crate::index::Index;

/// The endpoint label of a request naming an endpoint neither manifest declares (labels
/// stay bounded).
pub const UNKNOWN_ENDPOINT: &str = "(unknown)";

/// The candidate a service shadows.
#[derive(Debug)]
pub struct Shadow {
    /// The candidate policy (the live one with `--shadow-manifest` alone).
    pub policy: Arc<Policy>,
    /// The candidate manifest (the live decision manifest with `--shadow-policy` alone),
    /// compiled against [`Shadow::policy`].
    pub manifest: Arc<Manifest>,
    /// Its policy version (`crate::state::policy_version`).
    pub policy_version: Arc<str>,
    /// Whether the candidate policy is not the live one: requests renumbered, the world
    /// indexed under it.
    own_policy: bool,
    /// The live policy's scopes into the candidate's.
    scopes: ScopeMap,
    /// Every endpoint name of either manifest (the metric's label values).
    endpoints: HashSet<String>,
}

/// What the shadow made of one request.
#[derive(Debug)]
pub enum Outcome {
    /// The candidate answers alike (allowed or denied).
    Agrees,
    /// The candidate answers otherwise.
    Disagrees(Disagreement),
    /// This index has no world under the candidate policy: not shadowed.
    Skipped,
}

/// A shadow decision that disagrees with the answer.
#[derive(Debug)]
pub struct Disagreement {
    /// The candidate's decision.
    pub decision: Decision,
    /// Which way the candidate would change the answer.
    pub direction: Direction,
}

impl Shadow {
    /// The candidate `policy` (`None`: the live one) and `manifest` (compiled against it),
    /// shadowing a service deciding with `live_policy` and `live_manifest`.
    pub fn new(
        live_policy: &Arc<Policy>,
        live_manifest: &Manifest,
        policy: Option<Policy>,
        manifest: Manifest,
    ) -> Shadow {
        let own_policy = policy.is_some();
        let policy = policy.map_or_else(|| live_policy.clone(), Arc::new);
        let endpoints = live_manifest
            .endpoints
            .iter()
            .chain(&manifest.endpoints)
            .map(|e| e.name.clone())
            .collect();
        Shadow {
            scopes: ScopeMap::between(live_policy, &policy),
            policy_version: crate::state::policy_version(&policy, &manifest).into(),
            policy,
            manifest: Arc::new(manifest),
            own_policy,
            endpoints,
        }
    }

    /// The policy the index must also build its world under, when it is not the live one.
    pub fn world_policy(&self) -> Option<&Arc<Policy>> {
        self.own_policy.then_some(&self.policy)
    }

    /// The candidate's decision of `request` over `index`, compared with `answer`.
    pub fn decide(&self, index: &Index, request: &Request, answer: &Decision) -> Outcome {
        let decision = if self.own_policy {
            let Some(world) = index.shadow_world.as_ref() else {
                return Outcome::Skipped;
            };
            let engine = Engine::new(&self.policy, &self.manifest, world);
            if self.scopes.is_identity() {
                engine.decide(request)
            } else {
                let (request, _) = self.scopes.request(request.clone());
                engine.decide(&request)
            }
        } else {
            Engine::new(&self.policy, &self.manifest, &index.world).decide(request)
        };
        match Direction::of(answer.allowed(), decision.allowed()) {
            Some(direction) => Outcome::Disagrees(Disagreement {
                decision,
                direction,
            }),
            None => Outcome::Agrees,
        }
    }

    /// The metric label of `endpoint`: its name when a manifest declares it.
    pub fn endpoint_label<'a>(&self, endpoint: &'a str) -> &'a str {
        if self.endpoints.contains(endpoint) {
            endpoint
        } else {
            UNKNOWN_ENDPOINT
        }
    }
}
