//! SARIF 2.1.0 (GitHub code scanning), with stable fingerprints and relative URIs.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::report::{Finding, Report};
use crate::rules::RULES;

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

/// Renders `report` as SARIF 2.1.0.
pub fn render(report: &Report) -> String {
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
                "level": f.severity.as_str(),
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
