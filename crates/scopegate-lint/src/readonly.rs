//! Which scopes count as read-only: the policy's set, or glob patterns.

use std::collections::BTreeSet;

use scopegate_core::Policy;

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
