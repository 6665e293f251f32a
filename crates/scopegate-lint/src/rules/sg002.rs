//! # SG002 malformed-exception-note
//!
//! ## What it finds
//!
//! An exception note that cannot count as a justification: a
//! `readonly_mutation_scope_exceptions` that is not a map, a key that is not a mutation
//! method (POST, PUT, PATCH, DELETE), a note that is not a string or is blank; in OpenAPI, an
//! `x-readonly-mutation-exception` that is not a non-blank string. Messages follow Sentry's
//! guard test.
//!
//! ## Why it matters
//!
//! A malformed note silently justifies nothing (or, worse, seems to): the mutation it was
//! meant for is still reported by SG001, or a typo in the method hides the intent.
//!
//! ## Example
//!
//! ```toml
//! [permissions.SearchPermission]
//! object = "organization"
//! readonly_mutation_scope_exceptions = { GET = "reads are fine", POST = "  " }
//! ```
//!
//! reports `SearchPermission readonly_mutation_scope_exceptions['GET'] must target a mutation
//! method` and `SearchPermission readonly_mutation_scope_exceptions['POST'] must be a non-empty
//! note`.
//!
//! ## Fix
//!
//! Key notes by mutation method and write a real justification in each.

use scopegate_core::manifest::{parse_notes, NoteProblem};
use scopegate_core::source::Node;

use super::{Context, Rule};
use crate::input::native;
use crate::input::openapi::Api;
use crate::input::InputError;
use crate::report::Finding;

/// SG002.
pub const RULE: Rule = Rule {
    code: "SG002",
    name: "malformed-exception-note",
    summary: "note map not a map, key not a mutation method, empty or blank note",
    source: include_str!("sg002.rs"),
    native: check_native,
    openapi: check_openapi,
};

fn report(input: &native::Input<'_>, owner: &str, notes: &Node, out: &mut Vec<Finding>) {
    for problem in parse_notes(notes).1 {
        let (message, offset, method) = match problem {
            NoteProblem::NotATable(span) => (
                format!("{owner} readonly_mutation_scope_exceptions must be a dict"),
                span.start,
                None,
            ),
            NoteProblem::NotAMutation { key, span } => (
                format!(
                    "{owner} readonly_mutation_scope_exceptions['{key}'] must target a mutation method"
                ),
                span.start,
                key.parse().ok(),
            ),
            NoteProblem::EmptyNote { key, span } => (
                format!("{owner} readonly_mutation_scope_exceptions['{key}'] must be a non-empty note"),
                span.start,
                key.parse().ok(),
            ),
        };
        out.push(input.finding(
            RULE.id(),
            owner,
            None,
            method,
            Vec::new(),
            Some(owner),
            message,
            offset,
        ));
    }
}

fn check_native(
    input: &native::Input<'_>,
    _ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    for class in &input.doc.classes {
        if let Some(notes) = &class.notes {
            report(input, &class.name.value, notes, out);
        }
    }
    for endpoint in &input.doc.endpoints {
        if let Some(notes) = &endpoint.notes {
            report(input, &endpoint.name.value, notes, out);
        }
    }
    Ok(())
}

fn check_openapi(api: &Api, _ctx: Context<'_>, out: &mut Vec<Finding>) {
    for op in &api.operations {
        let Some(loc) = &op.exception else { continue };
        if op.note().is_none() {
            let message = format!(
                "{} x-readonly-mutation-exception must be a non-empty note, found {}",
                op.label(),
                match &loc.node().value {
                    scopegate_core::source::Value::String(_) => "a blank string",
                    other => other.kind(),
                }
            );
            out.push(op.finding(RULE.id(), loc, Vec::new(), None, message));
        }
    }
}
