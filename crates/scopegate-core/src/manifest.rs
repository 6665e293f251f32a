//! The endpoint manifest (docs/manifest.md): which permission classes guard each endpoint,
//! and what each class's scope map admits per HTTP method.
//!
//! Two layers:
//! - [`ManifestDoc`] is the document as written, with positions, tolerant of semantic
//!   mistakes (an unknown scope, an unknown class, a malformed exception note). The lint
//!   rules read it, because those mistakes are their findings.
//! - [`Manifest`] is the document compiled against a [`Policy`](crate::Policy): every class resolved
//!   through `extends`, every scope known, every reference valid. The engine reads it.
//!   Compiling reports every problem with its location.

use std::ops::Range;

use crate::method::Method;
use crate::source::{Diagnostics, Node, Problem, Problems, Source};

mod compiled;

pub use compiled::{Class, ClassId, Endpoint, EndpointId, Manifest};

/// What a permission class checks its object against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// The organization named by the request.
    Organization,
    /// The project named by the request (team-based reach).
    Project,
    /// The team named by the request.
    Team,
    /// No object check: the token gate (or being authenticated) is all.
    None,
}

impl ObjectKind {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Organization => "organization",
            ObjectKind::Project => "project",
            ObjectKind::Team => "team",
            ObjectKind::None => "none",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "organization" => Some(ObjectKind::Organization),
            "project" => Some(ObjectKind::Project),
            "team" => Some(ObjectKind::Team),
            "none" => Some(ObjectKind::None),
            _ => None,
        }
    }
}

/// The publish status of an endpoint method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishStatus {
    /// Stable, in the public docs.
    Public,
    /// Never to be published.
    Private,
    /// In development, intended to be published.
    Experimental,
    /// Not yet classified.
    Unknown,
}

impl PublishStatus {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishStatus::Public => "public",
            PublishStatus::Private => "private",
            PublishStatus::Experimental => "experimental",
            PublishStatus::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(PublishStatus::Public),
            "private" => Some(PublishStatus::Private),
            "experimental" => Some(PublishStatus::Experimental),
            "unknown" => Some(PublishStatus::Unknown),
            _ => None,
        }
    }
}

/// A string with the byte span it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    /// The text.
    pub value: String,
    /// Its span in the document.
    pub span: Range<usize>,
}

/// One entry of a scope map as written: a method and its scope names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeMapEntry {
    /// The method.
    pub method: Method,
    /// Span of the method key.
    pub span: Range<usize>,
    /// The scope names, in document order.
    pub scopes: Vec<Spanned>,
}

/// A permission class as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDoc {
    /// The class name (the key under `permissions`).
    pub name: Spanned,
    /// `object`, when given.
    pub object: Option<(ObjectKind, Range<usize>)>,
    /// `extends`, when given.
    pub extends: Option<Spanned>,
    /// `scope_map`, when given.
    pub scope_map: Option<Vec<ScopeMapEntry>>,
    /// `allow_staff`, when given.
    pub allow_staff: Option<bool>,
    /// `readonly_mutation_scope_exceptions`, as written (its shape is checked by [`parse_notes`]).
    pub notes: Option<Node>,
}

/// An endpoint as written.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointDoc {
    /// Position in the `endpoints` array.
    pub index: usize,
    /// Span of the whole entry.
    pub span: Range<usize>,
    /// The endpoint's name (usually `module.ClassName`).
    pub name: Spanned,
    /// The URL path, when given.
    pub path: Option<String>,
    /// The permission classes (all must allow).
    pub permissions: Vec<Spanned>,
    /// Publish status per method, in document order.
    pub publish_status: Vec<(Method, PublishStatus, Range<usize>)>,
    /// The owning team.
    pub owner: Option<String>,
    /// The granular resource kind guarding the endpoint.
    pub granular_resource: Option<Spanned>,
    /// `readonly_mutation_scope_exceptions` on the endpoint itself, as written.
    pub notes: Option<Node>,
}

/// A manifest document as written, with positions.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestDoc {
    /// Permission classes, in document order.
    pub classes: Vec<ClassDoc>,
    /// Endpoints, in document order.
    pub endpoints: Vec<EndpointDoc>,
}

/// A permission class with `extends` applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedClass<'d> {
    /// The class as written.
    pub doc: &'d ClassDoc,
    /// The effective object kind.
    pub object: ObjectKind,
    /// The effective scope map (empty when neither the class nor an ancestor gives one).
    pub scope_map: &'d [ScopeMapEntry],
    /// Whether staff pass the class.
    pub allow_staff: bool,
    /// The effective exception notes (of the class or its nearest ancestor giving them).
    pub notes: Option<&'d Node>,
}

/// A problem with the shape of an exception-note map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteProblem {
    /// The notes are not a table.
    NotATable(Range<usize>),
    /// A key that is not a mutation method.
    NotAMutation {
        /// The key as written.
        key: String,
        /// Its span.
        span: Range<usize>,
    },
    /// A note that is not a string, or blank after trimming.
    EmptyNote {
        /// The key.
        key: String,
        /// The value's span.
        span: Range<usize>,
    },
}

/// Reads an exception-note map: the well-formed notes, and the problems of the rest.
pub fn parse_notes(node: &Node) -> (Vec<(Method, String)>, Vec<NoteProblem>) {
    let Some(table) = node.as_table() else {
        return (Vec::new(), vec![NoteProblem::NotATable(node.span.clone())]);
    };
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        let method = key
            .name
            .parse::<Method>()
            .ok()
            .filter(|m| m.is_mutation() && *m != Method::Options);
        let Some(method) = method else {
            problems.push(NoteProblem::NotAMutation {
                key: key.name.clone(),
                span: key.span.clone(),
            });
            continue;
        };
        match value.as_str() {
            Some(s) if !s.trim().is_empty() => notes.push((method, s.to_string())),
            _ => problems.push(NoteProblem::EmptyNote {
                key: key.name.clone(),
                span: value.span.clone(),
            }),
        }
    }
    (notes, problems)
}

impl ManifestDoc {
    /// Parses a manifest document (TOML or JSON). Structural problems (wrong types,
    /// unknown fields, unknown methods or statuses) are errors; semantic ones are not.
    pub fn parse(source: &Source) -> Result<ManifestDoc, Diagnostics> {
        let node = source
            .parse()
            .map_err(|p| Diagnostics::new(source, vec![p]))?;
        let mut p = Problems::default();
        let doc = parse_doc(&node, &mut p);
        if p.is_empty() {
            Ok(doc)
        } else {
            Err(Diagnostics::new(source, p.into_vec()))
        }
    }

    /// Reads a manifest from the already parsed tree of `source` (so a caller that has parsed
    /// the document to detect what it is does not parse it twice).
    pub fn from_node(node: &Node, source: &Source) -> Result<ManifestDoc, Diagnostics> {
        let mut p = Problems::default();
        let doc = parse_doc(node, &mut p);
        if p.is_empty() {
            Ok(doc)
        } else {
            Err(Diagnostics::new(source, p.into_vec()))
        }
    }

    /// The class called `name`.
    pub fn class(&self, name: &str) -> Option<&ClassDoc> {
        self.classes.iter().find(|c| c.name.value == name)
    }

    /// Resolves `extends` for the class called `name`: each field comes from the class, or
    /// else from its nearest ancestor that gives it. Errors: an unknown class in the chain
    /// (located at the `extends` naming it), a cycle, or no `object` anywhere in the chain.
    pub fn resolve(&self, name: &str) -> Result<ResolvedClass<'_>, Problem> {
        let Some(first) = self.class(name) else {
            return Err(Problem::new(
                0..0,
                format!("unknown permission class `{name}`"),
            ));
        };
        let mut chain = vec![first];
        let mut current = first;
        while let Some(parent) = &current.extends {
            let Some(next) = self.class(&parent.value) else {
                return Err(Problem::new(
                    parent.span.clone(),
                    format!(
                        "`{}` extends unknown permission class `{}`",
                        current.name.value, parent.value
                    ),
                ));
            };
            if chain.iter().any(|c| c.name.value == next.name.value) {
                let names: Vec<&str> = chain.iter().map(|c| c.name.value.as_str()).collect();
                return Err(Problem::new(
                    parent.span.clone(),
                    format!(
                        "cycle in `extends`: {} -> {}",
                        names.join(" -> "),
                        next.name.value
                    ),
                ));
            }
            chain.push(next);
            current = next;
        }
        let object = chain
            .iter()
            .find_map(|c| c.object.as_ref().map(|(o, _)| *o));
        let Some(object) = object else {
            return Err(Problem::new(
                first.name.span.clone(),
                format!("permission class `{name}` has no `object` (organization, project, team or none)"),
            ));
        };
        Ok(ResolvedClass {
            doc: first,
            object,
            scope_map: chain
                .iter()
                .find_map(|c| c.scope_map.as_deref())
                .unwrap_or(&[]),
            allow_staff: chain.iter().find_map(|c| c.allow_staff).unwrap_or(false),
            notes: chain.iter().find_map(|c| c.notes.as_ref()),
        })
    }
}

const CLASS_KEYS: &[&str] = &[
    "object",
    "extends",
    "scope_map",
    "allow_staff",
    "readonly_mutation_scope_exceptions",
];
const ENDPOINT_KEYS: &[&str] = &[
    "name",
    "path",
    "permissions",
    "publish_status",
    "owner",
    "granular_resource",
    "readonly_mutation_scope_exceptions",
];

fn spanned(node: &Node, s: &str) -> Spanned {
    Spanned {
        value: s.to_string(),
        span: node.span.clone(),
    }
}

/// Whether a parsed document is a manifest: a table declaring `permissions` or
/// `endpoints`. The one rule every reader of manifests applies (`check`, `explain`,
/// `matrix`, `serve --manifest` through [`Manifest::load`], `lint` through its detection
/// and [`ManifestDoc::from_node`]): an empty document is no manifest.
pub fn is_manifest(root: &Node) -> bool {
    root.get("permissions").is_some() || root.get("endpoints").is_some()
}

/// The problem of a table that is no manifest ([`is_manifest`]).
pub const NOT_A_MANIFEST: &str = "not a scopegate manifest: no `permissions` or `endpoints`";

fn parse_doc(root: &Node, p: &mut Problems) -> ManifestDoc {
    let mut doc = ManifestDoc {
        classes: Vec::new(),
        endpoints: Vec::new(),
    };
    let Some(table) = p.table(root, "the manifest") else {
        return doc;
    };
    if !is_manifest(root) {
        p.push(root.span.start..root.span.start, NOT_A_MANIFEST);
        return doc;
    }
    p.unknown_keys(table, &["permissions", "endpoints"], "the manifest");
    if let Some(perms) = root.get("permissions") {
        if let Some(entries) = p.table(perms, "`permissions`") {
            for (key, class) in entries {
                let what = format!("permission class `{}`", key.name);
                let Some(t) = p.table(class, &what) else {
                    continue;
                };
                p.unknown_keys(t, CLASS_KEYS, &what);
                let object = class.get("object").and_then(|o| {
                    let s = p.string(o, &format!("`object` of {what}"))?;
                    let kind = ObjectKind::parse(s);
                    if kind.is_none() {
                        p.push(o.span.clone(), format!("unknown object `{s}` in {what}; expected organization, project, team or none"));
                    }
                    kind.map(|k| (k, o.span.clone()))
                });
                let extends = class.get("extends").and_then(|e| {
                    p.string(e, &format!("`extends` of {what}"))
                        .map(|s| spanned(e, s))
                });
                let scope_map = class.get("scope_map").map(|m| parse_scope_map(p, m, &what));
                let allow_staff = class
                    .get("allow_staff")
                    .and_then(|b| p.boolean(b, &format!("`allow_staff` of {what}")));
                doc.classes.push(ClassDoc {
                    name: Spanned {
                        value: key.name.clone(),
                        span: key.span.clone(),
                    },
                    object,
                    extends,
                    scope_map,
                    allow_staff,
                    notes: class.get("readonly_mutation_scope_exceptions").cloned(),
                });
            }
        }
    }
    if let Some(endpoints) = root.get("endpoints") {
        match endpoints.as_array() {
            Some(items) => {
                for (index, e) in items.iter().enumerate() {
                    if let Some(ep) = parse_endpoint(p, e, index) {
                        doc.endpoints.push(ep);
                    }
                }
            }
            None => p.push(
                endpoints.span.clone(),
                format!(
                    "`endpoints` must be an array of tables, found {}",
                    endpoints.value.kind()
                ),
            ),
        }
    }
    doc
}

fn parse_scope_map(p: &mut Problems, node: &Node, what: &str) -> Vec<ScopeMapEntry> {
    let Some(t) = p.table(node, &format!("`scope_map` of {what}")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in t {
        let Ok(method) = key.name.parse::<Method>() else {
            p.push(
                key.span.clone(),
                format!(
                    "unknown HTTP method `{}` in the scope map of {what}",
                    key.name
                ),
            );
            continue;
        };
        let scopes = p
            .strings(value, &format!("`scope_map.{}` of {what}", key.name))
            .into_iter()
            .map(|(s, span)| Spanned {
                value: s.to_string(),
                span,
            })
            .collect();
        out.push(ScopeMapEntry {
            method,
            span: key.span.clone(),
            scopes,
        });
    }
    out
}

fn parse_endpoint(p: &mut Problems, e: &Node, index: usize) -> Option<EndpointDoc> {
    let what = format!("endpoint #{}", index + 1);
    let t = p.table(e, &what)?;
    p.unknown_keys(t, ENDPOINT_KEYS, &what);
    let Some(name_node) = e.get("name") else {
        p.push(e.span.clone(), format!("missing field `name` in {what}"));
        return None;
    };
    let name = spanned(
        name_node,
        p.string(name_node, &format!("`name` of {what}"))?,
    );
    let what = format!("endpoint `{}`", name.value);
    let path = e
        .get("path")
        .and_then(|n| p.string(n, &format!("`path` of {what}")))
        .map(str::to_string);
    let permissions = match e.get("permissions") {
        Some(n) => p
            .strings(n, &format!("`permissions` of {what}"))
            .into_iter()
            .map(|(s, span)| Spanned {
                value: s.to_string(),
                span,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut publish_status = Vec::new();
    if let Some(ps) = e.get("publish_status") {
        if let Some(entries) = p.table(ps, &format!("`publish_status` of {what}")) {
            for (key, value) in entries {
                let Ok(method) = key.name.parse::<Method>() else {
                    p.push(
                        key.span.clone(),
                        format!(
                            "unknown HTTP method `{}` in the publish status of {what}",
                            key.name
                        ),
                    );
                    continue;
                };
                let Some(s) = p.string(value, &format!("`publish_status.{}` of {what}", key.name))
                else {
                    continue;
                };
                match PublishStatus::parse(s) {
                    Some(status) => publish_status.push((method, status, key.span.clone())),
                    None => p.push(
                        value.span.clone(),
                        format!("unknown publish status `{s}` in {what}; expected public, private, experimental or unknown"),
                    ),
                }
            }
        }
    }
    let owner = e
        .get("owner")
        .and_then(|n| p.string(n, &format!("`owner` of {what}")))
        .map(str::to_string);
    let granular_resource = e.get("granular_resource").and_then(|n| {
        p.string(n, &format!("`granular_resource` of {what}"))
            .map(|s| spanned(n, s))
    });
    Some(EndpointDoc {
        index,
        span: e.span.clone(),
        name,
        path,
        permissions,
        publish_status,
        owner,
        granular_resource,
        notes: e.get("readonly_mutation_scope_exceptions").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    const BASE: &str = r#"
[permissions.Org]
object = "organization"
scope_map = { GET = ["org:read"], POST = ["org:write"] }
readonly_mutation_scope_exceptions = { POST = "why" }

[permissions.Loose]
extends = "Org"
scope_map = { POST = ["org:read", "org:write"] }
allow_staff = true

[[endpoints]]
name = "E"
permissions = ["Loose"]
publish_status = { POST = "public" }
"#;

    fn load(text: &str) -> Result<Manifest, Diagnostics> {
        Manifest::load(&Source::new("m.toml", text), &Policy::sentry())
    }

    #[test]
    fn extends_inherits_each_field_not_given() {
        let m = load(BASE).unwrap();
        let p = Policy::sentry();
        let loose = &m.classes[1];
        assert_eq!(loose.object, ObjectKind::Organization);
        assert!(loose.allow_staff);
        assert_eq!(
            p.scopes.sorted_names(loose.scopes_for(Method::Post)),
            ["org:read", "org:write"]
        );
        // The map is replaced whole: GET is not inherited.
        assert_eq!(loose.scope_map[Method::Get.index()], None);
        let doc = ManifestDoc::parse(&Source::new("m.toml", BASE)).unwrap();
        let resolved = doc.resolve("Loose").unwrap();
        assert!(resolved.notes.is_some(), "notes are inherited");
        assert_eq!(
            m.endpoint(m.endpoint_id("E").unwrap()).unwrap().classes,
            vec![1]
        );
    }

    #[test]
    fn json_and_toml_compile_alike() {
        let json = r#"{"permissions": {"Org": {"object": "organization", "scope_map": {"GET": ["org:read"]}}},
                      "endpoints": [{"name": "E", "permissions": ["Org"], "publish_status": {"GET": "public"}}]}"#;
        let m = Manifest::load(&Source::new("m.json", json), &Policy::sentry()).unwrap();
        assert_eq!(m.classes.len(), 1);
        assert_eq!(
            m.endpoints[0].publish_status,
            vec![(Method::Get, PublishStatus::Public)]
        );
    }

    #[test]
    fn cycles_and_unknown_names_are_located() {
        let text = r#"[permissions.A]
extends = "B"
[permissions.B]
extends = "A"
[permissions.C]
extends = "Nope"
[permissions.D]
object = "organization"
scope_map = { GET = ["org:reed"] }
[[endpoints]]
name = "E"
permissions = ["Ghost"]
granular_resource = "video"
"#;
        let err = load(text).unwrap_err().to_string();
        for want in [
            "m.toml:4:11: cycle in `extends`: A -> B -> A",
            "m.toml:2:11: cycle in `extends`: B -> A -> B",
            "m.toml:6:11: `C` extends unknown permission class `Nope`",
            "m.toml:9:22: unknown scope `org:reed` in the scope map of permission class `D`",
            "m.toml:12:16: endpoint `E` names unknown permission class `Ghost`",
            "m.toml:13:21: endpoint `E` names unknown granular resource `video`",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
    }

    #[test]
    fn structural_mistakes_are_located() {
        let text = "[permissions.A]\nobject = \"org\"\nscope_map = { FETCH = [] }\n[[endpoints]]\nname = \"E\"\npermissions = [\"A\"]\npublish_status = { GET = \"beta\" }\n";
        let err = ManifestDoc::parse(&Source::new("m.toml", text))
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.toml:2:10: unknown object `org`"), "{err}");
        assert!(
            err.contains("m.toml:3:15: unknown HTTP method `FETCH`"),
            "{err}"
        );
        assert!(
            err.contains("m.toml:7:26: unknown publish status `beta`"),
            "{err}"
        );
    }

    #[test]
    fn malformed_notes_are_errors_when_compiling() {
        let text = r#"[permissions.A]
object = "organization"
scope_map = { GET = ["org:read"] }
readonly_mutation_scope_exceptions = { GET = "reads are fine", POST = "  " }
[[endpoints]]
name = "E"
permissions = ["A"]
"#;
        let err = load(text).unwrap_err().to_string();
        assert!(err.contains("key `GET` must be a mutation method"), "{err}");
        assert!(err.contains("`readonly_mutation_scope_exceptions.POST` of permission class `A` must be a non-empty note"), "{err}");
    }

    #[test]
    fn an_endpoint_without_classes_is_refused() {
        let err = load("[[endpoints]]\nname = \"E\"\npermissions = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no permission class"), "{err}");
    }
}
