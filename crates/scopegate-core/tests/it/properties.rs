//! Properties of the engine on random worlds (the generators of [`crate::gen`]):
//!
//! - a user token never yields access that its scopes lack, nor access that its user lacks;
//! - no principal of one organization is allowed anything in another (superusers, staff and
//!   the system aside);
//! - adding a scope to a role never turns an allow into a deny;
//! - no token minted by a principal (a user token of its user, an org token of its creator)
//!   is ever allowed where that principal's own session is denied.
//!
//! Cases: `SCOPEGATE_PROPTEST_CASES` / `PROPTEST_CASES` (default 200, each 100+ requests).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

use scopegate_core::wire::SuperuserDoc;
use scopegate_core::{
    Decision, Engine, Manifest, Policy, PrincipalDoc, Request, RequestDoc, Source, World, WorldDoc,
};

use crate::gen::{self, GenManifest};
use crate::run::cases;

fn config() -> Config {
    crate::run::config(cases(200))
}

/// Compiles the generated manifest and world against `policy`.
fn compile(policy: &Policy, manifest: &GenManifest, world: &WorldDoc) -> (Manifest, World) {
    let m = Manifest::load(
        &Source::new("generated.json", manifest.json.to_string()),
        policy,
    )
    .expect("generated manifest compiles");
    let w = World::build(world, policy).expect("generated world builds");
    (m, w)
}

fn decide(engine: &Engine<'_>, doc: &RequestDoc) -> Decision {
    let request = Request::from_doc(doc.clone(), engine.policy).expect("generated request");
    engine.decide(&request)
}

/// The classes of the endpoint a request names, if it exists.
fn classes<'m>(manifest: &'m GenManifest, doc: &RequestDoc) -> Vec<&'m crate::reference::RefClass> {
    manifest
        .model
        .endpoints
        .iter()
        .find(|e| e.name == doc.endpoint)
        .map(|e| {
            e.classes
                .iter()
                .filter_map(|c| manifest.model.classes.iter().find(|k| &k.name == c))
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(config())]

    /// A user token allowed to do something implies: every class's map admits one of the
    /// token's scopes, and the same user's plain session is allowed too.
    #[test]
    fn user_token_is_bounded_by_its_scopes_and_its_user(
        mut world in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 100..=120),
    ) {
        // Sessions face an SSO check that tokens do not (decision.md §4): take it out.
        for o in &mut world.organizations {
            o.require_sso = false;
        }
        let policy = Policy::sentry();
        let (m, w) = compile(&policy, &manifest, &world);
        let engine = Engine::new(&policy, &m, &w);
        for spec in &specs {
            let mut doc = spec.resolve(&world, &manifest.model);
            // A session becomes a token of its user that passes the gate: the scopes of
            // the endpoint's maps for the method, so the member's own scopes are the limit.
            if let PrincipalDoc::Session { user, .. } = doc.principal {
                let scopes = classes(&manifest, &doc)
                    .iter()
                    .flat_map(|c| c.scope_map.get(&doc.method).cloned().unwrap_or_default())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                doc.principal = PrincipalDoc::UserToken { user, scopes, organization: None };
            }
            let PrincipalDoc::UserToken { user, scopes, .. } = &doc.principal else {
                continue;
            };
            if doc.method == "OPTIONS" || !decide(&engine, &doc).allowed() {
                continue;
            }
            for class in classes(&manifest, &doc) {
                let map = class.scope_map.get(&doc.method).cloned().unwrap_or_default();
                prop_assert!(
                    scopes.iter().any(|s| map.contains(s)),
                    "token {scopes:?} allowed through class {} whose map is {map:?}: {doc:?}",
                    class.name
                );
            }
            let session = RequestDoc {
                principal: PrincipalDoc::Session {
                    user: *user,
                    superuser: SuperuserDoc::None,
                    staff: false,
                    sso_ok: true,
                },
                ..doc.clone()
            };
            let d = decide(&engine, &session);
            prop_assert!(
                d.allowed(),
                "the token is allowed but its user's session is not ({:?}): {doc:?}",
                d.reason
            );
        }
    }

    /// A request naming organization B, on an endpoint with an object check, is never
    /// allowed for a principal that belongs elsewhere: a user who is not a member of B, a
    /// token or key of another organization, an integration not installed on B.
    #[test]
    fn principals_of_one_organization_get_nothing_in_another(
        world in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 100..=120),
    ) {
        let policy = Policy::sentry();
        let (m, w) = compile(&policy, &manifest, &world);
        let engine = Engine::new(&policy, &m, &w);
        for spec in &specs {
            let doc = spec.resolve(&world, &manifest.model);
            let Some(org) = world
                .organizations
                .iter()
                .find(|o| Some(&o.slug) == doc.organization.as_ref())
            else {
                continue;
            };
            if doc.method == "OPTIONS" || classes(&manifest, &doc).iter().all(|c| c.object == "none") {
                continue;
            }
            let member_of_b = |user: u64| {
                world.members.iter().any(|m| m.organization == org.id && m.user == Some(user))
            };
            let foreign = match &doc.principal {
                PrincipalDoc::Session { user, superuser: SuperuserDoc::None, staff: false, .. }
                | PrincipalDoc::UserToken { user, .. } => !member_of_b(*user),
                PrincipalDoc::OrgToken { organization, .. }
                | PrincipalDoc::ApiKey { organization, .. } => organization != &org.slug,
                PrincipalDoc::Integration { integration } => !world
                    .integrations
                    .iter()
                    .any(|i| i.id == *integration && i.installed_on.contains(&org.id)),
                _ => false,
            };
            if foreign {
                let d = decide(&engine, &doc);
                prop_assert!(!d.allowed(), "a foreign principal is allowed: {doc:?} ({:?})", d.grant);
            }
        }
    }

    /// Adding one scope to one org role or team role never turns an allow into a deny.
    #[test]
    fn adding_a_scope_to_a_role_never_takes_access_away(
        world in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 100..=120),
        role in 0..(gen::ORG_ROLES.len() + gen::TEAM_ROLES.len()),
        scope in prop::sample::select(gen::scope_names()),
    ) {
        let policy = Policy::sentry();
        let mut wider = policy.clone();
        let id = policy.scopes.id(&scope).expect("a policy scope");
        match wider.org_roles.get_mut(role) {
            Some(r) => r.scopes.insert(id),
            None => wider.team_roles[role - gen::ORG_ROLES.len()].scopes.insert(id),
        }
        let (m, w) = compile(&policy, &manifest, &world);
        let (m2, w2) = compile(&wider, &manifest, &world);
        let before = Engine::new(&policy, &m, &w);
        let after = Engine::new(&wider, &m2, &w2);
        for spec in &specs {
            let doc = spec.resolve(&world, &manifest.model);
            let (b, a) = (decide(&before, &doc), decide(&after, &doc));
            prop_assert!(
                !b.allowed() || a.allowed(),
                "adding `{scope}` to role #{role} denied ({:?}) what was allowed: {doc:?}",
                a.reason
            );
        }
    }

    /// The escalation invariant (security issue 11): for every token minted by a principal
    /// P — a personal token of P, or an org token whose creator is P — and every request,
    /// `allowed(token) ⇒ allowed(P's session)`. Sessions (no superuser, no staff, SSO done)
    /// are turned into org tokens of their user in the request's organization holding every
    /// scope of the endpoint's maps (so the token gate passes and only the creator limits),
    /// besides the generated user and org tokens.
    #[test]
    fn no_minted_token_is_allowed_where_its_minter_is_denied(
        mut world in gen::world(),
        manifest in gen::manifest(),
        specs in vec(gen::request_spec(), 100..=120),
        which in 0u8..4,
    ) {
        // Tokens never face the SSO check that sessions do (decision.md §4, as Sentry):
        // SSO is a sign-in factor, not access. Take it out of the comparison.
        for o in &mut world.organizations {
            o.require_sso = false;
        }
        let policy = gen::policy_variant(which);
        let (m, w) = compile(&policy, &manifest, &world);
        let engine = Engine::new(&policy, &m, &w);
        for spec in &specs {
            let mut doc = spec.resolve(&world, &manifest.model);
            if let PrincipalDoc::Session { user, .. } = doc.principal {
                let scopes = classes(&manifest, &doc)
                    .iter()
                    .flat_map(|c| c.scope_map.get(&doc.method).cloned().unwrap_or_default())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                doc.principal = PrincipalDoc::OrgToken {
                    organization: doc.organization.clone().unwrap_or_else(|| "nope".into()),
                    scopes,
                    creator: Some(user),
                };
            }
            let minter = match &doc.principal {
                PrincipalDoc::UserToken { user, .. } => *user,
                PrincipalDoc::OrgToken { creator: Some(user), .. } => *user,
                _ => continue,
            };
            if doc.method == "OPTIONS" || !decide(&engine, &doc).allowed() {
                continue;
            }
            let session = RequestDoc {
                principal: PrincipalDoc::Session {
                    user: minter,
                    superuser: SuperuserDoc::None,
                    staff: false,
                    sso_ok: true,
                },
                ..doc.clone()
            };
            let d = decide(&engine, &session);
            prop_assert!(
                d.allowed(),
                "a token minted by user {minter} is allowed where that user's session is \
                 denied ({:?}): {doc:?}",
                d.reason
            );
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// `World::team_by_id` finds every team of the document in its own organization, by
    /// its id, and no team in an organization it does not belong to.
    #[test]
    fn team_by_id_finds_each_team_in_its_organization_only(world in gen::world()) {
        let policy = Policy::sentry();
        let w = World::build(&world, &policy).expect("generated world builds");
        for team in &world.teams {
            for org in &world.organizations {
                let o = w.org_by_slug(&org.slug).expect("every organization is indexed");
                let found = w.team_by_id(o, team.id);
                if org.id == team.organization {
                    let t = found.expect("a team is found by id in its organization");
                    prop_assert_eq!(t.id, team.id);
                    prop_assert_eq!(&t.slug, &team.slug);
                } else {
                    prop_assert!(found.is_none(), "team {} found in organization {}", team.id, org.id);
                }
            }
        }
    }
}
