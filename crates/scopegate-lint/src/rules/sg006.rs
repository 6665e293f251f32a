//! # SG006 unknown-permission-class
//!
//! ## What it finds
//!
//! An endpoint naming a permission class the manifest does not define, or a class whose
//! `extends` names one. Native manifests only.
//!
//! ## Why it matters
//!
//! The engine refuses to load such a manifest, and the other rules cannot see what the
//! endpoint admits: its mutations go unchecked.
//!
//! ## Example
//!
//! ```toml
//! [[endpoints]]
//! name = "OrganizationDetailsEndpoint"
//! permissions = ["OrganizationPermision"]
//! ```
//!
//! ## Fix
//!
//! Correct the name, or define the class under `[permissions]`.

use super::{nothing_openapi, Context, Rule};
use crate::input::native::{self, ChainError};
use crate::input::InputError;
use crate::report::Finding;

/// SG006.
pub const RULE: Rule = Rule {
    code: "SG006",
    name: "unknown-permission-class",
    summary: "an endpoint naming a class the manifest does not define",
    source: include_str!("sg006.rs"),
    native: check_native,
    openapi: nothing_openapi,
};

fn check_native(
    input: &native::Input<'_>,
    _ctx: Context<'_>,
    out: &mut Vec<Finding>,
) -> Result<(), InputError> {
    for endpoint in &input.doc.endpoints {
        for class in &endpoint.permissions {
            if input.doc.class(&class.value).is_none() {
                out.push(input.finding(
                    RULE.id(),
                    &endpoint.name.value,
                    endpoint.path.as_deref(),
                    None,
                    Vec::new(),
                    Some(&class.value),
                    format!(
                        "{} names permission class `{}`, which the manifest does not define",
                        endpoint.name.value, class.value
                    ),
                    class.span.start,
                ));
            }
        }
    }
    for class in &input.doc.classes {
        if let Err(ChainError::Unknown {
            name,
            span: Some(span),
        }) = input.chain(&class.name.value)?
        {
            // Report each dangling `extends` once: at the class that writes it.
            if class.extends.as_ref().is_some_and(|e| e.value == name) {
                out.push(input.finding(
                    RULE.id(),
                    &class.name.value,
                    None,
                    None,
                    Vec::new(),
                    Some(&class.name.value),
                    format!(
                        "{} extends permission class `{name}`, which the manifest does not define",
                        class.name.value
                    ),
                    span.start,
                ));
            }
        }
    }
    Ok(())
}
