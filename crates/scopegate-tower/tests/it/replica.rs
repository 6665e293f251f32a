//! Replica tests (later).
