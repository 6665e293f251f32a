//! `cargo bench -p scopegate-bench`: criterion benchmarks of one decision, cycling over the
//! compared requests, for scopegate (pre-parsed `Request`, and resolved beforehand with
//! `Engine::resolve`) and each peer (pre-built native
//! requests). The peers' answers are checked against scopegate's before anything is timed.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use criterion::Criterion;
use scopegate_bench::world::Size;
use scopegate_bench::Setup;

fn decisions(c: &mut Criterion) -> anyhow::Result<()> {
    let setup = Setup::new(Size::BENCH, 1)?;
    let mut peers = setup.peers()?;
    let disagreements = setup.check_agreement(&mut peers)?;
    if !disagreements.is_empty() {
        anyhow::bail!(
            "{} disagreement(s) with scopegate, first: {:?}",
            disagreements.len(),
            disagreements.first()
        );
    }
    let engine = setup.engine();
    let compared = setup.compared_requests();

    let mut group = c.benchmark_group("decision");
    group.measurement_time(Duration::from_secs(5));
    let mut it = compared.iter().cycle();
    group.bench_function("scopegate", |b| {
        b.iter(|| it.next().map(|r| engine.decide(black_box(r)).allowed()))
    });
    let resolved: Vec<_> = compared.iter().map(|r| engine.resolve(r)).collect();
    let mut it = resolved.iter().cycle();
    group.bench_function("scopegate_resolved", |b| {
        b.iter(|| {
            it.next()
                .map(|r| engine.decide_resolved(black_box(r)).allowed())
        })
    });
    let mut it = setup.requests.iter().cycle();
    group.bench_function("scopegate_all_principals", |b| {
        b.iter(|| it.next().map(|r| engine.decide(black_box(r)).allowed()))
    });
    let mut it = peers.cedar_requests.iter().cycle();
    group.bench_function("cedar", |b| {
        b.iter(|| it.next().map(|r| peers.cedar.decide(black_box(r))))
    });
    let mut it = peers.cedar_any_requests.iter().cycle();
    group.bench_function("cedar_contains_any", |b| {
        b.iter(|| it.next().map(|r| peers.cedar_any.decide(black_box(r))))
    });
    let mut it = peers.floor_requests.iter().cycle();
    group.bench_function("floor", |b| {
        b.iter(|| it.next().map(|r| peers.floor.decide(black_box(r))))
    });
    let mut it = peers.casbin_requests.iter().cycle();
    group.bench_function("casbin", |b| {
        b.iter(|| it.next().map(|r| peers.casbin.decide(black_box(r))))
    });
    let rego_requests = std::mem::take(&mut peers.rego_requests);
    let mut it = rego_requests.iter().cycle();
    group.bench_function("regorus", |b| {
        b.iter(|| it.next().map(|r| peers.rego.decide(black_box(r))))
    });
    let mut it = rego_requests.iter().cycle();
    group.bench_function("regorus_rvm", |b| {
        b.iter(|| it.next().map(|r| peers.rego.decide_vm(black_box(r))))
    });
    group.finish();
    Ok(())
}

fn main() -> ExitCode {
    let mut c = Criterion::default().configure_from_args();
    if let Err(e) = decisions(&mut c) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    c.final_summary();
    ExitCode::SUCCESS
}
