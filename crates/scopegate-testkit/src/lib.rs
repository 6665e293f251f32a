//! Test support shared by scopegate's test suites (`publish = false`, a dev-dependency only).
//!
//! - [`gen`] — proptest strategies for random worlds (valid against the Sentry policy),
//!   manifests and requests, and the policy variants: the core's differential test and
//!   properties, the store's import/export round trip and the server's `/v1/` consistency
//!   test.
//! - [`run`] — how many random cases a suite runs and from which seed
//!   (`SCOPEGATE_PROPTEST_CASES`, `SCOPEGATE_PROPTEST_SEED`).
//! - [`mod@reference`] — the deliberately naive reference evaluator the engine is compared with.
//! - [`golden`] — the golden decisions derived from Sentry's behaviour, as data: the core
//!   checks the engine and the reference against them, the server checks `/v1/check/batch`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test support: a failed expectation is a test failure"
)]

pub mod gen;
pub mod golden;
pub mod reference;
pub mod run;
