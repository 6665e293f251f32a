//! Benchmarks of the layer (written next).

fn main() {}
