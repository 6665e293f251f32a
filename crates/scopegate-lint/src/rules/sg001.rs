//! # SG001 readonly-scope-on-mutation
//!
//! ## What it finds
//!
//! A mutation (POST, PUT, PATCH or DELETE) that a credential holding only read-only scopes
//! can call, with no exception note justifying it.
//!
//! - Native manifest: for every endpoint method present in `publish_status` (any status;
//!   `--publish-status public` narrows it) and every permission class of the endpoint, the
//!   read-only scopes of the class's scope map for that method (`extends` applied). The
//!   message is Sentry's guard message, byte for byte.
//! - OpenAPI: an operation with a security alternative satisfiable with read-only scopes
//!   (`--scope-list all`: it lists at least one scope and every scope it lists is read-only;
//!   `--scope-list any`: every scheme in it that lists scopes lists a read-only one).
//!
//! Any non-empty note string counts as a note, even one of whitespace only, as in Sentry's
//! guard (`if note:`); a blank note is SG002's finding alone.
//!
//! ## Why it matters
//!
//! Read-only scopes are handed out widely: integrations, CI tokens, read-only members. A
//! mutation that accepts one lets every such credential change data. Sentry's guard test
//! found 56 of them when it was introduced.
//!
//! ## Example
//!
//! ```toml
//! [permissions.MonitorPermission]
//! object = "organization"
//! scope_map = { POST = ["org:read", "org:write"] }
//!
//! [[endpoints]]
//! name = "monitors.MonitorIndexEndpoint"
//! permissions = ["MonitorPermission"]
//! publish_status = { POST = "public" }
//! ```
//!
//! reports
//! `monitors.MonitorIndexEndpoint POST accepts readonly scopes ['org:read'] via MonitorPermission. Remove the readonly scopes or add readonly_mutation_scope_exceptions[method] with a justification note.`
//!
//! ## Fix
//!
//! Remove the read-only scope from the mutation's scope map (or the operation's security).
//! When the endpoint compensates in code, document it: add
//! `readonly_mutation_scope_exceptions = { POST = "why this is safe" }` to the permission class
//! or the endpoint, or `x-readonly-mutation-exception: "why"` to the OpenAPI operation.

use scopegate_core::Method;

use super::{Context, Rule};
use crate::input::native::{self, has_note, python_list, readonly_of};
use crate::input::openapi::Api;
use crate::input::InputError;
use crate::report::Finding;

/// SG001.
pub const RULE: Rule = Rule {
    code: "SG001",
    name: "readonly-scope-on-mutation",
    summary: "a mutation admitting a read-only scope with no exception note",
    source: include_str!("sg001.rs"),
    native: check_native,
    openapi: check_openapi,
};

fn check_native(
    input: &native::Input<'_>,
    ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    for endpoint in &input.doc.endpoints {
        for (method, span) in input.examined(endpoint, ctx.options.publish_status) {
            if !Method::MUTATIONS.contains(&method) {
                continue;
            }
            for class in &endpoint.permissions {
                let Ok(chain) = input.chain(&class.value)? else {
                    continue;
                };
                let scopes = readonly_of(chain.scopes(method), &ctx.options.readonly);
                if scopes.is_empty()
                    || has_note(endpoint.notes.as_ref(), method)
                    || has_note(chain.notes(), method)
                {
                    continue;
                }
                let message = format!(
                    "{} {} accepts readonly scopes {} via {}. Remove the readonly scopes or add readonly_mutation_scope_exceptions[method] with a justification note.",
                    endpoint.name.value,
                    method.as_str(),
                    python_list(&scopes),
                    class.value
                );
                out.push(input.finding(
                    RULE.id(),
                    &endpoint.name.value,
                    endpoint.path.as_deref(),
                    Some(method),
                    scopes,
                    Some(&class.value),
                    message,
                    span.start,
                ));
            }
        }
    }
    Ok(())
}

fn check_openapi(api: &Api, ctx: Context<'_>, out: &mut Vec<Finding>) {
    for op in &api.operations {
        if !Method::MUTATIONS.contains(&op.method) || op.has_note_text() {
            continue;
        }
        let alternatives = op.readonly_alternatives(ctx.options);
        if alternatives.is_empty() {
            continue;
        }
        let mut scopes: Vec<String> = alternatives
            .iter()
            .flat_map(|(_, s)| s.iter().cloned())
            .collect();
        scopes.sort();
        scopes.dedup();
        let via: Vec<&str> = alternatives.iter().map(|(v, _)| v.as_str()).collect();
        let via = via.join(" | ");
        let message = format!(
            "{} accepts readonly scopes {} via {via}. Remove the readonly scopes or add x-readonly-mutation-exception with a justification note.",
            op.label(),
            python_list(&scopes)
        );
        out.push(op.finding(RULE.id(), &op.loc, scopes, Some(via), message));
    }
}
