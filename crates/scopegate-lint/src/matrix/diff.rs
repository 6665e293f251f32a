//! `scopegate diff`: every (principal class, endpoint, method) that gains or loses access
//! between two (policy, manifest) pairs — the blast radius of a change, before it ships.
//!
//! Both sides are computed as a [`Matrix`] and compared by column id (`role:member`,
//! `token:org:read`, …) and by (endpoint, method); a class or an endpoint method present on
//! one side only counts as having no access on the other.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::Matrix;

/// One change of access.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// The endpoint name.
    pub endpoint: String,
    /// The method.
    pub method: String,
    /// The principal class (a matrix column id).
    pub principal: String,
    /// `true` when access is gained, `false` when lost.
    pub gained: bool,
}

/// The changes between two matrices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Every change, sorted by endpoint, method, principal.
    pub changes: Vec<Change>,
    /// How many changes gain access.
    pub gained: usize,
    /// How many lose it.
    pub lost: usize,
    /// How many endpoints change.
    pub endpoints: usize,
}

type Cells = BTreeMap<(String, String), BTreeSet<String>>;

/// How often a decision log saw each (endpoint, method) decided: `(logged, allowed)`
/// (`scopegate diff --log`).
pub type Usage = BTreeMap<(String, String), (u64, u64)>;

fn allowed(m: &Matrix) -> Cells {
    let mut out: Cells = BTreeMap::new();
    for r in &m.rows {
        let set = out
            .entry((r.endpoint.clone(), r.method.clone()))
            .or_default();
        for (c, a) in m.columns.iter().zip(&r.allowed) {
            if *a {
                set.insert(c.id.clone());
            }
        }
    }
    out
}

/// Compares `old` with `new`.
pub fn diff(old: &Matrix, new: &Matrix) -> Diff {
    let (a, b) = (allowed(old), allowed(new));
    let empty = BTreeSet::new();
    let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let before = a.get(key).unwrap_or(&empty);
        let after = b.get(key).unwrap_or(&empty);
        for p in after.difference(before) {
            changes.push(Change {
                endpoint: key.0.clone(),
                method: key.1.clone(),
                principal: p.clone(),
                gained: true,
            });
        }
        for p in before.difference(after) {
            changes.push(Change {
                endpoint: key.0.clone(),
                method: key.1.clone(),
                principal: p.clone(),
                gained: false,
            });
        }
    }
    changes.sort();
    let gained = changes.iter().filter(|c| c.gained).count();
    let endpoints = changes
        .iter()
        .map(|c| c.endpoint.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    Diff {
        lost: changes.len() - gained,
        gained,
        endpoints,
        changes,
    }
}

impl Diff {
    /// Text: per endpoint, each method's gains (`+`) and losses (`-`), then the counts.
    pub fn text(&self) -> String {
        self.text_with_usage(None)
    }

    /// [`Diff::text`], each method's line followed by how often `usage` saw it decided.
    pub fn text_with_usage(&self, usage: Option<&Usage>) -> String {
        let mut out = String::new();
        let mut current: Option<&str> = None;
        let mut i = 0;
        while let Some(c) = self.changes.get(i) {
            if current != Some(c.endpoint.as_str()) {
                let _ = writeln!(out, "{}", c.endpoint);
                current = Some(&c.endpoint);
            }
            let same: Vec<&Change> = self
                .changes
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|d| d.endpoint == c.endpoint && d.method == c.method)
                .collect();
            let gains: Vec<&str> = same
                .iter()
                .filter(|d| d.gained)
                .map(|d| d.principal.as_str())
                .collect();
            let losses: Vec<&str> = same
                .iter()
                .filter(|d| !d.gained)
                .map(|d| d.principal.as_str())
                .collect();
            let seen = usage.map(|u| {
                let (logged, allowed) = u
                    .get(&(c.endpoint.clone(), c.method.clone()))
                    .copied()
                    .unwrap_or_default();
                format!("  [logged {logged}, {allowed} allowed]")
            });
            let seen = seen.as_deref().unwrap_or("");
            if !gains.is_empty() {
                let _ = writeln!(out, "  {:<7} + {}{seen}", c.method, gains.join(", "));
            }
            if !losses.is_empty() {
                let _ = writeln!(out, "  {:<7} - {}{seen}", c.method, losses.join(", "));
            }
            i += same.len().max(1);
        }
        let _ = writeln!(
            out,
            "{} gained, {} lost, across {} endpoint{}",
            self.gained,
            self.lost,
            self.endpoints,
            if self.endpoints == 1 { "" } else { "s" }
        );
        out
    }

    /// JSON: `changes`, `gained`, `lost`, `endpoints`.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
