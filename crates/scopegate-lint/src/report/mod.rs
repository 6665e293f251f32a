//! What a lint run reports: findings, counts and warnings, and baselines of known findings.
//!
//! - [`finding`]: one [`Finding`], and the [`RuleId`] it names.
//! - [`baseline`]: known findings, so that only new ones fail.

use serde::Serialize;

pub mod baseline;
pub mod finding;

pub use finding::{Finding, InputKind, RuleId};

/// Counts over what a run examined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Input files read (including files reached through `$ref`).
    pub files: usize,
    /// Endpoints (native) and paths (OpenAPI).
    pub endpoints: usize,
    /// Endpoint methods examined.
    pub operations: usize,
    /// Of those, mutations (POST, PUT, PATCH, DELETE).
    pub mutations: usize,
    /// Findings reported.
    pub findings: usize,
}

/// The result of a lint run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// Warnings (dangling `$ref`s outside what the rules read, undefined schemes, …).
    pub warnings: Vec<String>,
}

impl Report {
    /// Sorts findings into their stable order: by file, code, endpoint, method, message.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.code, &a.endpoint, &a.method, &a.message, a.line).cmp(&(
                &b.file,
                b.code,
                &b.endpoint,
                &b.method,
                &b.message,
                b.line,
            ))
        });
        self.summary.findings = self.findings.len();
    }
}
