//! Baselines: today's findings, recorded by (file, code, endpoint, method) — never by line —
//! so that only new findings fail, and debt can only shrink.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Report;

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file, as named when the baseline was written.
    pub file: String,
    /// The rule code.
    pub code: String,
    /// The endpoint (class name or URL path).
    pub endpoint: String,
    /// The method (empty when the finding has none).
    #[serde(default)]
    pub method: String,
}

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version: 1.
    pub version: u32,
    /// The recorded findings, sorted.
    pub entries: Vec<Entry>,
}

impl Baseline {
    /// The baseline of a report's findings.
    pub fn of(report: &Report) -> Self {
        let entries: BTreeSet<Entry> = report
            .findings
            .iter()
            .map(|f| {
                let (file, code, endpoint, method) = f.baseline_key();
                Entry {
                    file,
                    code,
                    endpoint,
                    method,
                }
            })
            .collect();
        Baseline {
            version: 1,
            entries: entries.into_iter().collect(),
        }
    }

    /// Parses a baseline file's text; the error names line and column.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if b.version != 1 {
            return Err(format!("unsupported baseline version {}", b.version));
        }
        Ok(b)
    }

    /// Serializes the baseline (pretty JSON, one entry per line).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Removes from `report` the findings the baseline records, and returns the entries
    /// that no longer occur.
    pub fn apply(&self, report: &mut Report) -> Vec<Entry> {
        let known: BTreeSet<&Entry> = self.entries.iter().collect();
        let current = Baseline::of(report);
        report.findings.retain(|f| {
            let (file, code, endpoint, method) = f.baseline_key();
            !known.contains(&Entry {
                file,
                code,
                endpoint,
                method,
            })
        });
        report.summary.findings = report.findings.len();
        let now: BTreeSet<&Entry> = current.entries.iter().collect();
        self.entries
            .iter()
            .filter(|e| !now.contains(e))
            .cloned()
            .collect()
    }
}
