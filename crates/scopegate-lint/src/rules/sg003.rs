//! # SG003 stale-exception-note
//!
//! ## What it finds
//!
//! A well-formed exception note for a method that no longer admits any read-only scope: on a
//! permission class, its scope map (`extends` applied) gives the method no read-only scope;
//! on an endpoint, none of its permission classes does; in OpenAPI, an operation with
//! `x-readonly-mutation-exception` that is not a mutation or that no read-only credential
//! can call.
//!
//! ## Why it matters
//!
//! Notes are debt records. A note that outlives the debt hides the next regression: when a
//! read-only scope creeps back into that method, SG001 stays silent.
//!
//! ## Example
//!
//! ```toml
//! [permissions.SearchPermission]
//! object = "organization"
//! scope_map = { POST = ["org:write"] }
//! readonly_mutation_scope_exceptions = { POST = "searches are per-user" }
//! ```
//!
//! ## Fix
//!
//! Delete the note.

use scopegate_core::manifest::parse_notes;
use scopegate_core::Method;

use super::{Context, Rule};
use crate::input::native::{self, readonly_of};
use crate::input::openapi::Api;
use crate::input::InputError;
use crate::report::Finding;

/// SG003.
pub const RULE: Rule = Rule {
    code: "SG003",
    name: "stale-exception-note",
    summary: "a note for a method that no longer admits any read-only scope",
    source: include_str!("sg003.rs"),
    native: check_native,
    openapi: check_openapi,
};

fn check_native(
    input: &native::Input<'_>,
    ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    for class in &input.doc.classes {
        let Some(notes) = &class.notes else { continue };
        let Ok(chain) = input.chain(&class.name.value)? else {
            continue;
        };
        let spans = notes.as_table().unwrap_or(&[]);
        for (method, _) in parse_notes(notes).0 {
            if readonly_of(chain.scopes(method), &ctx.options.readonly).is_empty() {
                let offset = spans
                    .iter()
                    .find(|(k, _)| k.name == method.as_str())
                    .map_or(notes.span.start, |(k, _)| k.span.start);
                out.push(input.finding(
                    RULE.id(),
                    &class.name.value,
                    None,
                    Some(method),
                    Vec::new(),
                    Some(&class.name.value),
                    format!(
                        "{} readonly_mutation_scope_exceptions['{}'] is stale: the scope map gives {} no readonly scope. Remove the note.",
                        class.name.value,
                        method.as_str(),
                        method.as_str()
                    ),
                    offset,
                ));
            }
        }
    }
    for endpoint in &input.doc.endpoints {
        let Some(notes) = &endpoint.notes else {
            continue;
        };
        let spans = notes.as_table().unwrap_or(&[]);
        for (method, _) in parse_notes(notes).0 {
            let mut admits = false;
            let mut known = false;
            for class in &endpoint.permissions {
                if let Ok(chain) = input.chain(&class.value)? {
                    known = true;
                    admits |= !readonly_of(chain.scopes(method), &ctx.options.readonly).is_empty();
                }
            }
            if known && !admits {
                let offset = spans
                    .iter()
                    .find(|(k, _)| k.name == method.as_str())
                    .map_or(notes.span.start, |(k, _)| k.span.start);
                out.push(input.finding(
                    RULE.id(),
                    &endpoint.name.value,
                    endpoint.path.as_deref(),
                    Some(method),
                    Vec::new(),
                    None,
                    format!(
                        "{} readonly_mutation_scope_exceptions['{}'] is stale: no permission class gives {} a readonly scope. Remove the note.",
                        endpoint.name.value,
                        method.as_str(),
                        method.as_str()
                    ),
                    offset,
                ));
            }
        }
    }
    Ok(())
}

fn check_openapi(api: &Api, ctx: Context<'_>, out: &mut Vec<Finding>) {
    for op in &api.operations {
        let (Some(loc), Some(_)) = (&op.exception, op.note()) else {
            continue;
        };
        let why = if !Method::MUTATIONS.contains(&op.method) {
            "the operation is not a mutation"
        } else if op.readonly_alternatives(ctx.options).is_empty() {
            "no security alternative can be satisfied with readonly scopes"
        } else {
            continue;
        };
        let message = format!(
            "{} x-readonly-mutation-exception is stale: {why}. Remove the note.",
            op.label()
        );
        out.push(op.finding(RULE.id(), loc, Vec::new(), None, message));
    }
}
