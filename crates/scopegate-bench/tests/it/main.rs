//! Integration tests of scopegate-bench: the peers' models agree with scopegate.

mod agree;
