//! OpenAPI 3.x and Swagger 2.0, as the rules read them: every operation with its effective
//! security requirement (docs/lint-rules.md).
//!
//! `security` is a list of alternatives (OR); the schemes inside one alternative are all
//! required (AND); an operation's `security` replaces the root one; `security: []` means no
//! auth; `{}` makes auth optional. Jira's `x-atlassian-oauth2-scopes` adds alternatives of
//! its own ([`crate::atlassian`]).

use std::collections::BTreeSet;

use scopegate_core::source::Value;
use scopegate_core::Method;

use crate::finding::{Finding, InputKind, Summary};
use crate::lint::{Context, ScopeList};
use crate::load::{InputError, Kind, Loader, Loc};
use crate::rules::Rule;

/// The method keys of a path item.
const METHODS: [(&str, Method); 7] = [
    ("get", Method::Get),
    ("put", Method::Put),
    ("post", Method::Post),
    ("delete", Method::Delete),
    ("options", Method::Options),
    ("head", Method::Head),
    ("patch", Method::Patch),
];

/// One alternative of a security requirement: schemes and the scopes each lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// (scheme name, scopes), in document order.
    pub schemes: Vec<(String, Vec<String>)>,
    /// How the scope lists read when the format itself says (a Discovery document's lists
    /// are any-of, an Atlassian `x-atlassian-oauth2-scopes` entry all-of); `None`: as
    /// [`crate::Options::scope_list`] says (`security`).
    pub lists: Option<ScopeList>,
}

/// An operation (path + method) and what it requires.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The URL path (the key under `paths`).
    pub path: String,
    /// The method.
    pub method: Method,
    /// `operationId`, when given.
    pub operation_id: Option<String>,
    /// Where the operation object is.
    pub loc: Loc,
    /// The effective requirement: alternatives (OR); empty means no auth.
    pub security: Vec<Alternative>,
    /// `x-readonly-mutation-exception`, when present (its node).
    pub exception: Option<Loc>,
}

/// An OpenAPI document, read.
#[derive(Debug)]
pub struct Api {
    /// The root document.
    pub root: Loc,
    /// OpenAPI 3 or Swagger 2.
    pub kind: Kind,
    /// Paths (after `$ref`).
    pub paths: usize,
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
    /// Warnings (an undefined security scheme, …).
    pub warnings: Vec<String>,
}

fn parse_security(loader: &mut Loader, loc: &Loc) -> Result<Vec<Alternative>, InputError> {
    let loc = loader.deref(loc.clone())?;
    let node = loc.node();
    let Some(items) = node.as_array() else {
        return Err(loc.error(format!(
            "`security` must be an array of security requirements, found {}",
            node.value.kind()
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        let alt = loader.deref(loc.push(i, &i.to_string()))?;
        let Some(table) = alt.node().as_table() else {
            return Err(alt.error(format!(
                "a security requirement must be an object mapping scheme names to scope lists, found {}",
                alt.node().value.kind()
            )));
        };
        let mut schemes = Vec::with_capacity(table.len());
        for (k, v) in table {
            let Some(scopes) = v.as_array() else {
                return Err(InputError::at(
                    &alt.doc.source,
                    v.span.start,
                    format!(
                        "the scopes of security scheme `{}` must be an array of strings, found {}",
                        k.name,
                        v.value.kind()
                    ),
                ));
            };
            let mut names = Vec::with_capacity(scopes.len());
            for s in scopes {
                match s.as_str() {
                    Some(s) => names.push(s.to_string()),
                    None => {
                        return Err(InputError::at(
                            &alt.doc.source,
                            s.span.start,
                            format!(
                                "a scope of security scheme `{}` must be a string, found {}",
                                k.name,
                                s.value.kind()
                            ),
                        ))
                    }
                }
            }
            schemes.push((k.name.clone(), names));
        }
        out.push(Alternative {
            schemes,
            lists: None,
        });
    }
    Ok(out)
}

impl Api {
    /// Reads the operations of the document at `root`, following `$ref`s of path items,
    /// operations and security schemes.
    pub fn read(loader: &mut Loader, root: Loc, kind: Kind) -> Result<Api, InputError> {
        let mut warnings = Vec::new();
        let root_security = match root.child("security") {
            Some(s) => Some(parse_security(loader, &s)?),
            None => None,
        };
        // Security scheme names, for a warning on undefined ones.
        let schemes_loc = match kind {
            Kind::Swagger2 => root.child("securityDefinitions"),
            _ => root
                .child("components")
                .map(|c| loader.deref(c))
                .transpose()?
                .and_then(|c| c.child("securitySchemes")),
        };
        let mut scheme_names = BTreeSet::new();
        if let Some(s) = schemes_loc {
            let s = loader.deref(s)?;
            if s.node().as_table().is_none() {
                return Err(s.error(format!(
                    "security schemes must be an object, found {}",
                    s.node().value.kind()
                )));
            }
            for (name, scheme) in s.entries() {
                let scheme = loader.deref(scheme)?;
                if scheme.node().as_table().is_none() {
                    return Err(scheme.error(format!(
                        "security scheme `{name}` must be an object, found {}",
                        scheme.node().value.kind()
                    )));
                }
                scheme_names.insert(name);
            }
        }
        let mut operations = Vec::new();
        let mut paths = 0;
        if let Some(p) = root.child("paths") {
            let p = loader.deref(p)?;
            if p.node().as_table().is_none() {
                return Err(p.error(format!(
                    "`paths` must be an object, found {}",
                    p.node().value.kind()
                )));
            }
            for (path, item) in p.entries() {
                if path.starts_with("x-") {
                    continue;
                }
                paths += 1;
                let item = loader.deref(item)?;
                if item.node().as_table().is_none() {
                    return Err(item.error(format!(
                        "path item `{path}` must be an object, found {}",
                        item.node().value.kind()
                    )));
                }
                for (key, method) in METHODS {
                    let Some(op) = item.child(key) else { continue };
                    let op = loader.deref(op)?;
                    if op.node().as_table().is_none() {
                        return Err(op.error(format!(
                            "operation `{} {path}` must be an object, found {}",
                            method.as_str(),
                            op.node().value.kind()
                        )));
                    }
                    let security = match op.child("security") {
                        Some(s) => parse_security(loader, &s)?,
                        None => root_security.clone().unwrap_or_default(),
                    };
                    for alt in &security {
                        for (name, _) in &alt.schemes {
                            if !scheme_names.contains(name) {
                                let at = op.location();
                                warnings.push(format!(
                                    "warning: {}:{at}: `{} {path}` names security scheme `{name}`, which the document does not define",
                                    op.file(),
                                    method.as_str()
                                ));
                            }
                        }
                    }
                    // Jira's own scope lists, beside `security` (crate::atlassian).
                    let mut security = security;
                    security.extend(crate::atlassian::alternatives(loader, &op)?);
                    let operation_id = op
                        .node()
                        .get("operationId")
                        .and_then(|n| n.as_str())
                        .map(str::to_string);
                    let exception = op.child("x-readonly-mutation-exception");
                    operations.push(Operation {
                        path: path.clone(),
                        method,
                        operation_id,
                        loc: op,
                        security,
                        exception,
                    });
                }
            }
        }
        warnings.dedup();
        Ok(Api {
            root,
            kind,
            paths,
            operations,
            warnings,
        })
    }

    /// Adds this document's counts to `summary`.
    pub fn count(&self, summary: &mut Summary) {
        summary.endpoints += self.paths;
        summary.operations += self.operations.len();
        summary.mutations += self
            .operations
            .iter()
            .filter(|o| Method::MUTATIONS.contains(&o.method))
            .count();
    }
}

impl Operation {
    /// The alternatives a credential holding only read-only scopes can satisfy, each with
    /// its scheme names joined by ` + ` and the read-only scopes it lists.
    ///
    /// With `all`, an alternative qualifies when it lists at least one scope and every scope
    /// it lists is read-only. With `any`, when some scheme lists scopes and every scheme that
    /// lists scopes lists at least one read-only scope. An alternative asking for no scope
    /// at all never qualifies. An alternative whose format fixes the meaning
    /// ([`Alternative::lists`]) is read that way whatever the option says.
    pub fn readonly_alternatives(&self, ctx: Context<'_>) -> Vec<(String, Vec<String>)> {
        let ro = &ctx.options.readonly;
        let mut out = Vec::new();
        for alt in &self.security {
            let listed: Vec<&String> = alt.schemes.iter().flat_map(|(_, s)| s).collect();
            if listed.is_empty() {
                continue;
            }
            let ok = match alt.lists.unwrap_or(ctx.options.scope_list) {
                ScopeList::All => listed.iter().all(|s| ro.contains(s)),
                ScopeList::Any => alt
                    .schemes
                    .iter()
                    .filter(|(_, s)| !s.is_empty())
                    .all(|(_, s)| s.iter().any(|x| ro.contains(x))),
            };
            if ok {
                let via: Vec<&str> = alt.schemes.iter().map(|(n, _)| n.as_str()).collect();
                let scopes: BTreeSet<String> = listed
                    .into_iter()
                    .filter(|s| ro.contains(s))
                    .cloned()
                    .collect();
                out.push((via.join(" + "), scopes.into_iter().collect()));
            }
        }
        out
    }

    /// Whether the operation has an exception note that SG001 accepts: any non-empty string,
    /// even one of whitespace only, as in Sentry's guard (a blank note is SG002's finding).
    pub fn has_note_text(&self) -> bool {
        self.exception
            .as_ref()
            .is_some_and(|loc| matches!(&loc.node().value, Value::String(s) if !s.is_empty()))
    }

    /// The exception note, when it is a non-blank string.
    pub fn note(&self) -> Option<&str> {
        let loc = self.exception.as_ref()?;
        match &loc.node().value {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            _ => None,
        }
    }

    /// `METHOD path`, with the operation id when there is one.
    pub fn label(&self) -> String {
        match &self.operation_id {
            Some(id) => format!("{} {} ({id})", self.method.as_str(), self.path),
            None => format!("{} {}", self.method.as_str(), self.path),
        }
    }

    /// A finding about this operation, located at `at` (the operation, or a node in it).
    pub fn finding(
        &self,
        rule: &Rule,
        at: &Loc,
        scopes: Vec<String>,
        via: Option<String>,
        message: String,
    ) -> Finding {
        let l = at.location();
        Finding {
            code: rule.code,
            rule: rule.name,
            endpoint: self.path.clone(),
            path: Some(self.path.clone()),
            method: Some(self.method.as_str().to_string()),
            scopes,
            via,
            message,
            file: at.file().to_string(),
            line: l.line,
            column: l.column,
            pointer: Some(at.pointer.clone()),
            input: InputKind::Openapi,
        }
    }
}
