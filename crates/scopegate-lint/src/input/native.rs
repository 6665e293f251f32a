//! The native manifest, as the rules read it: classes resolved through `extends`
//! tolerantly (an unknown class is a finding, not an error).

use std::collections::BTreeSet;
use std::ops::Range;

use scopegate_core::manifest::{ClassDoc, EndpointDoc, PublishStatus, ScopeMapEntry};
use scopegate_core::source::Node;
use scopegate_core::{ManifestDoc, Method, Source};

use super::InputError;
use crate::report::{Finding, InputKind, RuleId, Summary};
use crate::settings::{Options, PublishFilter, ReadonlyScopes, Severity};

/// A native manifest being linted.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The text (for positions).
    pub source: &'a Source,
    /// The document as written.
    pub doc: &'a ManifestDoc,
}

/// A class and its ancestors, nearest first.
#[derive(Debug, Clone)]
pub struct Chain<'d> {
    /// The classes, the named one first.
    pub classes: Vec<&'d ClassDoc>,
}

/// Why a chain could not be built.
#[derive(Debug, Clone)]
pub enum ChainError {
    /// A class in the chain is not defined; the span is the `extends` naming it, if any.
    Unknown {
        /// The missing class.
        name: String,
        /// The `extends` that names it (`None` for the class asked for).
        span: Option<Range<usize>>,
    },
}

impl<'d> Chain<'d> {
    /// The effective scope map (of the nearest class giving one).
    pub fn scope_map(&self) -> &'d [ScopeMapEntry] {
        self.classes
            .iter()
            .find_map(|c| c.scope_map.as_deref())
            .unwrap_or(&[])
    }

    /// The scopes the effective scope map gives `method`, or `None` when it has no entry.
    pub fn scopes(&self, method: Method) -> Option<&'d ScopeMapEntry> {
        self.scope_map().iter().find(|e| e.method == method)
    }

    /// The effective exception notes.
    pub fn notes(&self) -> Option<&'d Node> {
        self.classes.iter().find_map(|c| c.notes.as_ref())
    }
}

impl Input<'_> {
    /// The chain of the class `name`. A cycle in `extends` is an input error.
    pub fn chain(&self, name: &str) -> Result<Result<Chain<'_>, ChainError>, InputError> {
        let Some(first) = self.doc.class(name) else {
            return Ok(Err(ChainError::Unknown {
                name: name.to_string(),
                span: None,
            }));
        };
        let mut classes = vec![first];
        let mut current = first;
        while let Some(parent) = &current.extends {
            let Some(next) = self.doc.class(&parent.value) else {
                return Ok(Err(ChainError::Unknown {
                    name: parent.value.clone(),
                    span: Some(parent.span.clone()),
                }));
            };
            if classes.iter().any(|c| c.name.value == next.name.value) {
                let names: Vec<&str> = classes.iter().map(|c| c.name.value.as_str()).collect();
                return Err(InputError::at(
                    self.source,
                    parent.span.start,
                    format!(
                        "cycle in `extends`: {} -> {}",
                        names.join(" -> "),
                        next.name.value
                    ),
                ));
            }
            classes.push(next);
            current = next;
        }
        Ok(Ok(Chain { classes }))
    }

    /// The methods of `endpoint` that the run examines, with the span of each status.
    pub fn examined<'e>(
        &self,
        endpoint: &'e EndpointDoc,
        filter: PublishFilter,
    ) -> impl Iterator<Item = (Method, &'e Range<usize>)> + 'e {
        endpoint
            .publish_status
            .iter()
            .filter(move |(_, status, _)| {
                filter == PublishFilter::All || *status == PublishStatus::Public
            })
            .map(|(m, _, span)| (*m, span))
    }

    /// A finding located at `offset`.
    #[allow(clippy::too_many_arguments, reason = "a finding has that many fields")]
    pub fn finding(
        &self,
        rule: RuleId,
        endpoint: &str,
        path: Option<&str>,
        method: Option<Method>,
        scopes: Vec<String>,
        via: Option<&str>,
        message: String,
        offset: usize,
    ) -> Finding {
        let at = self.source.location(offset);
        Finding {
            code: rule.code,
            rule: rule.name,
            endpoint: endpoint.to_string(),
            path: path.map(str::to_string),
            method: method.map(|m| m.as_str().to_string()),
            scopes,
            via: via.map(str::to_string),
            message,
            file: self.source.name().to_string(),
            line: at.line,
            column: at.column,
            pointer: None,
            input: InputKind::Native,
            severity: Severity::Error,
        }
    }
}

/// The read-only scopes of a scope-map entry, sorted and without duplicates.
pub fn readonly_of(entry: Option<&ScopeMapEntry>, readonly: &ReadonlyScopes) -> Vec<String> {
    let set: BTreeSet<&str> = entry
        .map(|e| e.scopes.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|s| s.value.as_str())
        .filter(|s| readonly.contains(s))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// Whether `notes` holds a note for `method`: any non-empty string counts, even one of
/// whitespace only, as in Sentry's guard (`if note:`); a blank note is SG002's finding alone.
pub fn has_note(notes: Option<&Node>, method: Method) -> bool {
    let Some(table) = notes.and_then(Node::as_table) else {
        return false;
    };
    table.iter().any(|(key, value)| {
        key.name.parse::<Method>().ok() == Some(method)
            && value.as_str().is_some_and(|s| !s.is_empty())
    })
}

/// Renders scopes as a Python list repr: `['event:read', 'org:read']`.
pub fn python_list(scopes: &[String]) -> String {
    let items: Vec<String> = scopes.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", items.join(", "))
}

/// Adds the counts of a native manifest to `summary`.
pub fn count(input: &Input<'_>, options: &Options, summary: &mut Summary) {
    summary.endpoints += input.doc.endpoints.len();
    for e in &input.doc.endpoints {
        for (m, _) in input.examined(e, options.publish_status) {
            summary.operations += 1;
            if Method::MUTATIONS.contains(&m) {
                summary.mutations += 1;
            }
        }
    }
}
