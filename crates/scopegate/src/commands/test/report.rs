//! Outcomes of policy test cases and their three outputs: text, JSON and JUnit XML.

use std::fmt::Write as _;

use scopegate_core::{DecisionDoc, Engine, TraceStep};
use serde_json::{json, Value};

use super::suite::{Expected, Suite};

/// One field whose decided value differs from the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `allowed`, `status`, `reason`, `grant` or `missing_scopes`.
    pub field: &'static str,
    /// The expected value (JSON).
    pub expected: Value,
    /// The decided value (JSON).
    pub actual: Value,
}

/// A decided case.
#[derive(Debug)]
pub struct Outcome {
    /// The case's name.
    pub name: String,
    /// Where the case is written.
    pub location: String,
    /// The decision (without trace).
    pub decision: DecisionDoc,
    /// Every expected field the decision does not match; empty when the case passes.
    pub differences: Vec<Difference>,
    /// The explain trace (kept for failures only).
    pub trace: Vec<TraceStep>,
}

impl Outcome {
    /// Whether the decision matches every expected field.
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// The outcomes of one file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file, as displayed.
    pub file: String,
    /// Its cases' outcomes, in file order.
    pub cases: Vec<Outcome>,
}

/// Decides every case of `suite`.
pub fn run_suite(suite: &Suite) -> FileOutcome {
    let engine = Engine::new(&suite.policy, &suite.manifest, &suite.world);
    let cases = suite
        .cases
        .iter()
        .map(|case| {
            let (decision, trace) = engine.explain(&case.request);
            let decision = decision.to_doc(&suite.policy);
            let differences = compare(&case.expected, &decision);
            Outcome {
                name: case.name.clone(),
                location: case.location.clone(),
                trace: if differences.is_empty() {
                    Vec::new()
                } else {
                    trace
                },
                decision,
                differences,
            }
        })
        .collect();
    FileOutcome {
        file: suite.file.display().to_string(),
        cases,
    }
}

/// The fields of `decision` that differ from what `expected` names.
pub fn compare(expected: &Expected, decision: &DecisionDoc) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut differ = |field, e: Value, a: Value| {
        if e != a {
            out.push(Difference {
                field,
                expected: e,
                actual: a,
            });
        }
    };
    differ("allowed", json!(expected.allowed), json!(decision.allowed));
    if let Some(s) = expected.status {
        differ("status", json!(s), json!(decision.status));
    }
    if let Some(r) = &expected.reason {
        differ("reason", json!(r), json!(decision.reason));
    }
    if let Some(g) = &expected.grant {
        differ(
            "grant",
            json!(g),
            json!(decision.grant.clone().unwrap_or_default()),
        );
    }
    if let Some(m) = &expected.missing_scopes {
        differ("missing_scopes", json!(m), json!(decision.missing_scopes));
    }
    out
}

/// The totals: (passed, failed).
pub fn totals(files: &[FileOutcome]) -> (usize, usize) {
    let all = files.iter().flat_map(|f| &f.cases);
    let failed = all.clone().filter(|c| !c.passed()).count();
    (all.count() - failed, failed)
}

/// The text report: each case PASS or FAIL; a failure with its differences, decision and
/// trace; then `N passed, N failed`.
pub fn text(files: &[FileOutcome]) -> String {
    let mut s = String::new();
    for file in files {
        let _ = writeln!(s, "{}", file.file);
        for case in &file.cases {
            if case.passed() {
                let _ = writeln!(s, "  PASS {}", case.name);
                continue;
            }
            let _ = writeln!(s, "  FAIL {} ({})", case.name, case.location);
            for d in &case.differences {
                let _ = writeln!(
                    s,
                    "    {}: expected {}, got {}",
                    d.field, d.expected, d.actual
                );
            }
            let decision = serde_json::to_string(&case.decision).unwrap_or_default();
            let _ = writeln!(s, "    decision: {decision}");
            let _ = writeln!(s, "    trace:");
            for (i, step) in case.trace.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "      {:>2}. {:<15} {:<4}  {}",
                    i + 1,
                    step.step,
                    step.outcome,
                    step.detail
                );
            }
        }
    }
    let (passed, failed) = totals(files);
    let _ = writeln!(s, "{passed} passed, {failed} failed");
    s
}

/// The JSON report: `{"files": [{"file", "cases": [...]}], "passed", "failed"}`.
pub fn json(files: &[FileOutcome]) -> Value {
    let (passed, failed) = totals(files);
    json!({
        "files": files.iter().map(|f| json!({
            "file": f.file,
            "cases": f.cases.iter().map(case_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "passed": passed,
        "failed": failed,
    })
}

fn case_json(c: &Outcome) -> Value {
    let mut v = json!({
        "name": c.name,
        "location": c.location,
        "passed": c.passed(),
        "decision": c.decision,
    });
    if !c.passed() {
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "differences".into(),
                c.differences
                    .iter()
                    .map(|d| json!({"field": d.field, "expected": d.expected, "actual": d.actual}))
                    .collect(),
            );
            map.insert("trace".into(), json!(c.trace));
        }
    }
    v
}

/// The JUnit XML report: one `<testsuite>` per file, one `<testcase>` per case, a
/// `<failure>` carrying the differences and the trace.
pub fn junit(files: &[FileOutcome]) -> String {
    let (passed, failed) = totals(files);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"scopegate test\" tests=\"{}\" failures=\"{failed}\">",
        passed + failed
    );
    for file in files {
        let failures = file.cases.iter().filter(|c| !c.passed()).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml(&file.file),
            file.cases.len()
        );
        for case in &file.cases {
            let head = format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml(&case.name),
                xml(&file.file)
            );
            if case.passed() {
                let _ = writeln!(s, "{head}/>");
                continue;
            }
            let message: Vec<String> = case
                .differences
                .iter()
                .map(|d| format!("{}: expected {}, got {}", d.field, d.expected, d.actual))
                .collect();
            let mut body = format!("{}\n{}\n", case.location, message.join("\n"));
            for (i, step) in case.trace.iter().enumerate() {
                let _ = writeln!(
                    body,
                    "{:>2}. {} {}: {}",
                    i + 1,
                    step.step,
                    step.outcome,
                    step.detail
                );
            }
            let _ = writeln!(s, "{head}>");
            let _ = writeln!(
                s,
                "      <failure message=\"{}\">{}</failure>",
                xml(&message.join("; ")),
                xml(&body)
            );
            let _ = writeln!(s, "    </testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    s
}

/// `text` escaped for XML attribute values and character data.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("a<b>&\"c\"'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;\\u{1}\n"
        );
    }
}
