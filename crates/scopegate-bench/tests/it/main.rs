//! Integration tests of scopegate-bench: the peers' models agree with scopegate; the
//! write-path benchmark's writers.

mod agree;
mod writers;
