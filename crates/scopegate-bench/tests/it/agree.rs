//! The peers decide the compared requests exactly as scopegate does (so CI catches drift
//! between scopegate and the peers' models), the compared requests cover every path the
//! peers model, and the agreement check does catch a wrong peer model.

use std::collections::BTreeSet;

use scopegate_bench::world::Size;
use scopegate_bench::Setup;
use scopegate_core::{GrantPath, GranularPath, PrincipalDoc, Reason};

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

/// `Engine::decide_resolved` over `Engine::resolve` gives exactly `Engine::decide`'s decision
/// on every request of the benchmark's world (every principal kind), as the binary checks on
/// the large world before timing `scopegate-resolved`.
#[test]
fn resolved_requests_are_decided_exactly_as_their_slugs() {
    let setup = setup().expect("setup");
    let engine = setup.engine();
    let mut reasons = BTreeSet::new();
    for r in &setup.requests {
        let want = engine.decide(r);
        reasons.insert(want.reason);
        assert_eq!(engine.decide_resolved(&engine.resolve(r)), want, "{r:?}");
    }
    assert!(reasons.len() >= 8, "the requests reach {reasons:?} only");
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
fn the_world_spans_many_organizations_and_compared_requests_cross_them() {
    let setup = setup().expect("setup");
    let world = &setup.world_doc;
    assert_eq!(world.organizations.len() as u64, Size::TEST.orgs);
    assert_eq!(world.members.len() as u64, Size::TEST.members);
    assert_eq!(world.teams.len() as u64, Size::TEST.teams);
    assert_eq!(world.projects.len() as u64, Size::TEST.projects);
    // Some users belong to several organizations; some members are pending invites.
    let mut orgs_of = std::collections::BTreeMap::<u64, BTreeSet<u64>>::new();
    for m in &world.members {
        if let Some(u) = m.user {
            orgs_of.entry(u).or_default().insert(m.organization);
        }
    }
    assert!(orgs_of.values().any(|o| o.len() > 1));
    assert!(world.members.iter().any(|m| m.user.is_none()));
    assert!(world.integrations.iter().any(|i| i.installed_on.len() > 1));
    // The compared requests call several organizations, each with members of it and with
    // members of other organizations only (who must be denied).
    let slug_to_id: std::collections::BTreeMap<&str, u64> = world
        .organizations
        .iter()
        .map(|o| (o.slug.as_str(), o.id))
        .collect();
    let engine = setup.engine();
    let mut orgs_called = BTreeSet::new();
    let mut cross = 0;
    for r in &setup.peer_requests {
        orgs_called.insert(r.org.clone());
        let org_id = slug_to_id[r.org.as_str()];
        let member_elsewhere = orgs_of
            .get(&r.user)
            .is_some_and(|o| !o.contains(&org_id) && !o.is_empty());
        if member_elsewhere {
            cross += 1;
            let d = engine.decide(&setup.requests[r.index]);
            assert!(
                !d.allowed(),
                "cross-organization request {} allowed",
                r.index
            );
        }
    }
    assert!(orgs_called.len() > 3, "{orgs_called:?}");
    assert!(cross > 10, "only {cross} cross-organization requests");
    // Not only sessions and user tokens: every principal kind is generated.
    let kinds: BTreeSet<&str> = setup
        .request_docs
        .iter()
        .map(|r| match &r.principal {
            PrincipalDoc::Anonymous => "anonymous",
            PrincipalDoc::Session { .. } => "session",
            PrincipalDoc::UserToken { .. } => "user_token",
            PrincipalDoc::OrgToken { .. } => "org_token",
            PrincipalDoc::ApiKey { .. } => "api_key",
            PrincipalDoc::Integration { .. } => "integration",
            PrincipalDoc::System => "system",
        })
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
}

#[test]
fn apportion_keeps_totals_and_minimums() {
    let zipf: Vec<u64> = (0..1000u64).map(|i| 1_000_000 / (i + 1)).collect();
    let parts = scopegate_bench::world::apportion(100_000, &zipf, 2);
    assert_eq!(parts.iter().sum::<u64>(), 100_000);
    assert!(parts.iter().all(|&p| p >= 2));
    assert!(
        parts[0] > 10_000 && parts[999] < 30,
        "{} {}",
        parts[0],
        parts[999]
    );
    assert_eq!(
        scopegate_bench::world::apportion(3, &[1, 1, 1, 1], 1)
            .iter()
            .sum::<u64>(),
        3
    );
}

#[test]
fn agreement_check_catches_a_peer_model_without_the_replay_guard() {
    let setup = setup().expect("setup");
    let mut facts = setup.facts.clone();
    for org in facts.orgs.values_mut() {
        org.replay.enforced = false;
    }
    let mut peers = setup.peers_for(&facts).expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    for engine in [
        "cedar",
        "cedar-containsAny",
        "casbin",
        "regorus",
        "regorus-rvm",
        "floor",
    ] {
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
    for m in facts.orgs.values_mut().flat_map(|o| o.members.values_mut()) {
        for (_, role) in &mut m.teams {
            *role = None;
        }
    }
    let mut peers = setup.peers_for(&facts).expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    for engine in [
        "cedar",
        "cedar-containsAny",
        "casbin",
        "regorus",
        "regorus-rvm",
        "floor",
    ] {
        assert!(
            disagreements
                .iter()
                .any(|d| d.engine == engine && d.scopegate && !d.peer),
            "{engine}: no disagreement found"
        );
    }
}

#[test]
fn agreement_check_compares_reasons_not_only_answers() {
    // Members over the limit no longer restricted: where such a member is denied anyway
    // (scopegate: `member_disabled_over_limit`), the answer still agrees but the reason does
    // not, and the peers that name reasons must say so.
    let setup = setup().expect("setup");
    let mut facts = setup.facts.clone();
    for m in facts.orgs.values_mut().flat_map(|o| o.members.values_mut()) {
        m.restricted = false;
    }
    let mut peers = setup.peers_for(&facts).expect("peers");
    let disagreements = setup.check_agreement(&mut peers).expect("agreement pass");
    for engine in ["cedar", "cedar-containsAny", "regorus", "floor"] {
        assert!(
            disagreements.iter().any(|d| d.engine == engine
                && d.reasons
                    .as_ref()
                    .is_some_and(|(ours, _)| ours == "member_disabled_over_limit")),
            "{engine}: no reason disagreement found"
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
