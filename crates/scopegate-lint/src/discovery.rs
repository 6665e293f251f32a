//! Google API Discovery documents (`"discoveryVersion": "v1"`), as the rules read them: every
//! method of every resource, at any depth, as an [`Operation`] of an [`Api`], so the OpenAPI
//! rules (SG001–SG003) run over them unchanged.
//!
//! A method is `resources.{name}(.resources.{name})*.methods.{name}` (or a top-level
//! `methods.{name}`) with `httpMethod`, `path` (relative to `servicePath`; a path starting
//! with `/` is from the root), optionally `flatPath` (the path with `{+name}` expanded into
//! its segments, preferred when present) and `scopes`. A method's `scopes` list is any-of:
//! Google's clients request any one of them, so a credential holding one read-only scope of
//! the list can call the method, whatever `--scope-list` says. A method with no `scopes`
//! asks for no OAuth scope (an API key or no credential at all). A scope that
//! `auth.oauth2.scopes` does not declare is a warning. `$ref`s in Discovery documents name
//! schemas, not JSON pointers, and are not followed (nothing the rules read uses them).

use std::collections::BTreeSet;

use scopegate_core::source::{Node, Value};
use scopegate_core::Method;

use crate::lint::ScopeList;
use crate::load::{InputError, Kind, Loc};
use crate::openapi::{Alternative, Api, Operation};

/// The scheme name findings give for a Discovery method's scope list (`via`).
pub const SCHEME: &str = "oauth2";

/// Whether `root` is a Discovery document (it has `discoveryVersion`).
pub fn is_discovery(root: &Node) -> bool {
    root.get("discoveryVersion").is_some()
}

/// An optional string member `key` of the table at `at`.
fn string(at: &Loc, key: &str, what: &str) -> Result<Option<(String, Loc)>, InputError> {
    let Some(child) = at.child(key) else {
        return Ok(None);
    };
    match &child.node().value {
        Value::String(s) => Ok(Some((s.clone(), child))),
        other => Err(child.error(format!(
            "`{key}` of {what} must be a string, found {}",
            other.kind()
        ))),
    }
}

/// The table member `key` of `at`, when present; an error when it is not a table.
fn table(at: &Loc, key: &str, what: &str) -> Result<Option<Loc>, InputError> {
    let Some(child) = at.child(key) else {
        return Ok(None);
    };
    if child.node().as_table().is_none() {
        return Err(child.error(format!(
            "`{key}` of {what} must be an object, found {}",
            child.node().value.kind()
        )));
    }
    Ok(Some(child))
}

/// Reads the methods of the Discovery document at `root`.
pub fn read(root: Loc) -> Result<Api, InputError> {
    match root.child("discoveryVersion") {
        Some(v) if v.node().as_str().is_some() => {}
        Some(v) => {
            return Err(v.error(format!(
                "`discoveryVersion` must be a version string `v1`, found {}",
                v.node().value.kind()
            )))
        }
        None => return Err(root.error("not a Discovery document (no `discoveryVersion`)")),
    }
    let service_path = string(&root, "servicePath", "a Discovery document")?
        .map(|(s, _)| s)
        .unwrap_or_default();
    let declared: Option<BTreeSet<String>> = match table(&root, "auth", "a Discovery document")? {
        Some(auth) => match table(&auth, "oauth2", "`auth`")? {
            Some(oauth2) => table(&oauth2, "scopes", "`auth.oauth2`")?
                .map(|s| s.entries().into_iter().map(|(k, _)| k).collect()),
            None => None,
        },
        None => None,
    };
    let mut reader = Reader {
        service_path,
        declared,
        operations: Vec::new(),
        paths: BTreeSet::new(),
        warnings: Vec::new(),
    };
    // Depth first, in document order: a container's methods, then its resources.
    let mut stack = vec![(root.clone(), String::from("the document"))];
    while let Some((container, what)) = stack.pop() {
        if let Some(methods) = table(&container, "methods", &what)? {
            for (name, method) in methods.entries() {
                reader.method(&name, method)?;
            }
        }
        if let Some(resources) = table(&container, "resources", &what)? {
            let mut children = Vec::new();
            for (name, resource) in resources.entries() {
                let what = format!("resource `{name}`");
                if resource.node().as_table().is_none() {
                    return Err(resource.error(format!(
                        "{what} must be an object, found {}",
                        resource.node().value.kind()
                    )));
                }
                children.push((resource, what));
            }
            stack.extend(children.into_iter().rev());
        }
    }
    let mut warnings = reader.warnings;
    warnings.dedup();
    Ok(Api {
        root,
        kind: Kind::Discovery,
        paths: reader.paths.len(),
        operations: reader.operations,
        warnings,
    })
}

struct Reader {
    service_path: String,
    declared: Option<BTreeSet<String>>,
    operations: Vec<Operation>,
    paths: BTreeSet<String>,
    warnings: Vec<String>,
}

impl Reader {
    /// One method object, named `name` in its resource.
    fn method(&mut self, name: &str, at: Loc) -> Result<(), InputError> {
        if at.node().as_table().is_none() {
            return Err(at.error(format!(
                "method `{name}` must be an object, found {}",
                at.node().value.kind()
            )));
        }
        let what = format!("method `{name}`");
        let Some((http, http_at)) = string(&at, "httpMethod", &what)? else {
            return Err(at.error(format!("{what} has no `httpMethod`")));
        };
        let method: Method = http.parse().map_err(|_| {
            http_at.error(format!(
                "`httpMethod` of {what} must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, found `{http}`"
            ))
        })?;
        let path = match string(&at, "flatPath", &what)? {
            Some((p, _)) => p,
            None => match string(&at, "path", &what)? {
                Some((p, _)) => p,
                None => return Err(at.error(format!("{what} has no `path`"))),
            },
        };
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{}{path}", self.service_path.trim_start_matches('/'))
        };
        let operation_id = string(&at, "id", &what)?.map(|(s, _)| s);
        let mut scopes = Vec::new();
        if let Some(list) = at.child("scopes") {
            let Some(items) = list.node().as_array() else {
                return Err(list.error(format!(
                    "`scopes` of {what} must be an array of strings, found {}",
                    list.node().value.kind()
                )));
            };
            for (i, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else {
                    return Err(list.push(i, &i.to_string()).error(format!(
                        "a scope of {what} must be a string, found {}",
                        item.value.kind()
                    )));
                };
                if self.declared.as_ref().is_some_and(|d| !d.contains(s)) {
                    let l = list.push(i, &i.to_string()).location();
                    self.warnings.push(format!(
                        "warning: {}:{l}: `{} {path}` names scope `{s}`, which `auth.oauth2.scopes` does not declare",
                        list.file(),
                        method.as_str()
                    ));
                }
                scopes.push(s.to_string());
            }
        }
        let security = if scopes.is_empty() {
            Vec::new()
        } else {
            vec![Alternative {
                schemes: vec![(SCHEME.to_string(), scopes)],
                lists: Some(ScopeList::Any),
            }]
        };
        let exception = at.child("x-readonly-mutation-exception");
        self.paths.insert(path.clone());
        self.operations.push(Operation {
            path,
            method,
            operation_id,
            loc: at,
            security,
            exception,
        });
        Ok(())
    }
}
