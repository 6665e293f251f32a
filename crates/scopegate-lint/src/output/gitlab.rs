//! GitLab code quality: the JSON array GitLab shows in merge requests
//! (`artifacts: reports: codequality`), one issue per finding.

use serde_json::json;

use super::{fingerprint, relative_uri};
use crate::report::Report;
use crate::settings::Severity;

/// GitLab's severity for ours.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Note => "info",
    }
}

/// Renders `report` as a GitLab code quality report.
pub fn render(report: &Report) -> String {
    let issues: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "description": format!("{} {}", f.code, f.message),
                "check_name": format!("{} {}", f.code, f.rule),
                "fingerprint": fingerprint(f),
                "severity": severity(f.severity),
                "location": {
                    "path": relative_uri(&f.file),
                    "lines": {"begin": f.line},
                },
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&issues).unwrap_or_default();
    s.push('\n');
    s
}
