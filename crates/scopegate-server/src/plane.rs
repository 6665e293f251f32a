//! The management plane: the service's store work on its own threads, at a lower priority,
//! so that decisions never queue behind it.
//!
//! # Why
//!
//! A decision (`/v1/`) is answered from the in-memory index in microseconds. Management is
//! different work: every route under `/api/` reads and writes the store, and each write is
//! followed by a catch-up that patches the index (milliseconds of CPU in a large
//! organization); the sync loop catches up with other replicas and, every
//! `--resync-interval`, rebuilds the whole index aside (seconds of CPU at a million
//! members). On one tokio runtime, a check that arrives while a worker runs that CPU work
//! waits for it: tokio does not preempt a task, and a server given one core has one worker.
//!
//! # What
//!
//! [`ManagementPlane`] is a second multi-threaded runtime. `scopegate serve` runs on it:
//! - every `/api/` request, from authorization to the index catch-up after a write
//!   ([`managed`], the outermost route layer of the management API);
//! - the sync loop and its full resynchronizations, and the organization deletion task;
//! - the store itself: it is opened there, so PostgreSQL's sockets are driven by this
//!   runtime and SQLite's connection threads are started (and inherit their priority) from
//!   its threads.
//!
//! Decisions, `/healthz`, `/readyz` and `/metrics` stay on the main runtime. The plane's
//! threads may ask the kernel for a lower priority (`serve --management-nice`, 0 by default,
//! [`DEFAULT_NICE`]): when both planes have work on a saturated core, the kernel then runs
//! the decision threads first, and management still gets the CPU the decisions leave (a
//! nice value weighs, it does not starve). Raising a nice value needs no privilege; where
//! the kernel refuses, the plane runs at the default priority and says so once in the log.
//!
//! Whatever runs on the plane reads the store with threads of the plane's priority (SQLite's
//! connection threads are started from it): a reader at another priority than the thread
//! feeding it rows is slow (the start-up index build of the 100k bench world took 4.7 s of
//! CPU on the main runtime with the plane at nice 10, 0.6 s on the plane at nice 10 or 0),
//! so the start-up build runs on the plane too.
//!
//! Without a plane ([`crate::Shared::management`] `None`: the tests' routers, an embedded
//! router) everything runs where it is called, as before.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::runtime::{Handle, Runtime};

use crate::error::ApiError;
use crate::AppState;

/// The nice value of the management threads unless configured: the default priority. The
/// plane's own runtime is what keeps decisions from queueing behind management work; a
/// positive value (`serve --management-nice`) also has the kernel favour the decision
/// threads on a saturated core, at a cost to management's throughput (on the 100k bench
/// world, 32 writers: `/v1/check` p99 2.1–2.6 ms at nice 10 against 2.7–3.1 ms at 0, writes
/// 875–923/s against 928–1,012/s; BENCHMARKS.md).
pub const DEFAULT_NICE: i8 = 0;

/// The management plane's runtime (see the module documentation). Dropping it stops its
/// tasks at their next await, without waiting (`scopegate serve` drops it after its
/// graceful shutdown, when no request is in flight).
#[derive(Debug)]
pub struct ManagementPlane {
    /// `Some` until dropped.
    runtime: Option<Runtime>,
    /// The runtime's handle.
    handle: Handle,
}

impl ManagementPlane {
    /// Starts the plane: `threads` worker threads (at least one) named
    /// `scopegate-mgmt`, each, like the plane's blocking threads, at nice value `nice`
    /// (0: the default priority).
    ///
    /// # Errors
    /// When the runtime cannot start (no threads).
    pub fn start(threads: usize, nice: i8) -> std::io::Result<ManagementPlane> {
        let warned = AtomicBool::new(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("scopegate-mgmt")
            .enable_all()
            .on_thread_start(move || {
                if nice != 0 {
                    if let Err(e) = lower_priority(nice) {
                        if !warned.swap(true, Ordering::Relaxed) {
                            tracing::warn!(
                                nice,
                                error = %e,
                                "cannot lower the management threads' priority; they run at the default"
                            );
                        }
                    }
                }
            })
            .build()?;
        Ok(ManagementPlane {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// A handle to spawn on the plane (what [`crate::launch::Config::management`] takes).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for ManagementPlane {
    /// Stops the runtime without blocking: allowed anywhere, an async context included.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Sets the calling thread's nice value (Linux: the nice value is a thread's own).
#[cfg(target_os = "linux")]
fn lower_priority(nice: i8) -> std::io::Result<()> {
    let thread = rustix::thread::gettid();
    rustix::process::setpriority_process(Some(thread), i32::from(nice)).map_err(Into::into)
}

/// Elsewhere the plane runs at the default priority.
#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i8) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Runs `work` on the management plane when there is one (`plane`), else here; a panic in
/// it is an error of the task, not of the caller.
///
/// # Errors
/// When the task panicked or its runtime shut down before it finished.
pub async fn run<T: Send + 'static>(
    plane: Option<&Handle>,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    match plane {
        Some(handle) => handle.spawn(work).await,
        None => Ok(work.await),
    }
}

/// The management API's outermost route layer: the request's handling (authorization,
/// handler, the index catch-up after a write) runs on the management plane.
///
/// A read that is dropped here (its deadline passed, or its client went away) is aborted
/// there too. A write is not: once handed to the plane it runs to its end, committed or
/// rolled back, as the deadline promises ([`crate::deadline`]).
pub async fn managed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(plane) = state.management.as_ref() else {
        return next.run(req).await;
    };
    let write = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    let task = plane.spawn(next.run(req));
    let outcome = if write {
        task.await
    } else {
        let mut guard = AbortOnDrop(task);
        (&mut guard.0).await
    };
    match outcome {
        Ok(response) => response,
        // A panic in the handler (or the plane stopping under it): logged by `Internal`.
        Err(e) => ApiError::Internal(format!("the management task failed: {e}")).into_response(),
    }
}

/// Aborts the task when dropped before it finished.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_plane_runs_work_on_its_own_threads_at_the_nice_value_asked() {
        let plane = ManagementPlane::start(1, 7).unwrap();
        let handle = plane.handle();
        let (name, nice) = handle
            .block_on(run(Some(&handle), async {
                let thread = rustix::thread::gettid();
                (
                    std::thread::current().name().map(str::to_string),
                    rustix::process::getpriority_process(Some(thread)).unwrap(),
                )
            }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("scopegate-mgmt"));
        assert_eq!(nice, 7);
        // Without a plane, the work runs where it is awaited.
        let here = handle
            .block_on(run(None, async { std::thread::current().id() }))
            .unwrap();
        assert_eq!(here, std::thread::current().id());
    }
}
