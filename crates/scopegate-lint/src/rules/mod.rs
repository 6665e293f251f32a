//! The rules, one module each, and their registry.
//!
//! A rule's documentation is its module's doc comment, under the fixed headings *What it
//! finds*, *Why it matters*, *Example* and *Fix*; [`Rule::doc`] returns it (that is what
//! `scopegate rule CODE` prints).

use scopegate_core::Policy;

use crate::input::native;
use crate::input::openapi::Api;
use crate::input::InputError;
use crate::report::{Finding, RuleId};
use crate::settings::Options;

pub mod sg001;
pub mod sg002;
pub mod sg003;
pub mod sg004;
pub mod sg005;
pub mod sg006;

/// What the rules read: the policy and the options.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The policy (its scope registry, for SG004).
    pub policy: &'a Policy,
    /// The options.
    pub options: &'a Options,
}

/// The check of a rule over a native manifest.
pub type NativeCheck =
    fn(&native::Input<'_>, Context<'_>, &mut Vec<Finding>) -> Result<(), InputError>;
/// The check of a rule over an OpenAPI document.
pub type OpenApiCheck = fn(&Api, Context<'_>, &mut Vec<Finding>);

/// A rule: its stable code, name, one-line summary and checks.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The stable code (`SG001`).
    pub code: &'static str,
    /// The name (`readonly-scope-on-mutation`).
    pub name: &'static str,
    /// One line: what it finds.
    pub summary: &'static str,
    /// The rule module's source text (its doc comment is the documentation).
    pub source: &'static str,
    /// The check over native manifests.
    pub native: NativeCheck,
    /// The check over OpenAPI documents.
    pub openapi: OpenApiCheck,
}

impl Rule {
    /// The identity findings of this rule carry.
    pub const fn id(&self) -> RuleId {
        RuleId {
            code: self.code,
            name: self.name,
        }
    }

    /// The rule's documentation: its module doc comment, as Markdown.
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.source.lines() {
            let Some(rest) = line.strip_prefix("//!") else {
                break;
            };
            out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            out.push('\n');
        }
        out
    }
}

/// Every rule, by code.
pub const RULES: &[Rule] = &[
    sg001::RULE,
    sg002::RULE,
    sg003::RULE,
    sg004::RULE,
    sg005::RULE,
    sg006::RULE,
];

/// The rule with `code` (case-insensitive), or with that name.
pub fn find(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// A check that finds nothing (for a rule that does not apply to an input kind).
pub fn nothing_native(
    _: &native::Input<'_>,
    _: Context<'_>,
    _: &mut Vec<Finding>,
) -> Result<(), InputError> {
    Ok(())
}

/// A check that finds nothing in OpenAPI documents.
pub fn nothing_openapi(_: &Api, _: Context<'_>, _: &mut Vec<Finding>) {}
