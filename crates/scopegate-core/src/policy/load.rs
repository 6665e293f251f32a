//! Loading a policy document: every table read and validated, every problem collected
//! with its location.

use std::ops::Range;

use super::{Bypass, GranularResource, OrgOption, OrgRole, Policy, TeamRole};
use crate::scope::{ScopeId, ScopeRegistry, ScopeSet, MAX_SCOPES};
use crate::source::{Node, Problems, Value};

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

pub(super) fn load_node(root: &Node, p: &mut Problems) -> Option<Policy> {
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
