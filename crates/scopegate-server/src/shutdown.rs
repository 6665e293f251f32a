//! Serving until a shutdown signal, then shutting down gracefully.
//!
//! # What this module guarantees
//!
//! On the signal (SIGTERM or Ctrl-C, [`crate::shutdown_signal`]), [`run`]:
//!
//! 1. turns `/readyz` to 503 ([`Lifecycle::drain`]), so that a load balancer stops sending
//!    new requests;
//! 2. keeps accepting for [`Options::delay`] (0 by default: set it to the load balancer's
//!    probe interval), then stops accepting on every listener;
//! 3. lets in-flight requests finish, for at most [`Options::grace`]; past it, the
//!    connections still open are dropped and [`Outcome::GraceExceeded`] is returned;
//! 4. flushes the decision log: every queued entry written, the file synced to the disk.

use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::AppState;

/// The default bound on in-flight requests at shutdown (`serve --shutdown-grace`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Whether the service is shutting down (read by `/readyz`).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// Marks the service as shutting down: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Lifecycle::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// How to shut down.
#[derive(Debug)]
pub struct Options {
    /// How long in-flight requests may take after the listeners close.
    pub grace: Duration,
    /// How long to keep accepting after `/readyz` turned false.
    pub delay: Duration,
    /// A second listener serving only `/metrics` (`serve --metrics-listen`).
    pub metrics: Option<TcpListener>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            grace: DEFAULT_GRACE,
            delay: Duration::ZERO,
            metrics: None,
        }
    }
}

/// How the shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every in-flight request finished within the grace.
    Clean,
    /// Some requests were still running when the grace ran out; their connections were
    /// dropped.
    GraceExceeded,
}

/// Serves `state` on `listener` (and `/metrics` on `options.metrics`) until `signal`
/// resolves, then shuts down as the module says.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    options: Options,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Outcome> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let main = tokio::spawn(
        axum::serve(listener, crate::router(state.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
    );
    let metrics = options.metrics.map(|l| {
        tokio::spawn(
            axum::serve(l, crate::metrics::router(state.clone()))
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future(),
        )
    });
    signal.await;
    state.lifecycle.drain();
    tracing::info!(
        delay_ms = options.delay.as_millis(),
        grace_ms = options.grace.as_millis(),
        "shutting down: not ready; finishing in-flight requests"
    );
    tokio::time::sleep(options.delay).await;
    let _ = stop_tx.send(true);
    let servers = async {
        let main = main.await.map_err(std::io::Error::other)?;
        if let Some(m) = metrics {
            m.await.map_err(std::io::Error::other)??;
        }
        main
    };
    let outcome = match tokio::time::timeout(options.grace, servers).await {
        Ok(result) => {
            result?;
            Outcome::Clean
        }
        Err(_) => {
            tracing::error!(
                grace_ms = options.grace.as_millis(),
                "in-flight requests did not finish within the shutdown grace; dropped"
            );
            Outcome::GraceExceeded
        }
    };
    if let Some(log) = &state.decision_log {
        if let Err(e) = log.flush().await {
            tracing::error!(error = %e, "cannot flush the decision log");
        }
    }
    tracing::info!(?outcome, "shut down");
    Ok(outcome)
}
