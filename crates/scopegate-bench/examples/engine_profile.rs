//! `cargo build --release -p scopegate-bench --example engine_profile`, then under callgrind
//! (BENCHMARKS.md, "Engine" → "Where the time goes"):
//!
//! ```sh
//! valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=524288,16,64 \
//!   --collect-atstart=no --toggle-collect='engine_profile::pass_*' \
//!   target/release/examples/engine_profile slugs allowed
//! ```
//!
//! Builds the benchmark's world (1,000 organizations, 100,000 members) without the peers,
//! then decides the compared requests of one outcome class (`allowed`, `token_gate`,
//! `membership`, `object`) `PASSES` times, from slugs (`Engine::decide`, `slugs`) or
//! resolved beforehand (`Engine::decide_resolved`, `resolved`), inside `pass_slugs` /
//! `pass_resolved`, the only functions the profiler is told to collect.

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
    let mut args = std::env::args().skip(1);
    let (path, class) = match (args.next(), args.next()) {
        (Some(p), Some(c))
            if (p == "slugs" || p == "resolved") && OUTCOMES.contains(&c.as_str()) =>
        {
            (p, c)
        }
        _ => anyhow::bail!(
            "usage: engine_profile slugs|resolved {}",
            OUTCOMES.join("|")
        ),
    };
    let setup = Setup::new(Size::BENCH, 1)?;
    let engine = setup.engine();
    let compared = setup.compared_requests();
    let requests: Vec<&Request> = compared
        .iter()
        .filter(|r| outcome_class(engine.decide(r).reason) == class)
        .collect();
    let allowed = if path == "resolved" {
        let resolved: Vec<Resolved<'_>> = requests.iter().map(|r| engine.resolve(r)).collect();
        pass_resolved(&engine, &resolved)
    } else {
        pass_slugs(&engine, &requests)
    };
    println!(
        "{path} {class}: {} requests x {PASSES} passes ({allowed} allowed)",
        requests.len()
    );
    Ok(())
}
