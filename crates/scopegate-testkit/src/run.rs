//! How many random cases a suite runs, and from which seed: one convention for every
//! suite that draws from [`crate::gen`].
//!
//! - `SCOPEGATE_PROPTEST_CASES` (else proptest's own `PROPTEST_CASES`) overrides a suite's
//!   default number of cases, for a long run.
//! - `SCOPEGATE_PROPTEST_SEED=<u64>` draws other cases; the default seed is fixed, so a
//!   normal run decides the same requests every time and a failure reproduces by rerunning.

use proptest::test_runner::{Config, RngSeed};

/// The seed when `SCOPEGATE_PROPTEST_SEED` is unset.
pub const DEFAULT_SEED: u64 = 0x5C0_9E6A7E;

/// The number of cases: `SCOPEGATE_PROPTEST_CASES`, else `PROPTEST_CASES`, else `default`.
pub fn cases(default: u32) -> u32 {
    ["SCOPEGATE_PROPTEST_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or(default)
}

/// The seed: `SCOPEGATE_PROPTEST_SEED`, else [`DEFAULT_SEED`].
pub fn seed() -> u64 {
    std::env::var("SCOPEGATE_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// A proptest configuration: `cases` cases from [`seed`], and no failure persistence
/// (the seed is the reproduction).
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed()),
        ..Config::default()
    }
}
