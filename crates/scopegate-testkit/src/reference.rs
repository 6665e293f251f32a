//! The reference evaluator: deliberately naive, written straight from `docs/decision.md`
//! (and docs/decision.md), without reading the engine (`src/engine.rs`) or the world index
//! (`src/world.rs`). It reads the wire documents as they are (`WorldDoc`, `RequestDoc`), the
//! policy's data turned into scope *names*, and a plain model of the manifest; every lookup
//! is a linear scan and every scope set a `BTreeSet<String>`. Slow, obvious, independent:
//! the differential test compares it with the engine on random worlds.

use std::collections::BTreeSet;

use scopegate_core::policy::Bypass;
use scopegate_core::wire::{
    IntegrationDoc, MemberDoc, MemberTeamDoc, OrganizationDoc, SuperuserDoc, UserDoc,
};
use scopegate_core::{Policy, PrincipalDoc, RequestDoc, WorldDoc};

mod decision;
mod manifest;

pub use decision::RefDecision;
pub use manifest::{RefClass, RefEndpoint, RefManifest};

/// A set of scope names.
pub type Scopes = BTreeSet<String>;

fn names(policy: &Policy, set: scopegate_core::ScopeSet) -> Scopes {
    set.iter()
        .map(|id| policy.scopes.name(id).to_string())
        .collect()
}

/// Python truthiness of a JSON value.
fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
    }
}

fn disjoint(a: &Scopes, b: &Scopes) -> bool {
    a.intersection(b).next().is_none()
}

fn meet(a: &Scopes, b: &Scopes) -> Scopes {
    a.intersection(b).cloned().collect()
}

/// The policy in scope names.
struct NamedPolicy<'p> {
    policy: &'p Policy,
    all: Scopes,
}

impl<'p> NamedPolicy<'p> {
    fn new(policy: &'p Policy) -> Self {
        NamedPolicy {
            policy,
            all: names(policy, policy.scopes.all()),
        }
    }

    fn readonly(&self) -> Scopes {
        names(self.policy, self.policy.readonly)
    }

    /// `Organization.get_scopes`: each option removes its scopes from a role holding none of
    /// `unless_role_has_any` when the option's value (Python truthiness; the default when
    /// unset) is false.
    fn trim(&self, role_scopes: &Scopes, org: &OrganizationDoc) -> Scopes {
        let mut out = role_scopes.clone();
        for opt in &self.policy.org_options {
            let unless = names(self.policy, opt.unless_role_has_any);
            if !disjoint(role_scopes, &unless) {
                continue;
            }
            let value = match org.options.get(&opt.key) {
                Some(v) => truthy(v),
                None => opt.default,
            };
            if !value {
                for s in names(self.policy, opt.when_false_remove) {
                    out.remove(&s);
                }
            }
        }
        out
    }

    fn org_role_priority(&self, id: &str) -> Option<usize> {
        self.policy.org_roles.iter().position(|r| r.id == id)
    }

    fn team_role_priority(&self, id: &str) -> Option<usize> {
        self.policy.team_roles.iter().position(|r| r.id == id)
    }

    /// The minimum team role of an org role: the top team role for the top org role; else
    /// the highest team role whose `minimum_for` names an org role of priority ≤ the
    /// member's; else the first team role.
    fn minimum_team_role(&self, org_role: usize) -> Option<usize> {
        let n = self.policy.team_roles.len();
        if n == 0 {
            return None;
        }
        if org_role == self.policy.org_roles.len() - 1 {
            return Some(n - 1);
        }
        let mut best = None;
        for (i, t) in self.policy.team_roles.iter().enumerate() {
            if let Some(m) = t.minimum_for {
                if m <= org_role {
                    best = Some(i);
                }
            }
        }
        Some(best.unwrap_or(0))
    }
}

/// What the caller holds in the target organization (decision.md §4).
struct Access<'w> {
    member: Option<&'w MemberDoc>,
    /// Member scopes: trimmed role scopes ∩ bound.
    member_scopes: Scopes,
    member_global: bool,
    /// Upper bound on member and team-role scopes.
    bound: Scopes,
    global_scopes: Scopes,
    global_path: Option<&'static str>,
    staff: bool,
    read_only_on_unsafe: bool,
    user_backed: bool,
}

/// Decides `req` the slow, obvious way.
pub fn decide(
    policy: &Policy,
    manifest: &RefManifest,
    world: &WorldDoc,
    req: &RequestDoc,
) -> RefDecision {
    let decision = decide_steps(policy, manifest, world, req);
    // 7. Creator bound: an org token with a creator is never allowed where the creator,
    // as a personal token holding every scope and bound to no organization, is denied.
    let PrincipalDoc::OrgToken {
        creator: Some(user),
        ..
    } = &req.principal
    else {
        return decision;
    };
    if !decision.allowed() || req.method == "OPTIONS" {
        return decision;
    }
    let as_creator = RequestDoc {
        principal: PrincipalDoc::UserToken {
            user: *user,
            scopes: policy
                .scopes
                .sorted_names(policy.scopes.all())
                .into_iter()
                .map(String::from)
                .collect(),
            organization: None,
        },
        ..req.clone()
    };
    if decide_steps(policy, manifest, world, &as_creator).allowed() {
        decision
    } else {
        RefDecision::deny("creator_denied")
    }
}

/// Steps 0 to 6 and the allow, for the request's own principal.
fn decide_steps(
    policy: &Policy,
    manifest: &RefManifest,
    world: &WorldDoc,
    req: &RequestDoc,
) -> RefDecision {
    let np = NamedPolicy::new(policy);
    let method = req.method.as_str();

    // 0. Endpoint.
    let Some(endpoint) = manifest.endpoints.iter().find(|e| e.name == req.endpoint) else {
        return RefDecision::deny("not_found");
    };
    let classes: Vec<&RefClass> = endpoint
        .classes
        .iter()
        .map(|c| manifest.class(c).expect("endpoint names a known class"))
        .collect();

    // 1. Preflight.
    if method == "OPTIONS" {
        return RefDecision::allow("preflight", None);
    }

    // 2. Authentication.
    let user_exists = |id: u64| world.users.iter().any(|u| u.id == id);
    let integration_of = |id: u64| world.integrations.iter().find(|i| i.id == id);
    match &req.principal {
        PrincipalDoc::Anonymous => return RefDecision::deny("unauthenticated"),
        PrincipalDoc::Session { user, .. } | PrincipalDoc::UserToken { user, .. }
            if !user_exists(*user) =>
        {
            return RefDecision::deny("unauthenticated")
        }
        PrincipalDoc::Integration { integration } if integration_of(*integration).is_none() => {
            return RefDecision::deny("unauthenticated")
        }
        PrincipalDoc::UserToken {
            organization: Some(bound_org),
            ..
        } if req.organization.as_deref() != Some(bound_org.as_str()) => {
            return RefDecision::deny("token_organization_mismatch")
        }
        _ => {}
    }

    // 3. Token gate, per class.
    let token_scopes: Option<Scopes> = match &req.principal {
        PrincipalDoc::UserToken { scopes, .. }
        | PrincipalDoc::OrgToken { scopes, .. }
        | PrincipalDoc::ApiKey { scopes, .. } => Some(scopes.iter().cloned().collect()),
        PrincipalDoc::Integration { integration } => Some(
            integration_of(*integration)
                .map(|i| i.scopes.iter().cloned().collect())
                .unwrap_or_default(),
        ),
        _ => None,
    };
    let map_of = |c: &RefClass| c.scope_map.get(method).cloned().unwrap_or_default();
    if let Some(ts) = &token_scopes {
        for c in &classes {
            let map = map_of(c);
            if disjoint(ts, &map) {
                let mut d = RefDecision::deny_missing("insufficient_scope", &map);
                d.challenge = Some(format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    map.iter().cloned().collect::<Vec<_>>().join(" ")
                ));
                return d;
            }
        }
    }

    // 3. Objects.
    let needs_org = endpoint.granular.is_some() || classes.iter().any(|c| c.object != "none");
    let org: Option<&OrganizationDoc> = match &req.organization {
        Some(slug) => match world.organizations.iter().find(|o| &o.slug == slug) {
            Some(o) => Some(o),
            None => return RefDecision::deny("not_found"),
        },
        None if needs_org => return RefDecision::deny("not_found"),
        None => None,
    };
    let project = match &req.project {
        Some(slug) => {
            let Some(o) = org else {
                return RefDecision::deny("not_found");
            };
            match world
                .projects
                .iter()
                .find(|p| p.organization == o.id && &p.slug == slug)
            {
                Some(p) if p.active => Some(p),
                _ => return RefDecision::deny("not_found"),
            }
        }
        None if classes.iter().any(|c| c.object == "project") => {
            return RefDecision::deny("not_found")
        }
        None => None,
    };
    let team = match &req.team {
        Some(slug) => {
            let Some(o) = org else {
                return RefDecision::deny("not_found");
            };
            match world
                .teams
                .iter()
                .find(|t| t.organization == o.id && &t.slug == slug)
            {
                Some(t) => Some(t),
                None => return RefDecision::deny("not_found"),
            }
        }
        None if classes.iter().any(|c| c.object == "team") => {
            return RefDecision::deny("not_found")
        }
        None => None,
    };

    // 4. Access.
    // A read-only superuser may use GET (and OPTIONS, decided before this point) only.
    let safe = method == "GET";
    let membership = |user: u64| -> Option<&MemberDoc> {
        let o = org?;
        world
            .members
            .iter()
            .find(|m| m.organization == o.id && m.user == Some(user))
    };
    let user_doc =
        |id: u64| -> &UserDoc { world.users.iter().find(|u| u.id == id).expect("known user") };
    let mut access = Access {
        member: None,
        member_scopes: Scopes::new(),
        member_global: false,
        bound: np.all.clone(),
        global_scopes: Scopes::new(),
        global_path: None,
        staff: false,
        read_only_on_unsafe: false,
        user_backed: false,
    };
    match &req.principal {
        PrincipalDoc::Anonymous => unreachable!("denied at step 2"),
        PrincipalDoc::System => {
            access.global_scopes = np.all.clone();
            access.global_path = Some("system");
        }
        PrincipalDoc::OrgToken { organization, .. } | PrincipalDoc::ApiKey { organization, .. } => {
            if req.organization.as_ref().is_some_and(|o| o != organization) {
                return RefDecision::deny("wrong_organization");
            }
            access.global_scopes = np.all.clone();
            access.global_path = Some(match req.principal {
                PrincipalDoc::OrgToken { .. } => "org_token",
                _ => "api_key",
            });
        }
        PrincipalDoc::Integration { integration } => {
            let i: &IntegrationDoc = integration_of(*integration).expect("known integration");
            if let Some(o) = org {
                if !i.installed_on.contains(&o.id) {
                    return RefDecision::deny("wrong_organization");
                }
            }
            access.global_scopes = i.scopes.iter().cloned().collect();
            access.global_path = Some("integration");
        }
        PrincipalDoc::Session {
            user,
            superuser,
            staff,
            sso_ok,
        } => {
            access.user_backed = true;
            access.staff = *staff;
            access.member = membership(*user);
            match superuser {
                SuperuserDoc::Write => access.global_scopes = np.all.clone(),
                SuperuserDoc::Read if safe => access.global_scopes = np.readonly(),
                SuperuserDoc::Read => access.read_only_on_unsafe = true,
                SuperuserDoc::None => {}
            }
            if *superuser != SuperuserDoc::None {
                access.global_path = Some("superuser");
            }
            if let (Some(m), SuperuserDoc::None) = (access.member, superuser) {
                let o = org.expect("a member implies an organization");
                if o.require_sso && !(*sso_ok && m.flags.sso_linked) {
                    return RefDecision::deny("sso_required");
                }
                if o.require_2fa && !user_doc(*user).has_2fa && !*staff {
                    return RefDecision::deny("2fa_required");
                }
                if m.flags.member_limit_restricted {
                    return RefDecision::deny("member_disabled_over_limit");
                }
            }
        }
        PrincipalDoc::UserToken { user, scopes, .. } => {
            access.user_backed = true;
            access.member = membership(*user);
            access.bound = scopes.iter().cloned().collect();
            if let Some(m) = access.member {
                let o = org.expect("a member implies an organization");
                if o.require_2fa && !user_doc(*user).has_2fa {
                    return RefDecision::deny("2fa_required");
                }
                if m.flags.member_limit_restricted {
                    return RefDecision::deny("member_disabled_over_limit");
                }
            }
        }
    }
    if let Some(m) = access.member {
        let o = org.expect("a member implies an organization");
        let role = np.org_role_priority(&m.role).expect("known org role");
        let role_scopes = names(policy, policy.org_roles[role].scopes);
        access.member_scopes = meet(&np.trim(&role_scopes, o), &access.bound);
        access.member_global = policy.org_roles[role].global || o.open_membership;
    }

    // Team-role scopes of one membership (counted only with the team-roles feature).
    let team_role_scopes = |m: &MemberDoc, mt: &MemberTeamDoc| -> Scopes {
        let o = org.expect("a member implies an organization");
        let has_feature = o.features.iter().any(|f| f == &policy.team_roles_feature);
        if !has_feature {
            return Scopes::new();
        }
        let role = np.org_role_priority(&m.role).expect("known org role");
        let Some(mut effective) = np.minimum_team_role(role) else {
            return Scopes::new();
        };
        if let Some(explicit) = &mt.role {
            let p = np.team_role_priority(explicit).expect("known team role");
            if p > effective {
                effective = p;
            }
        }
        let scopes = names(policy, policy.team_roles[effective].scopes);
        meet(&np.trim(&scopes, o), &access.bound)
    };
    fn on_team(m: &MemberDoc, team_id: u64) -> Option<&MemberTeamDoc> {
        m.teams.iter().find(|t| t.team == team_id)
    }

    // 5. Object check, per class in order.
    const ORDER: [&str; 8] = [
        "role_scope",
        "team_role_scope",
        "org_token",
        "api_key",
        "integration",
        "superuser",
        "staff",
        "system",
    ];
    let rank = |p: &str| ORDER.iter().position(|x| *x == p).expect("known path");
    let mut best: Option<&'static str> = None;
    for c in &classes {
        if c.object == "none" {
            continue;
        }
        let map = map_of(c);
        let mut path: Option<&'static str> = None;
        // 1. role_scope
        if let Some(m) = access.member {
            if !disjoint(&access.member_scopes, &map) {
                let reach = match c.object.as_str() {
                    "organization" => true,
                    "project" => {
                        let p = project.expect("project resolved");
                        access.member_global || p.teams.iter().any(|t| on_team(m, *t).is_some())
                    }
                    "team" => {
                        let t = team.expect("team resolved");
                        access.member_global || on_team(m, t.id).is_some()
                    }
                    other => panic!("unknown object {other}"),
                };
                if reach {
                    path = Some("role_scope");
                }
            }
        }
        // 2. team_role_scope
        if path.is_none() {
            if let Some(m) = access.member {
                let trs: Scopes = match c.object.as_str() {
                    "project" => {
                        let p = project.expect("project resolved");
                        m.teams
                            .iter()
                            .filter(|mt| p.teams.contains(&mt.team))
                            .flat_map(|mt| team_role_scopes(m, mt))
                            .collect()
                    }
                    "team" => {
                        let t = team.expect("team resolved");
                        on_team(m, t.id)
                            .map(|mt| team_role_scopes(m, mt))
                            .unwrap_or_default()
                    }
                    _ => Scopes::new(),
                };
                if !disjoint(&trs, &map) {
                    path = Some("team_role_scope");
                }
            }
        }
        // 3. global scopes
        if path.is_none() && !disjoint(&access.global_scopes, &map) {
            path = access.global_path;
        }
        // 4. staff
        if path.is_none() && c.allow_staff && access.staff {
            path = Some("staff");
        }
        match path {
            Some(p) => {
                if best.is_none_or(|b| rank(p) > rank(b)) {
                    best = Some(p);
                }
            }
            None => {
                let holds = !disjoint(&access.member_scopes, &map);
                return if access.read_only_on_unsafe {
                    RefDecision::deny("superuser_read_only")
                } else if access.user_backed && access.member.is_none() {
                    RefDecision::deny("not_a_member")
                } else if c.object == "project" && holds {
                    RefDecision::deny("no_project_access")
                } else if c.object == "team" && holds {
                    RefDecision::deny("no_team_access")
                } else {
                    RefDecision::deny_missing("missing_scope", &map)
                };
            }
        }
    }
    let path = best.unwrap_or(match req.principal {
        PrincipalDoc::OrgToken { .. } => "org_token",
        PrincipalDoc::ApiKey { .. } => "api_key",
        PrincipalDoc::Integration { .. } => "integration",
        PrincipalDoc::System => "system",
        _ => "authenticated",
    });

    // 6. Granular guard.
    let mut granular = None;
    if let Some(kind) = &endpoint.granular {
        let o = org.expect("a granular endpoint needs an organization");
        let resource = policy
            .granular_resources
            .iter()
            .find(|g| &g.kind == kind)
            .expect("known granular resource");
        let superuser_passes = match req.principal {
            PrincipalDoc::Session { superuser, .. } => {
                superuser == SuperuserDoc::Write || (superuser == SuperuserDoc::Read && safe)
            }
            _ => false,
        };
        let bypass_has_superuser = resource.bypass.contains(&Bypass::Superuser);
        let toggle_on = o.options.get(&resource.toggle_option).is_some_and(truthy);
        let holds_bypass_scope = |scope: &Option<scopegate_core::ScopeId>| match scope {
            None => true,
            Some(id) => token_scopes
                .as_ref()
                .is_some_and(|ts| ts.contains(policy.scopes.name(*id))),
        };
        let bypass_entry = resource.bypass.iter().any(|b| match (b, &req.principal) {
            (Bypass::OrgToken(s), PrincipalDoc::OrgToken { .. })
            | (Bypass::ApiKey(s), PrincipalDoc::ApiKey { .. })
            | (Bypass::Integration(s), PrincipalDoc::Integration { .. }) => holds_bypass_scope(s),
            _ => false,
        });
        let grants: Vec<_> = world
            .granular_grants
            .iter()
            .filter(|g| g.organization == o.id && &g.kind == kind)
            .collect();
        granular = Some(
            if resource.require_feature && !o.features.iter().any(|f| f == &resource.feature) {
                "granular_off"
            } else if matches!(req.principal, PrincipalDoc::System)
                || (superuser_passes && bypass_has_superuser)
            {
                "granular_bypass"
            } else if !toggle_on {
                "granular_off"
            } else if bypass_entry {
                "granular_bypass"
            } else {
                let Some(m) = access.member else {
                    return RefDecision::deny("granular_access_denied");
                };
                if grants.is_empty() {
                    return RefDecision::deny("granular_access_denied");
                }
                let listed = grants.iter().any(|g| {
                    g.member == Some(m.id) || g.team.is_some_and(|t| on_team(m, t).is_some())
                });
                if !listed {
                    return RefDecision::deny("granular_access_denied");
                }
                "granular_grant"
            },
        );
    }

    // 7. Allow.
    RefDecision::allow(path, granular)
}
