//! Output formats: text, JSON, SARIF 2.1.0, GitHub workflow annotations, Markdown.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::finding::{Finding, InputKind, Report};
use crate::rules::RULES;

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
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json_report(report),
        Format::Sarif => sarif(report),
        Format::Github => github(report),
        Format::Markdown => markdown(report),
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

fn summary_line(report: &Report) -> String {
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

/// FNV-1a, 64 bits: a stable fingerprint (not a security hash).
fn fnv1a(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// A file name as a relative URI: separators as `/`, relative to the current directory when
/// it is inside it, and percent-encoded where a URI needs it.
pub fn relative_uri(file: &str) -> String {
    let path = Path::new(file);
    let rel = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let s = rel.display().to_string().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s).to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The partial fingerprint of a finding: rule, file, method, endpoint and path (and the
/// class or schemes, to tell apart findings on one method) — never the line.
pub fn fingerprint(f: &Finding) -> String {
    fnv1a(&[
        f.code,
        &relative_uri(&f.file),
        f.method.as_deref().unwrap_or(""),
        &f.endpoint,
        f.path.as_deref().unwrap_or(""),
        f.via.as_deref().unwrap_or(""),
    ])
}

fn sarif(report: &Report) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let doc = r.doc();
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["security", "authorization"]},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let rule_index = RULES.iter().position(|r| r.code == f.code).unwrap_or(0);
            let mut location = json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": relative_uri(&f.file), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column},
                },
            });
            let name = match &f.method {
                Some(m) => format!("{} {m}", f.endpoint),
                None => f.endpoint.clone(),
            };
            if let Some(obj) = location.as_object_mut() {
                obj.insert(
                    "logicalLocations".into(),
                    json!([{"fullyQualifiedName": name, "kind": "function"}]),
                );
            }
            json!({
                "ruleId": f.code,
                "ruleIndex": rule_index,
                "level": "error",
                "message": {"text": f.message},
                "locations": [location],
                "partialFingerprints": {"scopegateFinding/v1": fingerprint(f)},
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scopegate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/scopegate",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
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
