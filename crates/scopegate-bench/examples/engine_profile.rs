//! `cargo build --release -p scopegate-bench --example engine_profile`, then under callgrind
//! (BENCHMARKS.md, "Engine" → "Where the time goes"):
//!
//! ```sh
//! valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no \
//!   --toggle-collect='engine_profile::pass*' --dump-after='engine_profile::pass*' \
//!   target/release/examples/engine_profile
//! ```
//!
//! Builds the benchmark's world (1,000 organizations, 100,000 members) without the peers,
//! then decides the compared requests of each outcome class (allowed, token gate,
//! membership, object) `PASSES` times, first from slugs (`Engine::decide`), then resolved
//! beforehand (`Engine::decide_resolved`), each class and path in its own call of
//! `pass_slugs` / `pass_resolved` so that a profiler attributes each to its own dump. Prints the pass order and
//! the number of decisions per pass.

use std::hint::black_box;

use scopegate_bench::world::Size;
use scopegate_bench::{outcome_class, Setup, OUTCOMES};
use scopegate_core::engine::Resolved;
use scopegate_core::{Engine, Request};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Passes over each class's requests (the first one warms the caches as much as they can).
const PASSES: usize = 4;

/// Decides `requests` from their slugs `PASSES` times; returns how many were allowed.
#[inline(never)]
fn pass_slugs(engine: &Engine<'_>, requests: &[&Request]) -> usize {
    let mut allowed = 0;
    for _ in 0..PASSES {
        for r in requests {
            allowed += usize::from(engine.decide(black_box(r)).allowed());
        }
    }
    allowed
}

/// Decides resolved requests `PASSES` times; returns how many were allowed.
#[inline(never)]
fn pass_resolved(engine: &Engine<'_>, requests: &[Resolved<'_>]) -> usize {
    let mut allowed = 0;
    for _ in 0..PASSES {
        for r in requests {
            allowed += usize::from(engine.decide_resolved(black_box(r)).allowed());
        }
    }
    allowed
}

fn main() -> anyhow::Result<()> {
    let setup = Setup::new(Size::BENCH, 1)?;
    let engine = setup.engine();
    let compared = setup.compared_requests();
    for resolved in [false, true] {
        for class in OUTCOMES {
            let requests: Vec<&Request> = compared
                .iter()
                .filter(|r| outcome_class(engine.decide(r).reason) == class)
                .collect();
            let allowed = if resolved {
                let resolved: Vec<Resolved<'_>> =
                    requests.iter().map(|r| engine.resolve(r)).collect();
                black_box(pass_resolved(&engine, &resolved))
            } else {
                black_box(pass_slugs(&engine, &requests))
            };
            println!(
                "{} {class}: {} requests x {PASSES} passes ({allowed} allowed)",
                if resolved { "resolved" } else { "slugs" },
                requests.len(),
            );
        }
    }
    Ok(())
}
