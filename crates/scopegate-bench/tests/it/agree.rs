//! The peers decide the compared requests exactly as scopegate does (so CI catches drift
//! between scopegate and the peers' models), the compared requests cover every path the
//! peers model, and the agreement check does catch a wrong peer model.

use std::collections::BTreeSet;

use scopegate_bench::world::Size;
use scopegate_bench::Setup;
use scopegate_core::{GrantPath, GranularPath, Reason};

fn setup() -> anyhow::Result<Setup> {
    Setup::new(Size::TEST, 1)
}

#[test]
fn peers_agree_with_scopegate_on_every_compared_request() {
    let setup = setup().expect("setup");
    let mut peers = setup.peers().expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    assert_eq!(disagreements, vec![], "peers disagree with scopegate");
    assert!(setup.peer_requests.len() > Size::TEST.requests / 2);
}

#[test]
fn compared_requests_cover_every_modelled_path() {
    let setup = setup().expect("setup");
    let engine = setup.engine();
    let mut seen = BTreeSet::new();
    for r in setup.compared_requests() {
        let d = engine.decide(&r);
        seen.insert(format!("{:?}", d.reason));
        if let Some(g) = d.grant {
            seen.insert(format!("{:?}", g.path));
            if let Some(k) = g.granular {
                seen.insert(format!("{k:?}"));
            }
        }
    }
    let want = [
        format!("{:?}", Reason::Allowed),
        format!("{:?}", Reason::InsufficientScope),
        format!("{:?}", Reason::NotAMember),
        format!("{:?}", Reason::MemberDisabledOverLimit),
        format!("{:?}", Reason::MissingScope),
        format!("{:?}", Reason::NoProjectAccess),
        format!("{:?}", Reason::GranularAccessDenied),
        format!("{:?}", GrantPath::RoleScope),
        format!("{:?}", GrantPath::TeamRoleScope),
        format!("{:?}", GranularPath::GranularGrant),
    ];
    let missing: Vec<&String> = want.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(
        missing.is_empty(),
        "not covered: {missing:?}; seen {seen:?}"
    );
}

#[test]
fn agreement_check_catches_a_peer_model_without_the_replay_guard() {
    let setup = setup().expect("setup");
    let mut facts = setup.facts.clone();
    facts.replay.enforced = false;
    let mut peers = setup.peers_for(&facts).expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    for engine in ["cedar", "casbin", "regorus"] {
        assert!(
            disagreements
                .iter()
                .any(|d| d.engine == engine && !d.scopegate && d.peer),
            "{engine}: no disagreement found"
        );
    }
}

#[test]
fn agreement_check_catches_a_peer_model_without_team_roles() {
    let setup = setup().expect("setup");
    let mut facts = setup.facts.clone();
    for m in facts.members.values_mut() {
        for (_, role) in &mut m.teams {
            *role = None;
        }
    }
    let mut peers = setup.peers_for(&facts).expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    for engine in ["cedar", "casbin", "regorus"] {
        assert!(
            disagreements
                .iter()
                .any(|d| d.engine == engine && d.scopegate && !d.peer),
            "{engine}: no disagreement found"
        );
    }
}

#[test]
fn the_builtin_manifest_compiles_with_the_replay_endpoints() {
    let policy = scopegate_core::Policy::sentry();
    let text =
        scopegate_bench::world::augment_manifest(scopegate_bench::world::builtin_manifest_json())
            .expect("augment");
    let manifest =
        scopegate_core::Manifest::load(&scopegate_core::Source::new("builtin.json", text), &policy)
            .expect("compile");
    let guarded: Vec<&str> = manifest
        .endpoints
        .iter()
        .filter(|e| e.granular.is_some())
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(guarded.len(), 3, "{guarded:?}");
    assert!(manifest.endpoints.len() > 50);
}
