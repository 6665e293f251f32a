//! Output formats: text, JSON, SARIF 2.1.0 ([`sarif`]), GitHub workflow annotations,
//! Markdown.

use std::fmt::Write as _;

use serde_json::json;

use crate::report::{Finding, InputKind, Report};

pub mod gitlab;
pub mod junit;
pub mod sarif;

pub use sarif::{fingerprint, relative_uri};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One finding a line, then a summary.
    Text,
    /// The JSON schema of docs/lint-rules.md.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
    /// A Markdown table for a pull-request comment.
    Markdown,
    /// JUnit XML test reports.
    Junit,
    /// GitLab code quality JSON.
    Gitlab,
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json_report(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github(report),
        Format::Markdown => markdown(report),
        Format::Junit => junit::render(report),
        Format::Gitlab => gitlab::render(report),
    }
}

/// The text line of one finding. SG001 over a native manifest is Sentry's guard message,
/// byte for byte; every other finding is `file:line:column: CODE message`.
pub fn text_line(f: &Finding) -> String {
    if f.code == "SG001" && f.input == InputKind::Native {
        f.message.clone()
    } else {
        format!(
            "{}:{}:{}: {} {}",
            f.file, f.line, f.column, f.code, f.message
        )
    }
}

pub(crate) fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "{} in {} ({}, {}, {})",
        plural(s.findings, "finding", "findings"),
        plural(s.files, "file", "files"),
        plural(s.endpoints, "endpoint", "endpoints"),
        plural(s.operations, "operation", "operations"),
        plural(s.mutations, "mutation", "mutations"),
    )
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&text_line(f));
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

fn json_report(report: &Report) -> String {
    let doc = json!({
        "version": 1,
        "summary": report.summary,
        "findings": report.findings,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            escape_property(&f.file),
            f.line,
            f.column,
            escape_property(&format!("{} {}", f.code, f.rule)),
            escape_data(&f.message)
        );
    }
    let _ = writeln!(out, "{}", summary_line(report));
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### scopegate lint: {}\n", summary_line(report));
    if report.findings.is_empty() {
        return out;
    }
    out.push_str("| Code | Location | Endpoint | Method | Read-only scopes | Via | Message |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for f in &report.findings {
        let scopes: Vec<String> = f.scopes.iter().map(|s| format!("`{s}`")).collect();
        let _ = writeln!(
            out,
            "| {} | `{}:{}` | `{}` | {} | {} | {} | {} |",
            f.code,
            cell(&f.file),
            f.line,
            cell(&f.endpoint),
            f.method.as_deref().unwrap_or(""),
            cell(&scopes.join(", ")),
            cell(f.via.as_deref().unwrap_or("")),
            cell(&f.message),
        );
    }
    out
}
