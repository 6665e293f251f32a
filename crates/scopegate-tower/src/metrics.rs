//! The layer's counters ([`Metrics`]) and the remote source's ([`RemoteMetrics`]): plain
//! atomics the application reads (`snapshot`) and exports however it exports metrics.

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

/// Counters of one [`crate::RemoteSource`]: its cache and its exchanges with the service.
/// Every failure is also a [`MetricsSnapshot::source_failures`] of the layer using it.
#[derive(Debug, Default)]
pub struct RemoteMetrics {
    cache_hits: AtomicU64,
    requests: AtomicU64,
    unreachable: AtomicU64,
    timeouts: AtomicU64,
    status: AtomicU64,
    behind: AtomicU64,
    body: AtomicU64,
}

/// The remote source's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteMetricsSnapshot {
    /// Decisions answered from the cache.
    pub cache_hits: u64,
    /// Requests sent to the service (a cache miss, or an entry too old or expired).
    pub requests: u64,
    /// Failures: the service could not be connected to, or the exchange broke.
    pub unreachable: u64,
    /// Failures: no complete answer within the timeout.
    pub timeouts: u64,
    /// Failures: a non-2xx answer (but the one below).
    pub status: u64,
    /// Failures: 503 to a request naming a revision (the service's index is behind it).
    pub behind: u64,
    /// Failures: a 2xx answer whose body is no consistent decision at the revision asked.
    pub body: u64,
}

impl RemoteMetricsSnapshot {
    /// Every failure.
    pub fn failures(&self) -> u64 {
        self.unreachable + self.timeouts + self.status + self.behind + self.body
    }
}

/// One counter of [`RemoteMetrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemoteCounter {
    CacheHit,
    Request,
    Unreachable,
    Timeout,
    Status,
    Behind,
    Body,
}

impl RemoteMetrics {
    /// Adds one to `counter`.
    pub(crate) fn inc(&self, counter: RemoteCounter) {
        let c = match counter {
            RemoteCounter::CacheHit => &self.cache_hits,
            RemoteCounter::Request => &self.requests,
            RemoteCounter::Unreachable => &self.unreachable,
            RemoteCounter::Timeout => &self.timeouts,
            RemoteCounter::Status => &self.status,
            RemoteCounter::Behind => &self.behind,
            RemoteCounter::Body => &self.body,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> RemoteMetricsSnapshot {
        RemoteMetricsSnapshot {
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            unreachable: self.unreachable.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            status: self.status.load(Ordering::Relaxed),
            behind: self.behind.load(Ordering::Relaxed),
            body: self.body.load(Ordering::Relaxed),
        }
    }
}
