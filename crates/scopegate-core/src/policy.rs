//! The policy: the scope registry, organization and team roles, option trimming and
//! granular resources (product.md §2).
//!
//! A policy is loaded from TOML (or JSON with the same shape) and validated whole: every
//! problem is reported with its location, and a policy with problems is never returned.

use std::ops::Range;

use crate::scope::{ScopeId, ScopeRegistry, ScopeSet, MAX_SCOPES};
use crate::source::{Diagnostics, Node, Problems, Source, Value};

/// The built-in Sentry policy, as shipped in `policies/sentry.toml`.
pub const SENTRY_POLICY_TOML: &str = include_str!("../../../policies/sentry.toml");

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

const POLICY_KEYS: &[&str] = &[
    "name",
    "team_roles_feature",
    "scopes",
    "org_roles",
    "team_roles",
    "org_options",
    "granular_resources",
    "tokens",
];

fn load_node(root: &Node, p: &mut Problems) -> Option<Policy> {
    let table = p.table(root, "the policy")?;
    p.unknown_keys(table, POLICY_KEYS, "the policy");

    let name = match root.get("name") {
        Some(n) => p.string(n, "`name`").unwrap_or_default().to_string(),
        None => {
            p.push(0..0, "missing field `name` in the policy");
            String::new()
        }
    };
    let team_roles_feature = root
        .get("team_roles_feature")
        .and_then(|n| p.string(n, "`team_roles_feature`"))
        .unwrap_or("organizations:team-roles")
        .to_string();

    let Some(scopes_node) = root.get("scopes") else {
        p.push(0..0, "missing table `[scopes]` in the policy");
        return None;
    };
    let scopes_table = p.table(scopes_node, "`[scopes]`")?;
    p.unknown_keys(
        scopes_table,
        &["all", "readonly", "token_only", "implies"],
        "`[scopes]`",
    );
    let Some(all_node) = scopes_node.get("all") else {
        p.push(
            scopes_node.span.clone(),
            "missing field `all` in `[scopes]`",
        );
        return None;
    };
    let all = p.strings(all_node, "`scopes.all`");
    let mut seen: Vec<&str> = Vec::new();
    for (s, span) in &all {
        if seen.contains(s) {
            p.push(
                span.clone(),
                format!("duplicate scope `{s}` in `scopes.all`"),
            );
        } else if s.trim().is_empty() {
            p.push(span.clone(), "a scope name must not be blank");
        } else {
            seen.push(s);
        }
    }
    let Some(registry) = ScopeRegistry::new(seen.iter().copied()) else {
        p.push(
            all_node.span.clone(),
            format!(
                "a policy declares at most {MAX_SCOPES} scopes, found {}",
                seen.len()
            ),
        );
        return None;
    };
    let set = |p: &mut Problems, node: Option<&Node>, what: &str| -> ScopeSet {
        node.map(|n| scope_set(p, &registry, n, what))
            .unwrap_or_default()
    };
    let readonly = set(p, scopes_node.get("readonly"), "`scopes.readonly`");
    let token_only = set(p, scopes_node.get("token_only"), "`scopes.token_only`");
    let implies = load_implies(p, &registry, scopes_node.get("implies"));

    let org_roles = load_org_roles(p, &registry, root.get("org_roles"));
    for role in &org_roles {
        let bad = role.scopes.intersection(token_only);
        if !bad.is_empty() {
            p.push(
                0..0,
                format!(
                    "org role `{}` holds token-only scopes: {}",
                    role.id,
                    registry.sorted_names(bad).join(", ")
                ),
            );
        }
    }
    let team_roles = load_team_roles(p, &registry, &org_roles, root.get("team_roles"));
    let org_options = load_org_options(p, &registry, root.get("org_options"));
    let granular_resources = load_granular(p, &registry, root.get("granular_resources"));
    let org_token_scopes = load_tokens(p, &registry, root.get("tokens"));

    Some(Policy {
        name,
        scopes: registry,
        readonly,
        token_only,
        implies,
        org_roles,
        team_roles,
        org_options,
        granular_resources,
        team_roles_feature,
        org_token_scopes,
    })
}

fn load_tokens(p: &mut Problems, registry: &ScopeRegistry, node: Option<&Node>) -> ScopeSet {
    let Some(node) = node else {
        return ScopeSet::EMPTY;
    };
    let Some(table) = p.table(node, "`[tokens]`") else {
        return ScopeSet::EMPTY;
    };
    p.unknown_keys(table, &["org_token_scopes"], "`[tokens]`");
    match node.get("org_token_scopes") {
        Some(n) => scope_set(p, registry, n, "`tokens.org_token_scopes`"),
        None => {
            p.push(
                node.span.clone(),
                "missing field `org_token_scopes` in `[tokens]`",
            );
            ScopeSet::EMPTY
        }
    }
}

fn scope_set(p: &mut Problems, registry: &ScopeRegistry, node: &Node, what: &str) -> ScopeSet {
    let mut set = ScopeSet::EMPTY;
    for (name, span) in p.strings(node, what) {
        match registry.id(name) {
            Some(id) => set.insert(id),
            None => p.push(span, format!("unknown scope `{name}` in {what}")),
        }
    }
    set
}

fn scope_ref(
    p: &mut Problems,
    registry: &ScopeRegistry,
    node: &Node,
    what: &str,
) -> Option<ScopeId> {
    let name = p.string(node, what)?;
    let id = registry.id(name);
    if id.is_none() {
        p.push(
            node.span.clone(),
            format!("unknown scope `{name}` in {what}"),
        );
    }
    id
}

fn load_implies(p: &mut Problems, registry: &ScopeRegistry, node: Option<&Node>) -> Vec<ScopeSet> {
    let n = registry.len();
    // direct[i]: the scopes scope i names directly.
    let mut direct = vec![ScopeSet::EMPTY; n];
    let mut spans: Vec<Option<Range<usize>>> = vec![None; n];
    if let Some(node) = node {
        if let Some(table) = p.table(node, "`scopes.implies`") {
            for (key, value) in table {
                let Some(id) = registry.id(&key.name) else {
                    p.push(
                        key.span.clone(),
                        format!("unknown scope `{}` in `scopes.implies`", key.name),
                    );
                    continue;
                };
                let mut set = scope_set(
                    p,
                    registry,
                    value,
                    &format!("`scopes.implies.\"{}\"`", key.name),
                );
                // A scope trivially implies itself; Sentry's own mapping lists it.
                set = set.difference(ScopeSet::single(id));
                if let Some(d) = direct.get_mut(id.index()) {
                    *d = set;
                }
                if let Some(s) = spans.get_mut(id.index()) {
                    *s = Some(key.span.clone());
                }
            }
        }
    }
    // Cycle detection (depth-first, three colours), then the transitive closure.
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut closure = vec![ScopeSet::EMPTY; n];
    fn visit(
        i: usize,
        direct: &[ScopeSet],
        state: &mut [u8],
        closure: &mut [ScopeSet],
        cycle: &mut Option<usize>,
    ) {
        if let Some(s) = state.get_mut(i) {
            *s = 1;
        }
        let mut acc = direct.get(i).copied().unwrap_or_default();
        for j in direct.get(i).copied().unwrap_or_default().iter() {
            match state.get(j.index()).copied() {
                Some(0) => visit(j.index(), direct, state, closure, cycle),
                Some(1) => {
                    cycle.get_or_insert(i);
                }
                _ => {}
            }
            acc = acc.union(closure.get(j.index()).copied().unwrap_or_default());
        }
        if let Some(c) = closure.get_mut(i) {
            *c = acc;
        }
        if let Some(s) = state.get_mut(i) {
            *s = 2;
        }
    }
    for i in 0..n {
        if state.get(i) == Some(&0) {
            let mut cycle = None;
            visit(i, &direct, &mut state, &mut closure, &mut cycle);
            if let Some(c) = cycle {
                let name = registry.names().nth(c).unwrap_or("");
                let span = spans.get(c).cloned().flatten().unwrap_or(0..0);
                p.push(span, format!("cycle in `scopes.implies` through `{name}`"));
            }
        }
    }
    registry
        .all()
        .iter()
        .map(|id| {
            closure
                .get(id.index())
                .copied()
                .unwrap_or_default()
                .union(ScopeSet::single(id))
        })
        .collect()
}

fn array_of_tables<'n>(p: &mut Problems, node: Option<&'n Node>, what: &str) -> Vec<&'n Node> {
    let Some(node) = node else { return Vec::new() };
    let Some(items) = node.as_array() else {
        p.push(
            node.span.clone(),
            format!(
                "{what} must be an array of tables, found {}",
                node.value.kind()
            ),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| p.table(item, &format!("each entry of {what}")).is_some())
        .collect()
}

fn required_str<'n>(
    p: &mut Problems,
    node: &'n Node,
    key: &str,
    what: &str,
) -> Option<(&'n str, Range<usize>)> {
    match node.get(key) {
        Some(v) => p
            .string(v, &format!("`{key}` of {what}"))
            .map(|s| (s, v.span.clone())),
        None => {
            p.push(
                node.span.clone(),
                format!("missing field `{key}` in {what}"),
            );
            None
        }
    }
}

fn check_id(p: &mut Problems, ids: &mut Vec<String>, id: &str, span: Range<usize>, what: &str) {
    if id.is_empty() || id.len() > 32 {
        p.push(
            span.clone(),
            format!("{what} id `{id}` must be 1 to 32 characters"),
        );
    }
    if ids.iter().any(|i| i == id) {
        p.push(span, format!("duplicate {what} id `{id}`"));
    }
    ids.push(id.to_string());
}

fn optional_bool(p: &mut Problems, node: &Node, key: &str, what: &str) -> bool {
    node.get(key)
        .and_then(|v| p.boolean(v, &format!("`{key}` of {what}")))
        .unwrap_or(false)
}

fn load_org_roles(p: &mut Problems, registry: &ScopeRegistry, node: Option<&Node>) -> Vec<OrgRole> {
    let mut ids = Vec::new();
    let mut out = Vec::new();
    for item in array_of_tables(p, node, "`org_roles`") {
        if let Some(t) = item.as_table() {
            p.unknown_keys(
                t,
                &["id", "name", "scopes", "retired", "global", "description"],
                "an org role",
            );
        }
        let Some((id, span)) = required_str(p, item, "id", "an org role") else {
            continue;
        };
        check_id(p, &mut ids, id, span, "org role");
        let what = format!("org role `{id}`");
        let scopes = match item.get("scopes") {
            Some(s) => scope_set(p, registry, s, &format!("the scopes of {what}")),
            None => ScopeSet::EMPTY,
        };
        out.push(OrgRole {
            id: id.to_string(),
            name: item
                .get("name")
                .and_then(|n| p.string(n, "`name`"))
                .unwrap_or(id)
                .to_string(),
            scopes,
            retired: optional_bool(p, item, "retired", &what),
            global: optional_bool(p, item, "global", &what),
        });
    }
    if node.is_some() && out.is_empty() && p.is_empty() {
        p.push(
            node.map(|n| n.span.clone()).unwrap_or(0..0),
            "`org_roles` must declare at least one role",
        );
    }
    out
}

fn load_team_roles(
    p: &mut Problems,
    registry: &ScopeRegistry,
    org_roles: &[OrgRole],
    node: Option<&Node>,
) -> Vec<TeamRole> {
    let mut ids = Vec::new();
    let mut out = Vec::new();
    for item in array_of_tables(p, node, "`team_roles`") {
        if let Some(t) = item.as_table() {
            p.unknown_keys(
                t,
                &["id", "name", "scopes", "minimum_for", "description"],
                "a team role",
            );
        }
        let Some((id, span)) = required_str(p, item, "id", "a team role") else {
            continue;
        };
        check_id(p, &mut ids, id, span, "team role");
        let what = format!("team role `{id}`");
        let scopes = match item.get("scopes") {
            Some(s) => scope_set(p, registry, s, &format!("the scopes of {what}")),
            None => ScopeSet::EMPTY,
        };
        let minimum_for = item.get("minimum_for").and_then(|m| {
            let name = p.string(m, &format!("`minimum_for` of {what}"))?;
            let found = org_roles.iter().position(|r| r.id == name);
            if found.is_none() {
                p.push(
                    m.span.clone(),
                    format!("`minimum_for` of {what} names unknown org role `{name}`"),
                );
            }
            found
        });
        out.push(TeamRole {
            id: id.to_string(),
            name: item
                .get("name")
                .and_then(|n| p.string(n, "`name`"))
                .unwrap_or(id)
                .to_string(),
            scopes,
            minimum_for,
        });
    }
    out
}

fn load_org_options(
    p: &mut Problems,
    registry: &ScopeRegistry,
    node: Option<&Node>,
) -> Vec<OrgOption> {
    let mut keys = Vec::new();
    let mut out = Vec::new();
    for item in array_of_tables(p, node, "`org_options`") {
        if let Some(t) = item.as_table() {
            p.unknown_keys(
                t,
                &["key", "default", "when_false_remove", "unless_role_has_any"],
                "an org option",
            );
        }
        let Some((key, span)) = required_str(p, item, "key", "an org option") else {
            continue;
        };
        if keys.contains(&key) {
            p.push(span, format!("duplicate org option `{key}`"));
        }
        keys.push(key);
        let what = format!("org option `{key}`");
        let default = match item.get("default") {
            Some(d) => p
                .boolean(d, &format!("`default` of {what}"))
                .unwrap_or(true),
            None => true,
        };
        let set = |p: &mut Problems, k: &str| {
            item.get(k)
                .map(|n| scope_set(p, registry, n, &format!("`{k}` of {what}")))
                .unwrap_or_default()
        };
        out.push(OrgOption {
            key: key.to_string(),
            default,
            when_false_remove: set(p, "when_false_remove"),
            unless_role_has_any: set(p, "unless_role_has_any"),
        });
    }
    out
}

fn load_granular(
    p: &mut Problems,
    registry: &ScopeRegistry,
    node: Option<&Node>,
) -> Vec<GranularResource> {
    let mut kinds: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for item in array_of_tables(p, node, "`granular_resources`") {
        if let Some(t) = item.as_table() {
            p.unknown_keys(
                t,
                &[
                    "kind",
                    "feature",
                    "require_feature",
                    "toggle_option",
                    "manage_scopes",
                    "bypass",
                ],
                "a granular resource",
            );
        }
        let Some((kind, span)) = required_str(p, item, "kind", "a granular resource") else {
            continue;
        };
        if kinds.contains(&kind) {
            p.push(span, format!("duplicate granular resource kind `{kind}`"));
        }
        kinds.push(kind);
        let what = format!("granular resource `{kind}`");
        let feature = required_str(p, item, "feature", &what).map(|(s, _)| s.to_string());
        let toggle = required_str(p, item, "toggle_option", &what).map(|(s, _)| s.to_string());
        let require_feature = match item.get("require_feature") {
            None => true,
            Some(n) => match n.value {
                Value::Bool(b) => b,
                _ => {
                    p.push(
                        n.span.clone(),
                        format!("`require_feature` of {what} must be a boolean"),
                    );
                    true
                }
            },
        };
        let manage_scopes = item
            .get("manage_scopes")
            .map(|n| scope_set(p, registry, n, &format!("`manage_scopes` of {what}")))
            .unwrap_or_default();
        let mut bypass = Vec::new();
        for b in array_of_tables(p, item.get("bypass"), &format!("`bypass` of {what}")) {
            if let Some(t) = b.as_table() {
                p.unknown_keys(t, &["principal", "scope"], "a bypass entry");
            }
            let scope = b
                .get("scope")
                .and_then(|s| scope_ref(p, registry, s, "a bypass entry"));
            let Some((principal, span)) = required_str(p, b, "principal", "a bypass entry") else {
                continue;
            };
            match principal {
                "superuser" => bypass.push(Bypass::Superuser),
                "org_token" => bypass.push(Bypass::OrgToken(scope)),
                "api_key" => bypass.push(Bypass::ApiKey(scope)),
                "integration" => bypass.push(Bypass::Integration(scope)),
                other => p.push(
                    span,
                    format!("unknown bypass principal `{other}`; expected superuser, org_token, api_key or integration"),
                ),
            }
        }
        if let (Some(feature), Some(toggle_option)) = (feature, toggle) {
            out.push(GranularResource {
                kind: kind.to_string(),
                feature,
                require_feature,
                toggle_option,
                manage_scopes,
                bypass,
            });
        }
    }
    out
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
