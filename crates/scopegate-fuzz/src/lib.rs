//! The bodies of scopegate's fuzz targets (`publish = false`), one function per target,
//! each taking the fuzzer's bytes. Two callers: the cargo-fuzz targets in `fuzz/` (nightly,
//! outside the workspace) and the replay of the frozen corpus `fuzz/corpus/<target>/` by
//! this crate's normal tests (`tests/replay.rs`, stable), so CI runs every corpus input
//! through exactly the code the fuzzer runs.
//!
//! Each function returns normally for any input; a panic is a finding. What each checks
//! beyond "no panic, no abort":
//!
//! - [`policy`], [`manifest`] — the core's loaders (TOML and JSON) report problems located
//!   inside the document.
//! - [`world`], [`request`] — worlds and requests as the wire reads them; a request is
//!   decided over the golden world and manifest, and the engine agrees with the reference
//!   evaluator.
//! - [`openapi_json`], [`openapi_yaml`] — `scopegate lint` on one document; for JSON, lint's
//!   scanner accepts exactly what `serde_json` accepts (up to its nesting bound).
//! - [`decision`] — the bytes seed a random world, manifest and requests (the testkit's
//!   generators); the engine agrees with the reference evaluator on every request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "fuzz targets: a failed expectation is a finding"
)]

use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use scopegate_core::wire::RequestDoc;
use scopegate_core::{Engine, Manifest, ManifestDoc, Policy, Request, Source, World, WorldDoc};
use scopegate_lint::Options;
use scopegate_testkit::gen::{self, policy_variant};
use scopegate_testkit::golden;
use scopegate_testkit::reference::{self, RefDecision, RefManifest};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory and cargo-fuzz binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("policy", policy),
    ("manifest", manifest),
    ("world", world),
    ("request", request),
    ("openapi_json", openapi_json),
    ("openapi_yaml", openapi_yaml),
    ("decision", decision),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A rejected document has at least one problem, each located in it (`file:line:column`
/// with a line of the document).
fn assert_located(d: &scopegate_core::Diagnostics, name: &str, text: &str) {
    assert!(!d.items.is_empty(), "an error without a problem");
    let lines = text.split('\n').count();
    for item in &d.items {
        assert_eq!(item.file, name);
        assert!(
            item.location.line >= 1 && item.location.line <= lines,
            "problem outside the document ({lines} lines): {item}"
        );
    }
}

/// Policies, as TOML and as JSON.
pub fn policy(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for name in ["fuzz.toml", "fuzz.json"] {
        if let Err(d) = Policy::load(&Source::new(name, text)) {
            assert_located(&d, name, text);
        }
    }
}

/// Manifests, as TOML and as JSON: the document layer and the compiled one (Sentry's
/// policy).
pub fn manifest(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let policy = sentry();
    for name in ["fuzz.toml", "fuzz.json"] {
        let source = Source::new(name, text);
        if let Err(d) = ManifestDoc::parse(&source) {
            assert_located(&d, name, text);
        }
        if let Err(d) = Manifest::load(&source, policy) {
            assert_located(&d, name, text);
        }
    }
}

/// Worlds: the wire form, then the index; a valid world answers a request.
pub fn world(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<WorldDoc>(data) else {
        return;
    };
    let policy = sentry();
    if let Ok(world) = World::build(&doc, policy) {
        let (manifest, _) = golden_manifest();
        let engine = Engine::new(policy, manifest, &world);
        for org in doc.organizations.iter().take(3) {
            let request = Request::from_doc(
                serde_json::from_value(serde_json::json!({
                    "principal": {"kind": "anonymous"},
                    "endpoint": "OrganizationDetailsEndpoint",
                    "method": "GET",
                    "organization": org.slug,
                }))
                .unwrap(),
                policy,
            );
            if let Ok(request) = request {
                let _ = engine.decide(&request);
            }
        }
    }
}

/// Requests: the wire form, then decided over the golden world and manifest; the engine
/// agrees with the reference evaluator.
pub fn request(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<RequestDoc>(data) else {
        return;
    };
    let policy = sentry();
    let Ok(request) = Request::from_doc(doc.clone(), policy) else {
        return;
    };
    let (manifest, model) = golden_manifest();
    let (world_doc, world) = golden_world();
    let decision = Engine::new(policy, manifest, world).decide(&request);
    let got = RefDecision::from_doc(&decision.to_doc(policy));
    let want = reference::decide(policy, model, world_doc, &doc);
    assert_eq!(got, want, "engine and reference disagree on {doc:?}");
}

/// `scopegate lint` on one OpenAPI (or native) document read as JSON; lint's scanner
/// accepts what `serde_json` accepts.
pub fn openapi_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let ours = scopegate_lint::input::json::parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(_), Err(e)) => panic!("lint's scanner accepts what serde_json rejects ({e})"),
        (Err(p), Ok(_)) => assert!(
            p.message.contains("nest deeper"),
            "lint's scanner rejects what serde_json accepts: {}",
            p.message
        ),
        _ => {}
    }
    lint("fuzz.json", text);
}

/// `scopegate lint` on one OpenAPI (or native) document read as YAML.
pub fn openapi_yaml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Err(p) = scopegate_lint::input::yaml::parse(text) {
        assert!(p.span.end <= text.len(), "{:?}: {}", p.span, p.message);
    }
    lint("fuzz.yaml", text);
}

fn lint(name: &str, text: &str) {
    // `$ref`s to other files would read the disk: only local ones are fuzzed.
    if text.contains("$ref")
        && text.contains(".json") | text.contains(".yaml") | text.contains(".yml")
    {
        return;
    }
    let policy = sentry();
    if let Err(e) = scopegate_lint::lint_text(name, text, policy, &Options::new(policy)) {
        assert!(!e.items.is_empty(), "an input error without a problem");
    }
}

/// The bytes seed a random world, manifest, policy variant and requests; the engine
/// agrees with the reference evaluator on each request (the differential test of the
/// core, driven by the fuzzer).
pub fn decision(data: &[u8]) {
    let mut seed = [0u8; 32];
    for (i, b) in data.iter().enumerate() {
        let slot = &mut seed[i % 32];
        *slot = slot.rotate_left(3) ^ *b;
    }
    seed[0] ^= u8::try_from(data.len() % 251).unwrap();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = (
        gen::world(),
        gen::manifest(),
        vec(gen::request_spec(), 1..=16),
        any::<u8>(),
    );
    let Ok(tree) = strategy.new_tree(&mut runner) else {
        return;
    };
    let (world_doc, manifest, specs, which) = tree.current();
    let policy = &policy_variant(which);
    let text = manifest.json.to_string();
    let compiled = Manifest::load(&Source::new("generated.json", text.as_str()), policy)
        .unwrap_or_else(|d| panic!("generated manifest rejected: {d}"));
    let world = World::build(&world_doc, policy)
        .unwrap_or_else(|e| panic!("generated world rejected: {e}"));
    let engine = Engine::new(policy, &compiled, &world);
    for spec in &specs {
        let doc = spec.resolve(&world_doc, &manifest.model);
        let request = Request::from_doc(doc.clone(), policy)
            .unwrap_or_else(|e| panic!("generated request rejected: {e}"));
        let got = RefDecision::from_doc(&engine.decide(&request).to_doc(policy));
        let want = reference::decide(policy, &manifest.model, &world_doc, &doc);
        assert_eq!(got, want, "engine and reference disagree on {doc:?}");
    }
}

fn sentry() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::sentry)
}

fn golden_manifest() -> &'static (Manifest, RefManifest) {
    static MANIFEST: OnceLock<(Manifest, RefManifest)> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let policy = sentry();
        let text = golden::manifest_json().to_string();
        let manifest = Manifest::load(&Source::new("golden.json", text), policy).unwrap();
        let model = RefManifest::from_compiled(&manifest, policy);
        (manifest, model)
    })
}

fn golden_world() -> &'static (WorldDoc, World) {
    static WORLD: OnceLock<(WorldDoc, World)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let doc: WorldDoc = serde_json::from_value(golden::world()).unwrap();
        let world = World::build(&doc, sentry()).unwrap();
        (doc, world)
    })
}
