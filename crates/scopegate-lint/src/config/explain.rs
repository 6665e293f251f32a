//! Applying layers of settings, remembering where each value came from: what
//! `scopegate lint --explain-config FILE` prints.

use std::fmt::Write as _;

use super::{Layer, Origin};
use crate::rules::RULES;
use crate::settings::{Options, PublishFilter, ReadonlyScopes, ScopeList};

/// One resolved setting: its key, its value as configuration spells it, and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The key (`scope-list`, `severity.SG001`).
    pub key: String,
    /// The value, as written in `scopegate.toml`.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// The options for one file, and how each came to be.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The resolved options.
    pub options: Options,
    /// Every setting, in a fixed order.
    pub lines: Vec<Line>,
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Applies `layers` in order over `options`.
pub(super) fn apply(mut options: Options, layers: &[&Layer]) -> Explained {
    let mut scope_list = Origin::Default;
    let mut readonly = Origin::Default;
    let mut publish = Origin::Default;
    let mut select = Origin::Default;
    let mut ignore = Origin::Default;
    let mut severity: Vec<Origin> = RULES.iter().map(|_| Origin::Default).collect();
    for layer in layers {
        if let Some(s) = &layer.scope_list {
            options.scope_list = s.value;
            scope_list = s.origin.clone();
        }
        if let Some(s) = &layer.readonly {
            options.readonly = ReadonlyScopes::from(s);
            readonly = s.origin.clone();
        }
        if let Some(s) = &layer.publish_status {
            options.publish_status = s.value;
            publish = s.origin.clone();
        }
        if let Some(s) = &layer.select {
            options.select = s.value.clone();
            select = s.origin.clone();
        }
        if let Some(s) = &layer.ignore {
            options.ignore = s.value.clone();
            ignore = s.origin.clone();
        }
        for (code, s) in &layer.severity {
            options.severity.insert(code.clone(), s.value);
            if let Some(i) = RULES.iter().position(|r| r.code == code) {
                if let Some(slot) = severity.get_mut(i) {
                    *slot = s.origin.clone();
                }
            }
        }
    }
    let readonly_value = match &options.readonly {
        ReadonlyScopes::Patterns(p) => list(p),
        ReadonlyScopes::Names(n) => {
            let names: Vec<String> = n.iter().cloned().collect();
            format!("{} (the policy's)", list(&names))
        }
    };
    let mut lines = vec![
        Line {
            key: "scope-list".into(),
            value: match options.scope_list {
                ScopeList::All => "all",
                ScopeList::Any => "any",
            }
            .into(),
            origin: scope_list,
        },
        Line {
            key: "readonly-scopes".into(),
            value: readonly_value,
            origin: readonly,
        },
        Line {
            key: "publish-status".into(),
            value: match options.publish_status {
                PublishFilter::All => "all",
                PublishFilter::Public => "public",
            }
            .into(),
            origin: publish,
        },
        Line {
            key: "select".into(),
            value: list(&options.select),
            origin: select,
        },
        Line {
            key: "ignore".into(),
            value: list(&options.ignore),
            origin: ignore,
        },
    ];
    for (rule, origin) in RULES.iter().zip(severity) {
        let value = if options.enabled(rule.code) {
            options.severity_of(rule.code).to_string()
        } else {
            format!("{} (not run)", options.severity_of(rule.code))
        };
        lines.push(Line {
            key: format!("severity.{}", rule.code),
            value,
            origin,
        });
    }
    Explained { options, lines }
}

impl Explained {
    /// The settings as aligned text: `key = value    # origin`.
    pub fn text(&self) -> String {
        let width = self
            .lines
            .iter()
            .map(|l| l.key.len() + l.value.chars().count() + 3)
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for l in &self.lines {
            let kv = format!("{} = {}", l.key, l.value);
            let _ = writeln!(out, "{kv:<width$}  # {}", l.origin);
        }
        out
    }
}
