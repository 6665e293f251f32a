//! The resolved-request API (`Engine::resolve`, `Engine::decide_resolved`) against
//! `Engine::decide` on random worlds, manifests, policies and requests: the whole decision
//! (reason, status, grant path, missing scopes, challenge) must be the same for every
//! request, and a request resolved against one world and decided over another must get
//! that other world's decision (never the stale lookups).
//!
//! Cases: `SCOPEGATE_PROPTEST_CASES` / `PROPTEST_CASES` (default 300, each 100+ requests).

use proptest::collection::vec;
use proptest::prelude::*;

use scopegate_core::{Engine, Manifest, Request, Source, World};

use crate::gen::{self, policy_variant};
use crate::run::{cases, config};

proptest! {
    #![proptest_config(config(cases(300)))]

    /// Every request: `decide_resolved(resolve(r)) == decide(r)`, deciding the resolved
    /// request twice (it is decided many times) and through a clone.
    #[test]
    fn a_resolved_request_is_decided_exactly_as_its_slugs(
        world_doc in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 100..=120),
        which in any::<u8>(),
    ) {
        let policy = &policy_variant(which);
        let compiled = Manifest::load(&Source::new("generated.json", manifest.json.to_string()), policy)
            .expect("generated manifest compiles");
        let world = World::build(&world_doc, policy).expect("generated world builds");
        let engine = Engine::new(policy, &compiled, &world);
        for spec in &specs {
            let doc = spec.resolve(&world_doc, &manifest.model);
            let request = Request::from_doc(doc.clone(), policy).expect("generated request");
            let want = engine.decide(&request);
            let resolved = engine.resolve(&request);
            prop_assert!(resolved.is_for(&engine));
            prop_assert_eq!(engine.decide_resolved(&resolved), want, "request {:?}", doc);
            prop_assert_eq!(engine.decide_resolved(&resolved.clone()), want, "again: {:?}", doc);
            // An engine value made again over the same parts reads the lookups too.
            let again = Engine::new(policy, &compiled, &world);
            prop_assert!(resolved.is_for(&again));
            prop_assert_eq!(again.decide_resolved(&resolved), want, "another engine value: {:?}", doc);
        }
    }

    /// A request resolved against world A and decided by an engine over world B gets B's
    /// decision, whatever A held: B is another random world (same manifest and policy),
    /// or a copy of A at another address.
    #[test]
    fn a_request_resolved_against_another_world_is_decided_over_the_current_one(
        a_doc in gen::world(),
        b_doc in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 50..=60),
    ) {
        let policy = &policy_variant(0);
        let compiled = Manifest::load(&Source::new("generated.json", manifest.json.to_string()), policy)
            .expect("generated manifest compiles");
        let a = World::build(&a_doc, policy).expect("world A builds");
        let b = World::build(&b_doc, policy).expect("world B builds");
        let copy = a.clone();
        let on_a = Engine::new(policy, &compiled, &a);
        let on_b = Engine::new(policy, &compiled, &b);
        let on_copy = Engine::new(policy, &compiled, &copy);
        for (k, spec) in specs.iter().enumerate() {
            // Requests drawn from both worlds' names.
            let from = if k % 2 == 0 { &a_doc } else { &b_doc };
            let request = Request::from_doc(spec.resolve(from, &manifest.model), policy)
                .expect("generated request");
            let resolved = on_a.resolve(&request);
            prop_assert!(!resolved.is_for(&on_b));
            prop_assert!(!resolved.is_for(&on_copy));
            prop_assert_eq!(on_b.decide_resolved(&resolved), on_b.decide(&request));
            prop_assert_eq!(on_copy.decide_resolved(&resolved), on_a.decide(&request));
        }
    }
}
