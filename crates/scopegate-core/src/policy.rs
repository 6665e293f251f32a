//! The policy: the scope registry, organization and team roles, option trimming and
//! granular resources (docs/policy.md).
//!
//! A policy is loaded from TOML (or JSON with the same shape) and validated whole: every
//! problem is reported with its location, and a policy with problems is never returned.

use crate::scope::{ScopeId, ScopeRegistry, ScopeSet};
use crate::source::{Diagnostics, Problems, Source};

mod load;

use load::load_node;

/// The built-in Sentry policy, as shipped in `crates/scopegate-core/policies/sentry.toml`
/// (`policies/sentry.toml` at the repository root is a link to it).
pub const SENTRY_POLICY_TOML: &str = include_str!("../policies/sentry.toml");

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// Every declared scope.
    pub scopes: ScopeRegistry,
    /// The read-only scopes (what the lint guard looks for on mutations).
    pub readonly: ScopeSet,
    /// Scopes that no role may hold, grantable to tokens only.
    pub token_only: ScopeSet,
    /// For each scope (by index), the scopes it implies, itself included, transitively.
    pub implies: Vec<ScopeSet>,
    /// Organization roles, lowest priority first.
    pub org_roles: Vec<OrgRole>,
    /// Team roles, lowest priority first.
    pub team_roles: Vec<TeamRole>,
    /// Organization options that trim role scopes.
    pub org_options: Vec<OrgOption>,
    /// Granular resources (the replay allowlist, generalized).
    pub granular_resources: Vec<GranularResource>,
    /// The organization feature that makes team-role scopes count.
    pub team_roles_feature: String,
    /// The scopes every organization auth token is created with, whatever the request asks
    /// (`[tokens] org_token_scopes`; Sentry: exactly `org:ci`). Empty when the policy has no
    /// `[tokens]` table: the service then creates no org auth tokens.
    pub org_token_scopes: ScopeSet,
}

/// An organization role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRole {
    /// Stable id (`member`, `owner`, …).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The scopes the role grants.
    pub scopes: ScopeSet,
    /// Still valid when stored, but may not be newly assigned.
    pub retired: bool,
    /// Sees every team and project of the organization without team membership.
    pub global: bool,
}

/// A team role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRole {
    /// Stable id (`contributor`, `admin`, …).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The scopes the role grants on the team's projects.
    pub scopes: ScopeSet,
    /// Org roles at or above this one (by index) get at least this team role.
    pub minimum_for: Option<usize>,
}

/// An organization option that removes scopes from roles that hold none of
/// `unless_role_has_any` when the option is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgOption {
    /// The option key.
    pub key: String,
    /// The value when the organization does not set it.
    pub default: bool,
    /// Scopes removed when the option is false.
    pub when_false_remove: ScopeSet,
    /// Roles holding any of these keep their scopes.
    pub unless_role_has_any: ScopeSet,
}

/// A resource kind guarded by a per-organization allowlist behind a toggle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularResource {
    /// The kind (`replay`).
    pub kind: String,
    /// The organization feature that enables the mechanism at all (when `require_feature`).
    pub feature: String,
    /// Whether the mechanism needs `feature` (policy key `require_feature`, default `true`:
    /// the seed's flag-gated behaviour). `false` follows today's Sentry, where granular
    /// replay is generally available and the toggle option alone enforces.
    pub require_feature: bool,
    /// The organization option that turns enforcement on.
    pub toggle_option: String,
    /// Scopes allowed to edit the allowlist (any one).
    pub manage_scopes: ScopeSet,
    /// Principals that pass the guard whatever the allowlist says.
    pub bypass: Vec<Bypass>,
}

impl GranularResource {
    /// Whether the mechanism is enabled in an organization with `features`: always when the
    /// resource does not require its feature, else when the organization has it.
    pub fn enabled_by(&self, features: &[String]) -> bool {
        !self.require_feature || features.iter().any(|f| f == &self.feature)
    }
}

/// A principal that bypasses a granular guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bypass {
    /// An active superuser (read-only superusers: safe methods only).
    Superuser,
    /// An organization auth token of the organization, holding `scope` if given.
    OrgToken(Option<ScopeId>),
    /// A legacy API key of the organization, holding `scope` if given.
    ApiKey(Option<ScopeId>),
    /// An integration installed on the organization whose scopes include `scope` if given.
    Integration(Option<ScopeId>),
}

impl Policy {
    /// The built-in Sentry policy.
    pub fn sentry() -> Policy {
        // The built-in policy is checked by the test suite; should it ever fail to load,
        // fall back to an empty policy that denies everything rather than panic.
        Policy::load(&Source::new("policies/sentry.toml", SENTRY_POLICY_TOML))
            .unwrap_or_else(|_| Policy::empty())
    }

    /// A policy with no scopes and no roles: nothing is ever granted.
    pub fn empty() -> Policy {
        Policy {
            name: "empty".into(),
            scopes: ScopeRegistry::default(),
            readonly: ScopeSet::EMPTY,
            token_only: ScopeSet::EMPTY,
            implies: Vec::new(),
            org_roles: Vec::new(),
            team_roles: Vec::new(),
            org_options: Vec::new(),
            granular_resources: Vec::new(),
            team_roles_feature: "organizations:team-roles".into(),
            org_token_scopes: ScopeSet::EMPTY,
        }
    }

    /// Loads and validates a policy document.
    pub fn load(source: &Source) -> Result<Policy, Diagnostics> {
        let node = source
            .parse()
            .map_err(|p| Diagnostics::new(source, vec![p]))?;
        let mut problems = Problems::default();
        let policy = load_node(&node, &mut problems);
        match policy {
            Some(p) if problems.is_empty() => Ok(p),
            _ => Err(Diagnostics::new(source, problems.into_vec())),
        }
    }

    /// The org role with id `id`, and its priority.
    pub fn org_role(&self, id: &str) -> Option<(usize, &OrgRole)> {
        self.org_roles.iter().enumerate().find(|(_, r)| r.id == id)
    }

    /// The team role with id `id`, and its priority.
    pub fn team_role(&self, id: &str) -> Option<(usize, &TeamRole)> {
        self.team_roles.iter().enumerate().find(|(_, r)| r.id == id)
    }

    /// The granular resource of kind `kind`, and its index.
    pub fn granular(&self, kind: &str) -> Option<(usize, &GranularResource)> {
        self.granular_resources
            .iter()
            .enumerate()
            .find(|(_, g)| g.kind == kind)
    }

    /// The minimum team role (index) of a member with org role `org_role` (index):
    /// the top team role for the top org role; else the highest team role whose
    /// `minimum_for` names an org role at or below the member's; else the first team role.
    pub fn minimum_team_role(&self, org_role: usize) -> Option<usize> {
        if self.team_roles.is_empty() {
            return None;
        }
        let top_team = self.team_roles.len() - 1;
        if org_role + 1 == self.org_roles.len() {
            return Some(top_team);
        }
        let best = self
            .team_roles
            .iter()
            .enumerate()
            .filter(|(_, t)| t.minimum_for.is_some_and(|m| m <= org_role))
            .map(|(i, _)| i)
            .max();
        Some(best.unwrap_or(0))
    }

    /// The scopes of a role's scope set once the organization's options are applied
    /// (Sentry's `Organization.get_scopes`). `option_value(key)` gives the organization's
    /// value of an option, `None` when unset.
    pub fn trim_scopes(
        &self,
        scopes: ScopeSet,
        option_value: impl Fn(&str) -> Option<bool>,
    ) -> ScopeSet {
        let mut out = scopes;
        for opt in &self.org_options {
            if scopes.intersects(opt.unless_role_has_any) {
                continue;
            }
            if !option_value(&opt.key).unwrap_or(opt.default) {
                out = out.difference(opt.when_false_remove);
            }
        }
        out
    }

    /// The scopes implied by `set`, itself included (the hierarchy applied when token scopes
    /// are stored).
    pub fn expand_implied(&self, set: ScopeSet) -> ScopeSet {
        set.iter()
            .filter_map(|id| self.implies.get(id.index()))
            .fold(set, |acc, s| acc.union(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &Policy, set: ScopeSet) -> Vec<&str> {
        p.scopes.sorted_names(set)
    }

    #[test]
    fn sentry_policy_reproduces_sentry() {
        let p = Policy::load(&Source::new("sentry.toml", SENTRY_POLICY_TOML)).unwrap();
        assert_eq!(p.name, "sentry");
        assert_eq!(p.scopes.len(), 25);
        assert_eq!(
            names(&p, p.readonly),
            [
                "alerts:read",
                "event:read",
                "member:read",
                "org:read",
                "project:read",
                "team:read"
            ]
        );
        assert_eq!(names(&p, p.token_only), ["project:distribution"]);
        let ids: Vec<_> = p
            .org_roles
            .iter()
            .map(|r| (r.id.as_str(), r.scopes.len(), r.retired, r.global))
            .collect();
        assert_eq!(
            ids,
            [
                ("member", 11, false, false),
                ("admin", 16, true, false),
                ("manager", 19, false, true),
                ("owner", 20, false, true)
            ]
        );
        let teams: Vec<_> = p
            .team_roles
            .iter()
            .map(|r| (r.id.as_str(), r.scopes.len()))
            .collect();
        assert_eq!(teams, [("contributor", 8), ("admin", 15)]);
        // member -> contributor; admin, manager, owner -> team admin
        let min: Vec<_> = (0..4).map(|i| p.minimum_team_role(i).unwrap()).collect();
        assert_eq!(min, [0, 1, 1, 1]);
        // No role holds org:ci, project:distribution or the OIDC scopes.
        for r in &p.org_roles {
            for s in [
                "org:ci",
                "project:distribution",
                "openid",
                "profile",
                "email",
            ] {
                assert!(
                    !r.scopes.contains(p.scopes.id(s).unwrap()),
                    "{} holds {s}",
                    r.id
                );
            }
        }
        // owner = manager + org:admin
        let (_, owner) = p.org_role("owner").unwrap();
        let (_, manager) = p.org_role("manager").unwrap();
        assert_eq!(
            names(&p, owner.scopes.difference(manager.scopes)),
            ["org:admin"]
        );
        assert_eq!(p.granular_resources.len(), 1);
        assert_eq!(p.granular_resources[0].bypass.len(), 3);
        // Sentry creates org auth tokens with exactly `org:ci`.
        assert_eq!(names(&p, p.org_token_scopes), ["org:ci"]);
    }

    #[test]
    fn token_settings_are_validated_with_their_location() {
        let base = "name = \"x\"\n[scopes]\nall = [\"a:ci\", \"a:read\"]\n";
        let ok = Policy::load(&Source::new(
            "p.toml",
            format!("{base}[tokens]\norg_token_scopes = [\"a:ci\"]\n"),
        ))
        .unwrap();
        assert_eq!(names(&ok, ok.org_token_scopes), ["a:ci"]);
        // Absent: org auth tokens get no scopes (the service creates none).
        let none = Policy::load(&Source::new("p.toml", base)).unwrap();
        assert!(none.org_token_scopes.is_empty());
        let err = Policy::load(&Source::new(
            "p.toml",
            format!("{base}[tokens]\norg_token_scopes = [\"a:ci\", \"ghost\"]\nextra = 1\n"),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("p.toml:5:29: unknown scope `ghost` in `tokens.org_token_scopes`"),
            "{err}"
        );
        assert!(
            err.contains("p.toml:6:1: unknown field `extra` in `[tokens]`"),
            "{err}"
        );
        let err = Policy::load(&Source::new("p.toml", format!("{base}[tokens]\n")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing field `org_token_scopes` in `[tokens]`"),
            "{err}"
        );
        let text = "name = \"x\"\ntokens = 3\n[scopes]\nall = [\"a:ci\"]\n";
        let err = Policy::load(&Source::new("p.toml", text))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.toml:2:10: `[tokens]` must be a table, found an integer"),
            "{err}"
        );
    }

    #[test]
    fn implication_is_transitive_and_reflexive() {
        let p = Policy::sentry();
        let id = |s| p.scopes.id(s).unwrap();
        let admin = p.expand_implied(ScopeSet::single(id("org:admin")));
        assert_eq!(
            names(&p, admin),
            ["org:admin", "org:integrations", "org:read", "org:write"]
        );
        let releases = p.expand_implied(ScopeSet::single(id("project:releases")));
        assert_eq!(names(&p, releases), ["project:releases"]);
        let member_admin = p.expand_implied(ScopeSet::single(id("member:admin")));
        assert_eq!(member_admin.len(), 4);
    }

    #[test]
    fn options_trim_only_roles_without_non_member_scopes() {
        let p = Policy::sentry();
        let (_, member) = p.org_role("member").unwrap();
        let (_, manager) = p.org_role("manager").unwrap();
        let off = |k: &str| (k == "sentry:events_member_admin").then_some(false);
        let trimmed = p.trim_scopes(member.scopes, off);
        assert_eq!(
            names(&p, member.scopes.difference(trimmed)),
            ["event:admin"]
        );
        assert_eq!(p.trim_scopes(manager.scopes, off), manager.scopes);
        let both_off = |_: &str| Some(false);
        let trimmed = p.trim_scopes(member.scopes, both_off);
        assert_eq!(
            names(&p, member.scopes.difference(trimmed)),
            ["alerts:write", "event:admin"]
        );
        // Defaults are true: nothing removed when unset.
        assert_eq!(p.trim_scopes(member.scopes, |_| None), member.scopes);
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let text = r#"name = "broken"
[scopes]
all = ["a:read", "a:write", "a:read"]
readonly = ["a:read", "nope"]
[scopes.implies]
"a:read" = ["a:write"]
"a:write" = ["a:read"]
[[org_roles]]
id = "member"
scopes = ["a:read", "ghost"]
[[org_roles]]
id = "member"
[[team_roles]]
id = "t"
minimum_for = "boss"
"#;
        let err = Policy::load(&Source::new("p.toml", text)).unwrap_err();
        let lines: Vec<String> = err.items.iter().map(ToString::to_string).collect();
        let expect = [
            "p.toml:3:29: duplicate scope `a:read` in `scopes.all`",
            "p.toml:4:23: unknown scope `nope` in `scopes.readonly`",
            "p.toml:10:21: unknown scope `ghost` in the scopes of org role `member`",
            "p.toml:12:6: duplicate org role id `member`",
            "p.toml:15:15: `minimum_for` of team role `t` names unknown org role `boss`",
        ];
        for e in expect {
            assert!(lines.iter().any(|l| l == e), "missing {e:?} in {lines:#?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("p.toml:7:1: cycle in `scopes.implies` through `a:write`")),
            "{lines:#?}"
        );
    }

    #[test]
    fn syntax_errors_and_wrong_types_are_located() {
        let err = Policy::load(&Source::new("p.toml", "name = \n")).unwrap_err();
        assert!(err.items[0].to_string().starts_with("p.toml:1:"), "{err}");
        let err =
            Policy::load(&Source::new("p.toml", "name = 1\n[scopes]\nall = \"x\"\n")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("p.toml:1:8: `name` must be a string, found an integer"),
            "{text}"
        );
        assert!(
            text.contains("p.toml:3:7: `scopes.all` must be an array of strings, found a string"),
            "{text}"
        );
        let err = Policy::load(&Source::new(
            "p.toml",
            "name = \"x\"\ncolour = 1\n[scopes]\nall = []\n",
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("p.toml:2:1: unknown field `colour` in the policy"),
            "{err}"
        );
    }

    #[test]
    fn too_many_scopes_is_an_error() {
        let names: Vec<String> = (0..129).map(|i| format!("\"s{i}\"")).collect();
        let text = format!("name = \"big\"\n[scopes]\nall = [{}]\n", names.join(", "));
        let err = Policy::load(&Source::new("p.toml", text)).unwrap_err();
        assert!(err.to_string().contains("at most 128 scopes"), "{err}");
    }

    #[test]
    fn require_feature_is_a_per_resource_setting() {
        let sentry = Policy::sentry();
        let g = &sentry.granular_resources[0];
        assert!(
            g.require_feature,
            "the built-in policy keeps the seed's flag gate"
        );
        assert!(!g.enabled_by(&[]));
        assert!(g.enabled_by(std::slice::from_ref(&g.feature)));
        let ga = SENTRY_POLICY_TOML.replace("require_feature = true", "require_feature = false");
        let p = Policy::load(&Source::new("ga.toml", ga)).unwrap();
        let g = &p.granular_resources[0];
        assert!(!g.require_feature);
        assert!(
            g.enabled_by(&[]),
            "without the requirement the option alone enforces"
        );
        let bad = SENTRY_POLICY_TOML.replace("require_feature = true", "require_feature = \"no\"");
        let err = Policy::load(&Source::new("bad.toml", bad)).unwrap_err();
        assert!(
            err.to_string()
                .contains("`require_feature` of granular resource `replay` must be a boolean"),
            "{err}"
        );
    }
}
