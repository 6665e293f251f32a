//! The decision log (`serve --decision-log FILE`): one JSON line per decision.

use scopegate_core::decision::DecisionDoc;
use scopegate_core::Decision;
use serde_json::{Map, Value};

/// The decision log (`serve --decision-log FILE`): one JSON line per decision.
#[derive(Debug)]
pub struct DecisionLog {
    out: std::sync::Mutex<std::io::LineWriter<std::fs::File>>,
}

impl DecisionLog {
    /// Appends to (creating) `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<DecisionLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(DecisionLog {
            out: std::sync::Mutex::new(std::io::LineWriter::new(file)),
        })
    }

    /// Writes one line: time, the request (secrets replaced), the decision, its grant path
    /// and the policy version. A write error is logged, never fails the decision; returns
    /// whether the line was written.
    pub fn write(
        &self,
        request: &Value,
        decision: &Decision,
        doc: &DecisionDoc,
        version: &str,
    ) -> bool {
        use std::io::Write;
        let mut line = Map::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        line.insert("time".into(), now.into());
        line.insert("request".into(), request.clone());
        line.insert(
            "decision".into(),
            serde_json::to_value(doc).unwrap_or(Value::Null),
        );
        line.insert("allowed".into(), decision.allowed().into());
        line.insert(
            "grant".into(),
            serde_json::to_value(&doc.grant).unwrap_or(Value::Null),
        );
        line.insert("policy_version".into(), version.into());
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match out.write_all(text.as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot write the decision log");
                false
            }
        }
    }

    /// Flushes the log to the file and the file to the disk (at shutdown).
    pub fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.flush()?;
        out.get_ref().sync_data()
    }
}
