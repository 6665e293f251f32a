//! The decision log's writer thread: entries serialized into lines, written in batches
//! (whatever the queue holds, up to [`BATCH_BYTES`]), the file rotated by size.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::metrics::LogCounters;
use scopegate_core::codec::{DecisionJson, RequestJson};
use scopegate_core::Policy;
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::{ContextV7, Timestamp, Uuid};

use super::{
    BatchPosition, Body, Destination, Entry, LoggedBearer, LoggedCaller, Msg, Options,
    SCHEMA_VERSION,
};

/// Pending bytes written out even while the queue still holds entries.
const BATCH_BYTES: usize = 256 * 1024;

/// Where the writer writes.
pub(super) enum Output {
    Stdout,
    File(Rotating),
}

/// A file rotated by size.
pub(super) struct Rotating {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    max_files: u32,
}

impl Output {
    /// Opens `options.destination` (a file: created, or appended to).
    pub(super) fn open(options: &Options) -> std::io::Result<Output> {
        match &options.destination {
            Destination::Stdout => Ok(Output::Stdout),
            Destination::File(path) => {
                let file = open_append(path)?;
                let size = file.metadata()?.len();
                Ok(Output::File(Rotating {
                    path: path.clone(),
                    file,
                    size,
                    max_bytes: options.max_bytes.max(1),
                    max_files: options.max_files,
                }))
            }
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Output::File(f) => {
                f.file.write_all(bytes)?;
                f.size += bytes.len() as u64;
                Ok(())
            }
        }
    }

    fn sync(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout => std::io::stdout().lock().flush(),
            Output::File(f) => match f.file.sync_data() {
                // A special file that cannot be synced (EINVAL): nothing more to do.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
                other => other,
            },
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `path` with `.n` appended.
fn part(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Renames `from` to `to`; a missing `from` is not an error.
fn rename_if_present(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Rotating {
    /// Whether a line of `line` bytes after `pending` bytes not yet written would take a
    /// file that is not empty past the limit.
    fn would_exceed(&self, pending: u64, line: u64) -> bool {
        let before = self.size.saturating_add(pending);
        before > 0 && before.saturating_add(line) > self.max_bytes
    }

    /// `FILE.N` removed, `FILE.i` → `FILE.i+1`, `FILE` → `FILE.1`, a new `FILE`.
    fn rotate(&mut self) -> std::io::Result<()> {
        if self.max_files == 0 {
            std::fs::remove_file(&self.path).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        } else {
            match std::fs::remove_file(part(&self.path, self.max_files)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            for i in (1..self.max_files).rev() {
                rename_if_present(&part(&self.path, i), &part(&self.path, i + 1))?;
            }
            std::fs::rename(&self.path, part(&self.path, 1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = self.file.metadata()?.len();
        Ok(())
    }
}

/// The writer: owns the output, serializes and writes.
pub(super) struct Writer {
    out: Output,
    policy: Arc<Policy>,
    counters: LogCounters,
    /// Lines serialized, not yet written.
    pending: Vec<u8>,
    pending_lines: u64,
    /// The line being serialized.
    line: Vec<u8>,
    ids: ContextV7,
}

impl Writer {
    pub(super) fn new(out: Output, policy: Arc<Policy>, counters: LogCounters) -> Writer {
        Writer {
            out,
            policy,
            counters,
            pending: Vec::with_capacity(BATCH_BYTES),
            pending_lines: 0,
            line: Vec::with_capacity(1024),
            ids: ContextV7::new(),
        }
    }

    /// Runs until every sender is gone: each message handled, pending lines written
    /// whenever the queue is empty.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(msg) = rx.blocking_recv() {
            self.handle(msg);
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            self.write_pending();
        }
        self.write_pending();
        if let Err(e) = self.out.sync() {
            tracing::error!(error = %e, "cannot sync the decision log");
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Entry(entry) => self.push(&entry),
            Msg::Flush(reply) => {
                self.write_pending();
                let _ = reply.send(self.out.sync());
            }
            #[cfg(feature = "test-util")]
            Msg::Stall { parked, resume } => {
                self.write_pending();
                let _ = parked.send(());
                let _ = resume.blocking_recv();
            }
        }
    }

    /// Serializes `entry` into the pending lines, rotating first when it would not fit.
    fn push(&mut self, entry: &Entry) {
        self.line.clear();
        let line = to_line(&self.policy, &self.ids, entry);
        if let Err(e) = serde_json::to_writer(&mut self.line, &line) {
            tracing::error!(error = %e, "cannot serialize a decision log line");
            self.counters.drops_write_error.inc();
            return;
        }
        self.line.push(b'\n');
        let (pending, line) = (self.pending.len() as u64, self.line.len() as u64);
        if matches!(&self.out, Output::File(f) if f.would_exceed(pending, line)) {
            self.write_pending();
            self.rotate();
        }
        self.pending.extend_from_slice(&self.line);
        self.pending_lines += 1;
        if self.pending.len() >= BATCH_BYTES {
            self.write_pending();
        }
    }

    fn rotate(&mut self) {
        let Output::File(f) = &mut self.out else {
            return;
        };
        match f.rotate() {
            Ok(()) => {
                self.counters.rotations.inc();
            }
            Err(e) => {
                // Keep appending to the current file; try again after another `max_bytes`.
                f.size = 0;
                tracing::error!(path = %f.path.display(), error = %e, "cannot rotate the decision log");
            }
        }
    }

    /// Writes the pending lines; a failed write loses them, counted as dropped.
    fn write_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.out.write_all(&self.pending) {
            Ok(()) => {
                self.counters.writes.inc_by(self.pending_lines);
            }
            Err(e) => {
                tracing::error!(error = %e, lines = self.pending_lines, "cannot write the decision log");
                self.counters.drops_write_error.inc_by(self.pending_lines);
            }
        }
        self.pending.clear();
        self.pending_lines = 0;
    }
}

/// The line of `entry`, with a new decision id from `ids`.
fn to_line<'a>(policy: &'a Policy, ids: &ContextV7, entry: &'a Entry) -> Line<'a> {
    let since = entry.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let id = Uuid::new_v7(Timestamp::from_unix(
        ids,
        since.as_secs(),
        since.subsec_nanos(),
    ));
    let mut line = Line {
        schema_version: SCHEMA_VERSION,
        decision_id: id.hyphenated().to_string(),
        timestamp: rfc3339_ms(entry.at),
        api: entry.api.as_str(),
        request_id: None,
        caller: None,
        revision: entry.revision,
        policy_version: &entry.policy_version,
        request: None,
        bearer: None,
        batch: None,
        decision: None,
        answer: None,
    };
    if let Some(c) = &entry.context {
        line.request_id = c.request_id.as_deref();
        line.caller = Some(&c.caller);
    }
    match &entry.body {
        Body::Decision {
            request,
            bearer,
            decision,
            batch,
        } => {
            line.request = Some(RequestField::Decided(RequestJson {
                request,
                policy,
                principal: None,
            }));
            line.bearer = Some(bearer.as_ref());
            line.batch = *batch;
            line.decision = Some(DecisionJson::new(decision, policy));
        }
        Body::WhoCan { request, answer } => {
            line.request = Some(RequestField::WhoCan(request));
            line.answer = Some(answer);
        }
    }
    line
}

/// `2026-12-06T18:04:05.123Z`: RFC 3339, UTC, milliseconds.
pub(super) fn rfc3339_ms(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A request as logged: a decided one in the wire form (readable by the codec again), or a
/// `who-can` question.
#[derive(Serialize)]
#[serde(untagged)]
enum RequestField<'a> {
    Decided(RequestJson<'a, ()>),
    WhoCan(&'a serde_json::Value),
}

/// One line (`docs/decision-log.md`).
#[derive(Serialize)]
struct Line<'a> {
    schema_version: u32,
    decision_id: String,
    timestamp: String,
    api: &'static str,
    request_id: Option<&'a str>,
    caller: Option<&'a LoggedCaller>,
    revision: u64,
    policy_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestField<'a>>,
    /// Present (maybe `null`) on decisions only.
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer: Option<Option<&'a LoggedBearer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<BatchPosition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<DecisionJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<&'a serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_765_044_245_007);
        assert_eq!(rfc3339_ms(at), "2025-12-06T18:04:05.007Z");
        assert_eq!(rfc3339_ms(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parts_are_numbered_after_the_file_name() {
        assert_eq!(
            part(Path::new("/var/log/d.jsonl"), 2),
            PathBuf::from("/var/log/d.jsonl.2")
        );
    }
}
