//! Request and decision counters, served as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Counters by label.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: Mutex<BTreeMap<u16, u64>>,
    decisions: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts a decision by reason.
    pub fn decision(&self, reason: &'static str) {
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }

    /// Counts a response by status.
    pub fn response(&self, status: u16) {
        if let Ok(mut m) = self.responses.lock() {
            *m.entry(status).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP scopegate_http_responses_total HTTP responses by status.\n");
        out.push_str("# TYPE scopegate_http_responses_total counter\n");
        if let Ok(m) = self.responses.lock() {
            for (status, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "scopegate_http_responses_total{{status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP scopegate_decisions_total Engine decisions by reason.\n");
        out.push_str("# TYPE scopegate_decisions_total counter\n");
        if let Ok(m) = self.decisions.lock() {
            for (reason, n) in m.iter() {
                let _ = writeln!(out, "scopegate_decisions_total{{reason=\"{reason}\"}} {n}");
            }
        }
        out
    }
}

/// Middleware counting every response.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    state.metrics.response(response.status().as_u16());
    response
}
