//! The decision log (`serve --decision-log stdout|FILE`): one JSON object per line for every
//! `/v1/` decision and every `who-can` answer, in the format `docs/decision-log.md`
//! specifies (`schema_version` [`SCHEMA_VERSION`]).
//!
//! # What this module guarantees
//!
//! - **Off the hot path.** A handler hands an owned [`Entry`] (the request it decided, the
//!   decision, the caller, the time) to a bounded queue ([`DecisionLog::record`]); a writer
//!   thread serializes it (with the core's codec: the request as the wire reads it, the
//!   decision as the API answers it), assigns its UUIDv7 `decision_id`, and writes it.
//! - **A full queue** drops the entry (`--decision-log-mode drop`, the default: the decision
//!   is answered, the drop counted in `scopegate_decision_log_drops_total{reason="queue_full"}`)
//!   or waits for room (`block`: nothing is dropped; the request waits).
//! - **Every line is whole.** A file is rotated by size between lines
//!   (`--decision-log-max-bytes`): `FILE` → `FILE.1` → `FILE.2` …, keeping
//!   `--decision-log-max-files` rotated parts. A line longer than the limit is written alone.
//! - **No secret, no hash.** A bearer principal is logged as the principal it resolved to plus
//!   the token's id and display prefix; the caller as its service token's id and name.
//! - **Flushed on shutdown** ([`DecisionLog::flush`]: every queued line written and the file
//!   synced to the disk).
//!
//! # Why not a rotation crate
//!
//! `file-rotate` (the maintained size-rotation crate) was tried: it panics when the log's
//! directory cannot be created, silently discards every write once its file cannot be
//! reopened (no error, so no drop would be counted), asserts that files it renames still
//! exist, and cannot sync to the disk. Rotation here is the few renames in `writer.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use scopegate_core::{Decision, Policy, Request};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::LogCounters;

mod writer;

/// The version of the line format (`schema_version` in every line; `docs/decision-log.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// The default queue capacity, in entries (`--decision-log-queue`).
pub const DEFAULT_QUEUE: u32 = 65_536;

/// The default size at which the log file is rotated (`--decision-log-max-bytes`): 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// The default number of rotated parts kept (`--decision-log-max-files`).
pub const DEFAULT_MAX_FILES: u32 = 5;

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The process's standard output (`--decision-log stdout`).
    Stdout,
    /// A file, appended to and rotated by size (any other value; `./stdout` for a file so
    /// named).
    File(PathBuf),
}

impl std::str::FromStr for Destination {
    type Err = String;

    fn from_str(s: &str) -> Result<Destination, String> {
        match s {
            "" => Err("expected `stdout` or a file path".into()),
            "stdout" => Ok(Destination::Stdout),
            path => Ok(Destination::File(PathBuf::from(path))),
        }
    }
}

/// What a full queue does (`--decision-log-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Drop the entry and count it: decisions never wait for the log.
    #[default]
    Drop,
    /// Wait for room: no entry is lost, a slow destination slows decisions.
    Block,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "drop" => Ok(Mode::Drop),
            "block" => Ok(Mode::Block),
            other => Err(format!(
                "unknown decision log mode `{other}` (expected drop or block)"
            )),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Drop => "drop",
            Mode::Block => "block",
        })
    }
}

/// How the log is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where lines go.
    pub destination: Destination,
    /// What a full queue does.
    pub mode: Mode,
    /// The queue's capacity, in entries (at least 1).
    pub queue: usize,
    /// A file is rotated before a line would take it past this size (at least 1).
    pub max_bytes: u64,
    /// Rotated parts kept (`FILE.1` … `FILE.N`); 0 keeps none.
    pub max_files: u32,
}

impl Options {
    /// `destination` with the defaults: drop mode, [`DEFAULT_QUEUE`], [`DEFAULT_MAX_BYTES`],
    /// [`DEFAULT_MAX_FILES`].
    pub fn new(destination: Destination) -> Options {
        Options {
            destination,
            mode: Mode::Drop,
            queue: DEFAULT_QUEUE as usize,
            max_bytes: DEFAULT_MAX_BYTES,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

/// The caller of a `/v1/` request as logged: its service token's id and name.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedCaller {
    /// The service token's id.
    pub token_id: String,
    /// The service token's name (`token create --service --name`).
    pub name: Option<String>,
}

/// What every entry of one `/v1/` request shares: who called, and the request's
/// `x-request-id` (the access line's `request_id`).
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller.
    pub caller: LoggedCaller,
    /// The request id.
    pub request_id: Option<String>,
}

/// A `bearer` principal's token as logged: its id and display prefix, never its secret or
/// hash (`token_id: null` for a secret that matched no stored token, decided as anonymous).
#[derive(Debug, Clone, Serialize)]
pub struct LoggedBearer {
    /// The stored token's id.
    pub token_id: Option<String>,
    /// The token's display prefix (its kind and four characters).
    pub token_prefix: Option<String>,
}

/// Which route an entry comes from (the `api` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST /v1/check`.
    Check,
    /// `POST /v1/check/batch`.
    CheckBatch,
    /// `POST /v1/explain`.
    Explain,
    /// `GET /v1/who-can`.
    WhoCan,
}

impl Api {
    /// The `api` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Check => "check",
            Api::CheckBatch => "check_batch",
            Api::Explain => "explain",
            Api::WhoCan => "who_can",
        }
    }
}

/// A request's place in its `/v1/check/batch` call.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BatchPosition {
    /// Its index in the batch, from 0.
    pub index: usize,
    /// The batch's size.
    pub size: usize,
}

/// One decision or `who-can` answer, handed to the log.
#[derive(Debug)]
pub struct Entry {
    /// When it was decided.
    pub at: SystemTime,
    /// The route.
    pub api: Api,
    /// Who called (the same for every entry of a request).
    pub context: Option<Arc<CallContext>>,
    /// The revision of the world it was decided over ([`Index::revision`](crate::index::Index::revision)).
    pub revision: u64,
    /// The policy version (`AppState::policy_version`).
    pub policy_version: Arc<str>,
    /// What was decided.
    pub body: Body,
}

/// What an [`Entry`] records.
#[derive(Debug)]
pub enum Body {
    /// A decision of check, check/batch or explain.
    Decision {
        /// The request decided, its principal resolved.
        request: Request,
        /// The token of a `bearer` principal.
        bearer: Option<LoggedBearer>,
        /// The decision.
        decision: Decision,
        /// Its place in a batch.
        batch: Option<BatchPosition>,
        /// The shadow candidate's decision, when it disagrees ([`crate::shadow`]).
        shadow: Option<Box<ShadowDecision>>,
    },
    /// A `who-can` answer.
    WhoCan {
        /// The question (`endpoint`, `method`, `organization`, `project`, `team`).
        request: serde_json::Value,
        /// The answer (`total` and the page's `members`).
        answer: serde_json::Value,
    },
}

/// A shadow candidate's decision that disagrees with the answer (the `shadow` field).
#[derive(Debug)]
pub struct ShadowDecision {
    /// The candidate policy (names the decision's missing scopes).
    pub policy: Arc<Policy>,
    /// The candidate's policy version.
    pub policy_version: Arc<str>,
    /// The candidate's decision.
    pub decision: Decision,
}

/// What goes through the queue.
#[allow(
    clippy::large_enum_variant,
    reason = "almost every message is an entry: boxing it would add an allocation per decision"
)]
enum Msg {
    Entry(Entry),
    Flush(oneshot::Sender<std::io::Result<()>>),
    #[cfg(feature = "test-util")]
    Stall {
        parked: oneshot::Sender<()>,
        resume: oneshot::Receiver<()>,
    },
}

/// The decision log: a bounded queue and its writer thread.
#[derive(Debug)]
pub struct DecisionLog {
    tx: mpsc::Sender<Msg>,
    mode: Mode,
    capacity: usize,
    counters: LogCounters,
}

impl DecisionLog {
    /// Opens the destination (a file is created or appended to) and starts the writer
    /// thread, which names scopes with `policy` and counts into `counters`.
    pub fn start(
        options: &Options,
        policy: Arc<Policy>,
        counters: LogCounters,
    ) -> std::io::Result<DecisionLog> {
        let capacity = options.queue.max(1);
        let out = writer::Output::open(options)?;
        let (tx, rx) = mpsc::channel(capacity);
        let writer = writer::Writer::new(out, policy, counters.clone());
        std::thread::Builder::new()
            .name("scopegate-decision-log".into())
            .spawn(move || writer.run(rx))?;
        Ok(DecisionLog {
            tx,
            mode: options.mode,
            capacity,
            counters,
        })
    }

    /// Hands `entry` to the writer: in drop mode it never waits (a full queue drops and
    /// counts it); in block mode it waits for room.
    pub async fn record(&self, entry: Entry) {
        match self.mode {
            Mode::Drop => match self.tx.try_send(Msg::Entry(entry)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.counters.drops_queue_full.inc();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.counters.drops_closed.inc();
                }
            },
            Mode::Block => {
                if self.tx.send(Msg::Entry(entry)).await.is_err() {
                    self.counters.drops_closed.inc();
                }
            }
        }
    }

    /// Entries waiting in the queue.
    pub fn queued(&self) -> usize {
        self.capacity.saturating_sub(self.tx.capacity())
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits until every entry queued before the call is written and the file synced to
    /// the disk (stdout: flushed). Waits for room in the queue whatever the mode.
    pub async fn flush(&self) -> std::io::Result<()> {
        let (reply, done) = oneshot::channel();
        let stopped = || std::io::Error::other("the decision log writer has stopped");
        self.tx
            .send(Msg::Flush(reply))
            .await
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }

    /// Test only: parks the writer (after it wrote what it had) until the returned
    /// [`Stall`] is dropped, so that a test can fill the queue.
    #[cfg(feature = "test-util")]
    pub async fn stall(&self) -> Stall {
        let (parked, is_parked) = oneshot::channel();
        let (resume, wait) = oneshot::channel();
        let sent = self.tx.send(Msg::Stall {
            parked,
            resume: wait,
        });
        if sent.await.is_ok() {
            let _ = is_parked.await;
        }
        Stall { _resume: resume }
    }
}

/// Test only: the writer stays parked until this is dropped ([`DecisionLog::stall`]).
#[cfg(feature = "test-util")]
#[derive(Debug)]
pub struct Stall {
    _resume: oneshot::Sender<()>,
}
