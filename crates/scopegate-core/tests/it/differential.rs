//! The differential test: the engine against the reference evaluator on random worlds,
//! manifests and requests, comparing the whole decision (reason, status, grant, missing
//! scopes, challenge).
//!
//! The normal run decides `CASES × 100..=120` requests (≥ 100k). For a long run, set
//! `SCOPEGATE_PROPTEST_CASES` (or proptest's own `PROPTEST_CASES`), e.g.
//! `SCOPEGATE_PROPTEST_CASES=100000 cargo test --release -p scopegate-core --test it differential`
//! decides more than ten million requests; `SCOPEGATE_PROPTEST_SEED=<u64>` draws other
//! worlds (the default seed is fixed, so the normal run is the same every time).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use scopegate_core::{Engine, Manifest, Request, Source, World};

use crate::gen::{self, policy_variant};
use crate::reference::{self, RefDecision};
use crate::run::{cases, config};

/// Cases of the normal run.
const DEFAULT_CASES: u32 = 1_000;

#[test]
fn engine_agrees_with_reference_on_random_worlds() {
    let mut runner = TestRunner::new(config(cases(DEFAULT_CASES)));
    let strategy = (
        gen::world(),
        gen::manifest(),
        vec(gen::request_spec(), 100..=120),
        any::<u8>(),
    );
    let outcomes: RefCell<BTreeMap<String, u64>> = RefCell::default();
    let decided = Cell::new(0u64);
    let allowed = Cell::new(0u64);
    let result = runner.run(&strategy, |(world_doc, manifest, specs, which)| {
        let policy = &policy_variant(which);
        let text = manifest.json.to_string();
        let compiled = Manifest::load(&Source::new("generated.json", text.as_str()), policy)
            .map_err(|d| TestCaseError::fail(format!("generated manifest rejected: {d}\n{text}")))?;
        let world = World::build(&world_doc, policy)
            .map_err(|e| TestCaseError::fail(format!("generated world rejected: {e}")))?;
        let engine = Engine::new(policy, &compiled, &world);
        for spec in &specs {
            let doc = spec.resolve(&world_doc, &manifest.model);
            let request = Request::from_doc(doc.clone(), policy)
                .map_err(|e| TestCaseError::fail(format!("generated request rejected: {e}")))?;
            let decision = engine.decide(&request);
            // `explain` decides the same way, with a trace (checked on a sample: it allocates).
            if decided.get() % 8 == 0 {
                let (explained, trace) = engine.explain(&request);
                prop_assert_eq!(explained, decision, "explain differs from decide: {:?}", doc);
                prop_assert!(!trace.is_empty());
            }
            let got = RefDecision::from_doc(&decision.to_doc(policy));
            let want = reference::decide(policy, &manifest.model, &world_doc, &doc);
            decided.set(decided.get() + 1);
            let key = match &want.grant {
                Some(g) => g.join("+"),
                None => want.reason.clone(),
            };
            *outcomes.borrow_mut().entry(key).or_default() += 1;
            allowed.set(allowed.get() + u64::from(want.allowed()));
            if got != want {
                let (_, trace) = engine.explain(&request);
                return Err(TestCaseError::fail(format!(
                    "engine and reference disagree\nengine:    {got:?}\nreference: {want:?}\nrequest: {}\nworld: {}\nmanifest: {text}\ntrace: {trace:#?}",
                    serde_json::to_string(&doc).unwrap_or_default(),
                    serde_json::to_string(&world_doc).unwrap_or_default(),
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (decided, allowed) = (decided.get(), allowed.get());
    eprintln!("differential: {decided} requests decided, {allowed} allowed");
    let outcomes = outcomes.into_inner();
    for (outcome, n) in &outcomes {
        eprintln!("  {outcome:<40} {n:>8}");
    }
    // Every reason and grant path the generator can reach, reached in the normal run.
    for expected in [
        "not_found",
        "unauthenticated",
        "token_organization_mismatch",
        "sso_required",
        "2fa_required",
        "member_disabled_over_limit",
        "insufficient_scope",
        "not_a_member",
        "wrong_organization",
        "superuser_read_only",
        "missing_scope",
        "no_project_access",
        "no_team_access",
        "granular_access_denied",
        "preflight",
        "authenticated",
        "role_scope",
        "team_role_scope",
        "org_token",
        "api_key",
        "integration",
        "superuser",
        "staff",
        "system",
        "role_scope+granular_grant",
        "role_scope+granular_off",
        "org_token+granular_bypass",
        "integration+granular_bypass",
        "superuser+granular_bypass",
        "system+granular_bypass",
    ] {
        assert!(
            outcomes.contains_key(expected),
            "the generator never reached `{expected}`"
        );
    }
    assert!(decided >= u64::from(runner.config().cases) * 100);
    // The generator must reach both outcomes, or the comparison says little.
    assert!(
        allowed > 0 && allowed < decided,
        "{allowed} of {decided} allowed"
    );
}
