//! The layer's overhead in instructions: runs one of the three measurements of
//! `benches/layer.rs` `N` times and exits, to be counted under callgrind (load-independent,
//! unlike time on a shared machine). `bench/tower.sh count` runs it for each mode with `N`
//! and with 0 and prints the instructions per request:
//!
//! ```sh
//! cargo bench -p scopegate-tower --bench layer_count --no-run   # prints the binary
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN layered 20000
//! ```

use std::hint::black_box;

use scopegate_core::Engine;
use tower::ServiceExt;

mod fixture;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let f = fixture::fixture();
    let engine = Engine::new(&f.policy, &f.manifest, &f.world);
    let mut ok = 0u64;
    for _ in 0..n {
        ok += match mode.as_str() {
            "bare" => {
                f.rt.block_on(f.bare.clone().oneshot(black_box(fixture::request())))
                    .map_or(0, |r| u64::from(r.status().is_success()))
            }
            "layered" => {
                f.rt.block_on(f.layered.clone().oneshot(black_box(fixture::request())))
                    .map_or(0, |r| u64::from(r.status().is_success()))
            }
            "decision" => u64::from(engine.decide(black_box(&f.decided)).allowed()),
            _ => {
                eprintln!("usage: layer_count bare|layered|decision N");
                std::process::exit(2);
            }
        };
    }
    if ok != n {
        eprintln!("{} of {n} requests were not allowed", n - ok);
        std::process::exit(1);
    }
}
