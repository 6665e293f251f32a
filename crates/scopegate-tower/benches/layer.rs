//! `cargo bench -p scopegate-tower --bench layer`: the layer's overhead in-process, in time.
//!
//! Three measurements over the same request (`fixture/mod.rs`):
//!
//! - `bare`: the axum router with the handler and no layer, driven with `oneshot`;
//! - `layered`: the same router behind `ScopegateLayer` over a `StaticWorld`;
//! - `decision`: `Engine::decide` alone for the request the layer builds.
//!
//! The layer's own cost is `layered − bare − decision` (route lookup, path parameters,
//! resolver, request building, the `Authorized` extension). `benches/layer_count.rs` is
//! the same in instructions (under callgrind), which a loaded machine does not disturb.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use scopegate_core::Engine;
use tower::ServiceExt;

mod fixture;

fn main() {
    let f = fixture::fixture();
    let engine = Engine::new(&f.policy, &f.manifest, &f.world);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("tower_layer");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bare", |b| {
        b.iter(|| {
            f.rt.block_on(f.bare.clone().oneshot(black_box(fixture::request())))
        })
    });
    group.bench_function("layered", |b| {
        b.iter(|| {
            f.rt.block_on(f.layered.clone().oneshot(black_box(fixture::request())))
        })
    });
    group.bench_function("decision", |b| {
        b.iter(|| engine.decide(black_box(&f.decided)).allowed())
    });
    group.finish();
    c.final_summary();
}
