//! JUnit XML, as CI systems (GitLab, Jenkins, Azure) show test reports: one test suite per
//! file with findings, one failing test case per finding; a clean run is one passing case.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::text_line;
use crate::report::{Finding, Report};

/// Escapes text for XML content and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders `report` as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_file.entry(f.file.as_str()).or_default().push(f);
    }
    let total = report.findings.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"scopegate lint\" tests=\"{total}\" failures=\"{}\">",
        report.findings.len()
    );
    if by_file.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"scopegate lint\" tests=\"1\" failures=\"0\">\n    <testcase classname=\"scopegate lint\" name=\"{}\"/>\n  </testsuite>",
            xml(&super::summary_line(report))
        );
    }
    for (file, findings) in by_file {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{n}\">",
            xml(file),
            n = findings.len()
        );
        for f in findings {
            let name = match &f.method {
                Some(m) => format!("{} {} {m}", f.code, f.endpoint),
                None => format!("{} {}", f.code, f.endpoint),
            };
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\">",
                xml(file),
                xml(&name),
                xml(file),
                f.line
            );
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                xml(&format!("{} {} ({})", f.code, f.rule, f.severity)),
                xml(&f.message),
                xml(&text_line(f))
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
