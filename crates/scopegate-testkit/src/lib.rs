//! Test support shared by scopegate's test suites (`publish = false`, a dev-dependency only).
//!
//! - [`gen`] — proptest strategies for random worlds (valid against the Sentry policy),
//!   manifests and requests: the core's differential test and properties, and the store's
//!   import/export round trip.
//! - [`mod@reference`] — the deliberately naive reference evaluator the engine is compared with.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test support: a failed expectation is a test failure"
)]

pub mod gen;
pub mod reference;
