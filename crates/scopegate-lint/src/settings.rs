//! The settings of a lint run: which scopes count as read-only (the policy's set, or glob
//! patterns), how scope lists read, which methods are examined and which rules run.
//!
//! This module imports nothing else of the crate: inputs, rules and the driver all read it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use scopegate_core::Policy;

/// How a scope list inside one security scheme reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeList {
    /// Every listed scope is required (the OpenAPI meaning).
    #[default]
    All,
    /// Any one listed scope suffices (how Sentry, Slack and Google write their lists).
    Any,
}

/// Which endpoint methods of a native manifest are examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishFilter {
    /// Every method present in `publish_status`, whatever its status (Sentry's guard).
    #[default]
    All,
    /// Only methods whose status is `public`.
    Public,
}

/// How much a finding matters. A run fails on findings at or above its fail severity
/// (`error` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Worth knowing; never fails a run unless asked to (`--fail-severity note`).
    Note,
    /// Worth fixing.
    Warning,
    /// Must be fixed (every rule's default).
    #[default]
    Error,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Note, Severity::Warning, Severity::Error];

    /// The lowercase name (`error`), as in configuration and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity `{s}` (expected `error`, `warning` or `note`)")
            })
    }
}

/// The settings of a lint run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The read-only scopes.
    pub readonly: ReadonlyScopes,
    /// How OpenAPI scope lists read.
    pub scope_list: ScopeList,
    /// Which native methods are examined.
    pub publish_status: PublishFilter,
    /// Codes or code prefixes to run (empty: all).
    pub select: Vec<String>,
    /// Codes or code prefixes not to run.
    pub ignore: Vec<String>,
    /// The severity of a rule's findings, by code (absent: [`Severity::Error`]).
    pub severity: BTreeMap<String, Severity>,
}

impl Options {
    /// The defaults for `policy`: its read-only scopes, `all` lists, every status, every rule.
    pub fn new(policy: &Policy) -> Self {
        Options {
            readonly: ReadonlyScopes::from_policy(policy),
            scope_list: ScopeList::All,
            publish_status: PublishFilter::All,
            select: Vec::new(),
            ignore: Vec::new(),
            severity: BTreeMap::new(),
        }
    }

    /// The severity of the findings of rule `code`.
    pub fn severity_of(&self, code: &str) -> Severity {
        self.severity.get(code).copied().unwrap_or_default()
    }

    /// Whether the rule `code` runs.
    pub fn enabled(&self, code: &str) -> bool {
        let matches = |p: &String| code.eq_ignore_ascii_case(p) || code.starts_with(p.as_str());
        (self.select.is_empty() || self.select.iter().any(matches))
            && !self.ignore.iter().any(matches)
    }
}

/// The read-only scopes a lint run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadonlyScopes {
    /// Exactly these names (the policy's `[scopes].readonly`).
    Names(BTreeSet<String>),
    /// Glob patterns where `*` matches any run of characters (`*:read`, `read:*`).
    Patterns(Vec<String>),
}

impl ReadonlyScopes {
    /// The policy's read-only scopes.
    pub fn from_policy(policy: &Policy) -> Self {
        ReadonlyScopes::Names(
            policy
                .scopes
                .sorted_names(policy.readonly)
                .into_iter()
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether `scope` is read-only.
    pub fn contains(&self, scope: &str) -> bool {
        match self {
            ReadonlyScopes::Names(names) => names.contains(scope),
            ReadonlyScopes::Patterns(patterns) => patterns.iter().any(|p| glob_match(p, scope)),
        }
    }
}

/// Matches `text` against `pattern`, where `*` matches any run of characters (including
/// none) and every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // no `*` at all
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = rest.get(i + part.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn stars_match_any_run() {
        assert!(glob_match("*:read", "org:read"));
        assert!(!glob_match("*:read", "org:write"));
        assert!(glob_match("read:*", "read:user"));
        assert!(glob_match("*.readonly", "https://x/auth/drive.readonly"));
        assert!(glob_match("org:read", "org:read"));
        assert!(!glob_match("org:read", "org:reads"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
