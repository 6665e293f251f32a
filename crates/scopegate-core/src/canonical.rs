//! The canonical form of a policy and a compiled manifest: what decisions read, as one JSON
//! value that does not depend on how the documents were written.
//!
//! Two documents that differ only in format (TOML or JSON), comments, key order,
//! whitespace, the declaration order of scopes, options, granular resources, classes or
//! endpoints, class sharing through `extends`, or the fields no decision reads (display
//! names, the policy's name, endpoint paths, owners, publish status, notes) have the same
//! canonical form; any change to what the engine reads changes it. The service hashes it into
//! the decision log's `policy_version` (`docs/decision-log.md`).
//!
//! Order is kept where it means something: org and team roles (their priority) and an
//! endpoint's permission classes (checked in order). Everything else is sorted by name;
//! scope sets are sorted names.

use serde_json::{json, Map, Value};

use crate::manifest::Class;
use crate::manifest::Manifest;
use crate::method::Method;
use crate::policy::{Bypass, Policy};
use crate::scope::ScopeSet;

/// The canonical form of `policy` and `manifest` (compiled against it):
/// `{"policy": …, "manifest": …}` (see the module documentation). Serialize it compactly
/// (`serde_json::to_string`) to hash it: every object's keys are written in a fixed order.
pub fn canonical(policy: &Policy, manifest: &Manifest) -> Value {
    json!({
        "policy": canonical_policy(policy),
        "manifest": canonical_manifest(policy, manifest),
    })
}

/// Sorted scope names.
fn names(policy: &Policy, set: ScopeSet) -> Vec<&str> {
    policy.scopes.sorted_names(set)
}

/// The policy's canonical form.
fn canonical_policy(p: &Policy) -> Value {
    let mut scopes: Vec<&str> = p.scopes.names().collect();
    scopes.sort_unstable();
    let mut implies: Vec<(&str, Vec<&str>)> = p
        .scopes
        .all()
        .iter()
        .filter_map(|id| {
            let implied = p.implies.get(id.index())?.difference(ScopeSet::single(id));
            (!implied.is_empty()).then(|| (p.scopes.name(id), names(p, implied)))
        })
        .collect();
    implies.sort_unstable();
    let mut options: Vec<Value> = p
        .org_options
        .iter()
        .map(|o| {
            json!({
                "key": o.key,
                "default": o.default,
                "when_false_remove": names(p, o.when_false_remove),
                "unless_role_has_any": names(p, o.unless_role_has_any),
            })
        })
        .collect();
    options.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    let mut granular: Vec<Value> = p
        .granular_resources
        .iter()
        .map(|g| {
            let mut bypass: Vec<Value> = g.bypass.iter().map(|b| bypass_json(p, *b)).collect();
            bypass.sort_by_key(Value::to_string);
            json!({
                "kind": g.kind,
                "feature": g.feature,
                "require_feature": g.require_feature,
                "toggle_option": g.toggle_option,
                "manage_scopes": names(p, g.manage_scopes),
                "bypass": bypass,
            })
        })
        .collect();
    granular.sort_by(|a, b| a["kind"].as_str().cmp(&b["kind"].as_str()));
    json!({
        "scopes": scopes,
        "readonly": names(p, p.readonly),
        "token_only": names(p, p.token_only),
        "implies": implies.into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "org_roles": p.org_roles.iter().enumerate().map(|(i, r)| json!({
            "id": r.id,
            "scopes": names(p, r.scopes),
            "retired": r.retired,
            "global": r.global,
            "minimum_team_role": p.minimum_team_role(i).and_then(|t| p.team_roles.get(t)).map(|t| &t.id),
        })).collect::<Vec<_>>(),
        "team_roles": p.team_roles.iter().map(|r| json!({
            "id": r.id,
            "scopes": names(p, r.scopes),
            "minimum_for": r.minimum_for.and_then(|m| p.org_roles.get(m)).map(|o| &o.id),
        })).collect::<Vec<_>>(),
        "org_options": options,
        "granular_resources": granular,
        "team_roles_feature": p.team_roles_feature,
        "org_token_scopes": names(p, p.org_token_scopes),
    })
}

/// One granular bypass.
fn bypass_json(p: &Policy, b: Bypass) -> Value {
    let (principal, scope) = match b {
        Bypass::Superuser => ("superuser", None),
        Bypass::OrgToken(s) => ("org_token", s),
        Bypass::ApiKey(s) => ("api_key", s),
        Bypass::Integration(s) => ("integration", s),
    };
    json!({"principal": principal, "scope": scope.map(|s| p.scopes.name(s))})
}

/// The manifest's canonical form: endpoints by name, each with its classes inlined.
fn canonical_manifest(policy: &Policy, manifest: &Manifest) -> Value {
    let mut endpoints: Vec<(&str, Value)> = manifest
        .endpoints
        .iter()
        .map(|e| {
            let classes: Vec<Value> = e
                .classes
                .iter()
                .filter_map(|&c| manifest.classes.get(c))
                .map(|c| class_json(policy, c))
                .collect();
            let granular = e
                .granular
                .and_then(|g| policy.granular_resources.get(g))
                .map(|g| &g.kind);
            (
                e.name.as_str(),
                json!({"name": e.name, "classes": classes, "granular": granular}),
            )
        })
        .collect();
    endpoints.sort_by(|a, b| a.0.cmp(b.0));
    json!({"endpoints": endpoints.into_iter().map(|(_, e)| e).collect::<Vec<_>>()})
}

/// A class as the engine reads it (its name left out: renaming a class decides nothing
/// differently).
fn class_json(policy: &Policy, c: &Class) -> Value {
    let scope_map: Map<String, Value> = Method::ALL
        .iter()
        .filter_map(|m| {
            let set = c.scope_map.get(m.index()).copied().flatten()?;
            Some((m.as_str().to_string(), json!(names(policy, set))))
        })
        .collect();
    json!({"object": c.object.as_str(), "allow_staff": c.allow_staff, "scope_map": scope_map})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use crate::source::Source;

    const MANIFEST: &str = r#"
[permissions.OrgPermission]
object = "organization"
scope_map = { GET = ["org:read"], PUT = ["org:write"] }

[[endpoints]]
name = "OrganizationDetailsEndpoint"
path = "/api/0/organizations/{organization_id_or_slug}/"
permissions = ["OrgPermission"]
"#;

    fn of(manifest: &str) -> Value {
        let policy = Policy::sentry();
        let name = if manifest.trim_start().starts_with('{') {
            "m.json"
        } else {
            "m.toml"
        };
        let m = Manifest::load(&Source::new(name, manifest), &policy).unwrap();
        canonical(&policy, &m)
    }

    #[test]
    fn format_comments_order_names_and_paths_do_not_change_it() {
        let json = r#"{"permissions": {"Renamed": {"scope_map": {"PUT": ["org:write"], "GET": ["org:read"]}, "object": "organization"}},
            "endpoints": [{"permissions": ["Renamed"], "name": "OrganizationDetailsEndpoint", "path": "/elsewhere/", "owner": "team-a"}]}"#;
        assert_eq!(of(MANIFEST), of(json));
        let commented = format!("# a comment\n{MANIFEST}");
        assert_eq!(of(MANIFEST), of(&commented));
    }

    #[test]
    fn a_scope_map_change_changes_it() {
        let wider = MANIFEST.replace(
            r#"PUT = ["org:write"]"#,
            r#"PUT = ["org:write", "org:read"]"#,
        );
        assert_ne!(of(MANIFEST), of(&wider));
        let other_object = MANIFEST.replace(r#"object = "organization""#, r#"object = "none""#);
        assert_ne!(of(MANIFEST), of(&other_object));
    }

    #[test]
    fn a_policy_change_changes_it_and_a_comment_does_not() {
        let text = include_str!("../policies/sentry.toml");
        let with = |text: &str| {
            let policy = Policy::load(&Source::new("p.toml", text)).unwrap();
            let m = Manifest::load(&Source::new("m.toml", MANIFEST), &policy).unwrap();
            canonical(&policy, &m)
        };
        assert_eq!(with(text), with(&format!("# reviewed\n{text}")));
        let changed = text.replacen(
            r#"org_token_scopes = ["org:ci"]"#,
            r#"org_token_scopes = ["org:read"]"#,
            1,
        );
        assert_ne!(changed, text);
        assert_ne!(with(text), with(&changed));
    }

    #[test]
    fn the_policy_is_in_it() {
        let c = of(MANIFEST);
        let roles = c["policy"]["org_roles"].as_array().unwrap();
        assert_eq!(roles.len(), Policy::sentry().org_roles.len());
        assert_eq!(roles[0]["id"], Policy::sentry().org_roles[0].id);
        let scopes = c["policy"]["scopes"].as_array().unwrap();
        let mut sorted = scopes.clone();
        sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(*scopes, sorted);
    }
}
