//! Timing: repeated timed batches of decisions, median nanoseconds per decision.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The result of timing one engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Median over batches of (batch time / decisions in the batch), in nanoseconds.
    pub median_ns: f64,
    /// Number of timed batches.
    pub batches: usize,
    /// Decisions per batch.
    pub batch_size: usize,
}

/// How long one timed batch should take, roughly.
const BATCH_TARGET: Duration = Duration::from_millis(2);

/// Times `decide(i)` over requests `0..n`, cycling, in batches of consecutive requests, for
/// at least `budget` and at least `min_batches` batches. Each batch's time is divided by its
/// size; the median of those is reported.
pub fn measure(
    n: usize,
    budget: Duration,
    min_batches: usize,
    mut decide: impl FnMut(usize) -> bool,
) -> Measurement {
    if n == 0 {
        return Measurement {
            median_ns: 0.0,
            batches: 0,
            batch_size: 0,
        };
    }
    // Warm-up and calibration: decide requests until 50 ms or one full pass.
    let start = Instant::now();
    let mut done = 0usize;
    while done < n && start.elapsed() < Duration::from_millis(50) {
        black_box(decide(done));
        done += 1;
    }
    let per = start.elapsed().as_nanos() as f64 / done.max(1) as f64;
    let batch_size = ((BATCH_TARGET.as_nanos() as f64 / per.max(1.0)) as usize).clamp(1, n);

    let mut samples = Vec::new();
    let mut next = 0usize;
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < min_batches {
        let t = Instant::now();
        for _ in 0..batch_size {
            black_box(decide(black_box(next)));
            next += 1;
            if next == n {
                next = 0;
            }
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch_size as f64);
    }
    samples.sort_by(f64::total_cmp);
    let median_ns = samples.get(samples.len() / 2).copied().unwrap_or(0.0);
    Measurement {
        median_ns,
        batches: samples.len(),
        batch_size,
    }
}
