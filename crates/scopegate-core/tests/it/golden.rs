//! Golden decisions derived from `docs/sentry-model.md`: the §3.7 access table,
//! role scopes (§2.1), option trimming (§2.2), team roles (§2.3), object checks (§3.6), the
//! replay enforcement matrix (§5.9) and the insufficient-scope challenges (§3.4, §6).
//!
//! The cases are data in `scopegate_testkit::golden` (shared with the server's test of
//! `/v1/check/batch`); here one test per group decides each of its cases with the engine
//! *and* with the reference evaluator and compares both with the expected decision, field
//! by field ([`check`]).

use scopegate_core::{Engine, Manifest, Request, RequestDoc, Source, World, WorldDoc};

use crate::reference::{self, RefDecision, RefManifest};
use scopegate_testkit::golden::{self, Case};

/// Decides `case` against the golden manifest, with the engine and with the reference, and
/// compares both with its expected decision.
fn check(case: &Case) {
    let policy = &case.policy();
    let (request, at) = (&case.request, case.at);
    let manifest = Manifest::load(
        &Source::new("golden.json", golden::manifest_json().to_string()),
        policy,
    )
    .expect("the golden manifest compiles");
    let world_doc: WorldDoc = serde_json::from_value(case.world.clone()).expect("a world document");
    let index = World::build(&world_doc, policy).expect("a valid world");
    let request_doc: RequestDoc =
        serde_json::from_value(request.clone()).expect("a request document");
    let req = Request::from_doc(request_doc.clone(), policy).expect("a valid request");
    let engine = Engine::new(policy, &manifest, &index);
    let got = RefDecision::from_doc(&engine.decide(&req).to_doc(policy));
    assert_eq!(got, case.expected, "engine, for {request} ({at})");
    let model = RefManifest::from_compiled(&manifest, policy);
    let reference = reference::decide(policy, &model, &world_doc, &request_doc);
    assert_eq!(reference, case.expected, "reference, for {request} ({at})");
}

/// One test per golden group, named after it; [`TESTED`] lists them.
macro_rules! golden_tests {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let cases = golden::group(stringify!($name));
                assert!(!cases.is_empty(), "no golden group {}", stringify!($name));
                cases.iter().for_each(check);
            }
        )*
        /// The groups tested here.
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

golden_tests!(
    anonymous_is_unauthenticated_without_challenge,
    preflight_is_allowed_before_any_check,
    non_member_is_denied_even_with_open_membership,
    member_session_gets_its_role_scopes,
    member_user_token_is_member_scopes_intersected_with_token_scopes,
    user_token_bound_to_an_organization,
    integration_installed_and_not_installed,
    org_token_and_api_key_of_this_and_another_organization,
    system_gets_everything,
    active_superuser_gets_every_scope_everywhere,
    read_only_superuser_reads_only,
    staff_pass_only_staff_aware_classes,
    object_less_classes_need_only_a_credential,
    member_states_deny_before_scopes,
    organization_roles,
    events_member_admin_trims_member_role_only,
    alerts_member_write_trims_member_role_only,
    explicit_team_role_counts_only_with_the_team_roles_feature,
    minimum_team_roles,
    minimum_team_roles_with_weak_org_roles,
    objects_are_resolved_after_the_gate,
    replay_listed_and_unlisted_members,
    replay_empty_allowlist_means_nobody,
    replay_option_off_or_feature_off_opens_it,
    replay_superusers,
    replay_staff_are_not_exempt,
    replay_tokens_and_integrations,
    replay_team_grants,
    insufficient_scope_challenges,
    org_token_bounded_by_its_creator,
);

#[test]
fn every_golden_group_is_tested() {
    let groups: Vec<&str> = golden::GROUPS.iter().map(|(name, _)| *name).collect();
    assert_eq!(groups, TESTED);
}
