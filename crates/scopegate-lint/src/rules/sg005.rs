//! # SG005 missing-scope-map-entry
//!
//! ## What it finds
//!
//! An endpoint method present in `publish_status` (narrowed by `--publish-status`) that one
//! of the endpoint's permission classes maps to no scopes: the scope map (`extends` applied)
//! has no entry for the method, or an empty one. Native manifests only.
//!
//! ## Why it matters
//!
//! The token gate admits a method only through its scope-map entry, so no token can ever
//! call it: either the method is dead for API clients, or the entry was forgotten.
//!
//! ## Example
//!
//! ```toml
//! [permissions.OrganizationPermission]
//! object = "organization"
//! scope_map = { GET = ["org:read"] }
//!
//! [[endpoints]]
//! name = "OrganizationDetailsEndpoint"
//! permissions = ["OrganizationPermission"]
//! publish_status = { GET = "public", PUT = "public" }
//! ```
//!
//! ## Fix
//!
//! Add the method to the class's scope map, or use a class that maps it.

use super::{nothing_openapi, Context, Rule};
use crate::input::native;
use crate::input::InputError;
use crate::report::Finding;

/// SG005.
pub const RULE: Rule = Rule {
    code: "SG005",
    name: "missing-scope-map-entry",
    summary: "a published method that its permission class maps to no scopes",
    source: include_str!("sg005.rs"),
    native: check_native,
    openapi: nothing_openapi,
};

fn check_native(
    input: &native::Input<'_>,
    ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    for endpoint in &input.doc.endpoints {
        for (method, span) in input.examined(endpoint, ctx.options.publish_status) {
            for class in &endpoint.permissions {
                let Ok(chain) = input.chain(&class.value)? else {
                    continue;
                };
                if chain.scopes(method).is_some_and(|e| !e.scopes.is_empty()) {
                    continue;
                }
                out.push(input.finding(
                    RULE.id(),
                    &endpoint.name.value,
                    endpoint.path.as_deref(),
                    Some(method),
                    Vec::new(),
                    Some(&class.value),
                    format!(
                        "{} {} is in publish_status but {} maps it to no scopes: no token can call it",
                        endpoint.name.value,
                        method.as_str(),
                        class.value
                    ),
                    span.start,
                ));
            }
        }
    }
    Ok(())
}
