//! The layer's counters: plain atomics the application reads ([`Metrics::snapshot`]) and
//! exports however it exports metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one layer (shared by every clone of it).
#[derive(Debug, Default)]
pub struct Metrics {
    allowed: AtomicU64,
    denied: AtomicU64,
    unmapped: AtomicU64,
    source_failures: AtomicU64,
    resolver_failures: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Requests the engine allowed (passed on).
    pub allowed: u64,
    /// Requests the engine denied (answered with the decision's status).
    pub denied: u64,
    /// Requests refused because their route has no manifest endpoint (404).
    pub unmapped: u64,
    /// Requests refused because the world source failed or is stale (503).
    pub source_failures: u64,
    /// Requests refused by the principal resolver (401, 403 or 503).
    pub resolver_failures: u64,
}

/// One counter of [`Metrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Allowed,
    Denied,
    Unmapped,
    SourceFailure,
    ResolverFailure,
}

impl Metrics {
    /// Adds one to `counter`.
    pub(crate) fn inc(&self, counter: Counter) {
        let c = match counter {
            Counter::Allowed => &self.allowed,
            Counter::Denied => &self.denied,
            Counter::Unmapped => &self.unmapped,
            Counter::SourceFailure => &self.source_failures,
            Counter::ResolverFailure => &self.resolver_failures,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            allowed: self.allowed.load(Ordering::Relaxed),
            denied: self.denied.load(Ordering::Relaxed),
            unmapped: self.unmapped.load(Ordering::Relaxed),
            source_failures: self.source_failures.load(Ordering::Relaxed),
            resolver_failures: self.resolver_failures.load(Ordering::Relaxed),
        }
    }
}
