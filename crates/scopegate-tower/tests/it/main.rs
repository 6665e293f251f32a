//! Integration tests of scopegate-tower: the layer over a static world, route coverage,
//! the remote source against a served scopegate,
//! and the replica over SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;
mod coverage;
mod layer;
mod remote;
mod replica;
