//! # SG004 unknown-scope
//!
//! ## What it finds
//!
//! A scope in a permission class's scope map that the policy does not declare
//! (`[scopes].all`). Native manifests only.
//!
//! ## Why it matters
//!
//! No credential can hold an undeclared scope, so the entry grants nothing — usually a typo
//! (`org:wirte`) that silently locks tokens out, or a scope from another product's policy.
//!
//! ## Example
//!
//! ```toml
//! [permissions.OrganizationPermission]
//! object = "organization"
//! scope_map = { PUT = ["org:wirte"] }
//! ```
//!
//! ## Fix
//!
//! Correct the name, or declare the scope in the policy.

use super::{nothing_openapi, Context, Rule};
use crate::input::native;
use crate::input::InputError;
use crate::report::Finding;

/// SG004.
pub const RULE: Rule = Rule {
    code: "SG004",
    name: "unknown-scope",
    summary: "a scope that the policy does not declare",
    source: include_str!("sg004.rs"),
    native: check_native,
    openapi: nothing_openapi,
};

fn check_native(
    input: &native::Input<'_>,
    ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    let registry = &ctx.policy.scopes;
    for class in &input.doc.classes {
        for entry in class.scope_map.as_deref().unwrap_or(&[]) {
            for scope in &entry.scopes {
                if registry.id(&scope.value).is_none() {
                    out.push(input.finding(
                        RULE.id(),
                        &class.name.value,
                        None,
                        Some(entry.method),
                        vec![scope.value.clone()],
                        Some(&class.name.value),
                        format!(
                            "{} scope_map[{}] names `{}`, which the policy `{}` does not declare",
                            class.name.value,
                            entry.method.as_str(),
                            scope.value,
                            ctx.policy.name
                        ),
                        scope.span.start,
                    ));
                }
            }
        }
    }
    Ok(())
}
