//! The decision log (`serve --decision-log FILE`): one JSON line per `/v1/` decision, written
//! with the core's codec ([`scopegate_core::codec::write`]), the same JSON the API answers.

use scopegate_core::codec::{DecisionJson, GrantCodes, RequestJson};
use scopegate_core::{Decision, Policy, Request};
use serde::Serialize;

/// The decision log: one JSON line per decision.
#[derive(Debug)]
pub struct DecisionLog {
    out: std::sync::Mutex<std::io::LineWriter<std::fs::File>>,
}

/// A `bearer` principal as logged: the token's id and display prefix, never its secret
/// (`token_id: null` for a secret that matched no stored token).
#[derive(Debug, Clone, Serialize)]
pub struct LoggedBearer {
    /// Always `bearer`.
    pub kind: &'static str,
    /// The stored token's id.
    pub token_id: Option<String>,
    /// The token's display prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_prefix: Option<String>,
}

/// One line of the log.
#[derive(Serialize)]
struct Line<'a> {
    time: f64,
    request: RequestJson<'a, LoggedBearer>,
    decision: DecisionJson<'a>,
    allowed: bool,
    grant: Option<GrantCodes>,
    policy_version: &'a str,
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

    /// Writes one line: time, the request as read (a bearer principal replaced by
    /// `bearer`), the decision, its grant path and the policy version. A write error is
    /// logged, never fails the decision; returns whether the line was written.
    pub fn write(
        &self,
        request: &Request,
        bearer: Option<&LoggedBearer>,
        decision: &Decision,
        policy: &Policy,
        version: &str,
    ) -> bool {
        use std::io::Write;
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let line = Line {
            time,
            request: RequestJson {
                request,
                policy,
                principal: bearer,
            },
            decision: DecisionJson::new(decision, policy),
            allowed: decision.allowed(),
            grant: decision.grant.map(GrantCodes),
            policy_version: version,
        };
        let mut text = match serde_json::to_vec(&line) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(error = %e, "cannot write the decision log");
                return false;
            }
        };
        text.push(b'\n');
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match out.write_all(&text) {
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
