//! Integration tests of the core engine: golden decisions from Sentry's behaviour, a
//! naive reference evaluator compared with the engine on random worlds, properties, bad
//! input, and the real corpora.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

mod bad_input;
mod corpora;
mod differential;
mod golden;
mod patch;
mod properties;
mod replay;
mod resolved;

// The generators and the reference evaluator live in `scopegate-testkit`, shared with the
// store's round-trip test.
use scopegate_testkit::{gen, reference, run};
