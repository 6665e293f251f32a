//! The compiled manifest: [`Manifest`], its [`Class`]es and [`Endpoint`]s, checked against a
//! [`Policy`] (what the engine reads).

use rustc_hash::FxHashMap;

use super::{parse_notes, ManifestDoc, NoteProblem, ObjectKind, PublishStatus};
use crate::method::Method;
use crate::policy::Policy;
use crate::scope::ScopeSet;
use crate::source::{Diagnostics, Node, Problem, Problems, Source};

/// The index of a class in a compiled [`Manifest`].
pub type ClassId = usize;

/// The index of an endpoint in a compiled [`Manifest`].
pub type EndpointId = usize;

/// A compiled permission class.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// The class name.
    pub name: String,
    /// What the class checks its object against.
    pub object: ObjectKind,
    /// The scope map by [`Method::index`]; `None` where the method is not mapped
    /// (which admits nobody).
    pub scope_map: [Option<ScopeSet>; 7],
    /// Whether active staff pass the class whatever their scopes.
    pub allow_staff: bool,
    /// Exception notes, by method.
    pub notes: Vec<(Method, String)>,
}

impl Class {
    /// The scopes mapped for `method` (empty when the method is not mapped).
    pub fn scopes_for(&self, method: Method) -> ScopeSet {
        self.scope_map
            .get(method.index())
            .copied()
            .flatten()
            .unwrap_or_default()
    }
}

/// A compiled endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The endpoint's name.
    pub name: String,
    /// The URL path, when given.
    pub path: Option<String>,
    /// The permission classes, all of which must allow.
    pub classes: Vec<ClassId>,
    /// Publish status per method.
    pub publish_status: Vec<(Method, PublishStatus)>,
    /// The owning team.
    pub owner: Option<String>,
    /// The granular resource guarding the endpoint (index into the policy's resources).
    pub granular: Option<usize>,
    /// Exception notes on the endpoint itself.
    pub notes: Vec<(Method, String)>,
}

/// A manifest compiled against a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Every permission class, resolved.
    pub classes: Vec<Class>,
    /// Every endpoint.
    pub endpoints: Vec<Endpoint>,
    by_name: FxHashMap<String, EndpointId>,
}

impl Manifest {
    /// Parses and compiles a manifest document against `policy`.
    pub fn load(source: &Source, policy: &Policy) -> Result<Manifest, Diagnostics> {
        let doc = ManifestDoc::parse(source)?;
        Manifest::compile(&doc, policy).map_err(|problems| Diagnostics::new(source, problems))
    }

    /// Compiles a parsed document against `policy`, reporting every problem.
    pub fn compile(doc: &ManifestDoc, policy: &Policy) -> Result<Manifest, Vec<Problem>> {
        let mut p = Problems::default();
        let mut classes = Vec::with_capacity(doc.classes.len());
        let mut class_ids: FxHashMap<&str, ClassId> = FxHashMap::default();
        for c in &doc.classes {
            let resolved = match doc.resolve(&c.name.value) {
                Ok(r) => r,
                Err(problem) => {
                    p.push(problem.span, problem.message);
                    continue;
                }
            };
            let what = format!("permission class `{}`", c.name.value);
            let mut scope_map = [None; 7];
            for entry in resolved.scope_map {
                let mut set = ScopeSet::EMPTY;
                for s in &entry.scopes {
                    match policy.scopes.id(&s.value) {
                        Some(id) => set.insert(id),
                        None => p.push(
                            s.span.clone(),
                            format!("unknown scope `{}` in the scope map of {what}", s.value),
                        ),
                    }
                }
                if let Some(slot) = scope_map.get_mut(entry.method.index()) {
                    *slot = Some(set);
                }
            }
            let notes = compile_notes(&mut p, c.notes.as_ref(), &what);
            class_ids.insert(c.name.value.as_str(), classes.len());
            classes.push(Class {
                name: c.name.value.clone(),
                object: resolved.object,
                scope_map,
                allow_staff: resolved.allow_staff,
                notes,
            });
        }
        let mut endpoints = Vec::with_capacity(doc.endpoints.len());
        let mut by_name = FxHashMap::default();
        for e in &doc.endpoints {
            let what = format!("endpoint `{}`", e.name.value);
            if by_name.contains_key(&e.name.value) {
                p.push(
                    e.name.span.clone(),
                    format!("duplicate endpoint `{}`", e.name.value),
                );
                continue;
            }
            if e.permissions.is_empty() {
                p.push(
                    e.name.span.clone(),
                    format!("{what} names no permission class; an endpoint must name at least one (deny by default)"),
                );
            }
            let mut ids = Vec::with_capacity(e.permissions.len());
            for c in &e.permissions {
                match class_ids.get(c.value.as_str()) {
                    Some(id) => ids.push(*id),
                    None if doc.class(&c.value).is_some() => {} // already reported while resolving
                    None => p.push(
                        c.span.clone(),
                        format!("{what} names unknown permission class `{}`", c.value),
                    ),
                }
            }
            let granular = e.granular_resource.as_ref().and_then(|g| {
                let found = policy.granular(&g.value).map(|(i, _)| i);
                if found.is_none() {
                    p.push(
                        g.span.clone(),
                        format!("{what} names unknown granular resource `{}`", g.value),
                    );
                }
                found
            });
            let notes = compile_notes(&mut p, e.notes.as_ref(), &what);
            by_name.insert(e.name.value.clone(), endpoints.len());
            endpoints.push(Endpoint {
                name: e.name.value.clone(),
                path: e.path.clone(),
                classes: ids,
                publish_status: e.publish_status.iter().map(|(m, s, _)| (*m, *s)).collect(),
                owner: e.owner.clone(),
                granular,
                notes,
            });
        }
        if p.is_empty() {
            Ok(Manifest {
                classes,
                endpoints,
                by_name,
            })
        } else {
            Err(p.into_vec())
        }
    }

    /// The endpoint called `name`.
    pub fn endpoint_id(&self, name: &str) -> Option<EndpointId> {
        self.by_name.get(name).copied()
    }

    /// The endpoint with id `id`.
    pub fn endpoint(&self, id: EndpointId) -> Option<&Endpoint> {
        self.endpoints.get(id)
    }

    /// The class with id `id`.
    pub fn class(&self, id: ClassId) -> Option<&Class> {
        self.classes.get(id)
    }
}

fn compile_notes(p: &mut Problems, node: Option<&Node>, what: &str) -> Vec<(Method, String)> {
    let Some(node) = node else { return Vec::new() };
    let (notes, problems) = parse_notes(node);
    for problem in problems {
        match problem {
            NoteProblem::NotATable(span) => p.push(span, format!("`readonly_mutation_scope_exceptions` of {what} must be a table")),
            NoteProblem::NotAMutation { key, span } => p.push(
                span,
                format!("`readonly_mutation_scope_exceptions` of {what}: key `{key}` must be a mutation method (POST, PUT, PATCH, DELETE)"),
            ),
            NoteProblem::EmptyNote { key, span } => p.push(
                span,
                format!("`readonly_mutation_scope_exceptions.{key}` of {what} must be a non-empty note"),
            ),
        }
    }
    notes
}
