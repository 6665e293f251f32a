//! `cargo run --release -p scopegate-bench --example world_patch [-- --only-100k]`: what an
//! index update costs. On the benchmark's world (1,000 organizations, 100,000 members) and
//! on one ten times larger (10,000 organizations, 1,000,000 members): `World::build` of the
//! whole document, and `World::patched` replacing one organization (a median-size one and
//! the largest, sent whole with one member's role changed, as the store's catch-up sends
//! an organization touched whole), editing one member of each (an `OrgEdit`, as the
//! catch-up sends a member-level change), changing one user, and cloning the world. One JSON line per figure; medians over
//! repeated runs (`BENCHMARKS.md`, "World patch").

use std::hint::black_box;
use std::time::{Duration, Instant};

use scopegate_bench::world::{world, Size};
use scopegate_core::wire::{UserDoc, WorldDoc};
use scopegate_core::world::{OrgEdit, WorldPatch};
use scopegate_core::{Policy, World};
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ten times the benchmark's world.
const MILLION: Size = Size {
    orgs: 10_000,
    members: 1_000_000,
    teams: 100_000,
    projects: 200_000,
    integrations: 400,
    requests: 0,
};

/// Median and 90th percentile of `runs` timings of `f`, in microseconds (at least `runs`
/// runs and 0.5 s).
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < runs || start.elapsed() < Duration::from_millis(500) {
        let t = Instant::now();
        let out = black_box(f());
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        drop(out);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: usize| {
        samples
            .get((samples.len() - 1) * q / 100)
            .copied()
            .unwrap_or(0.0)
    };
    (at(50), at(90))
}

/// Organization `id` of `doc` sent whole, with its first member's role changed.
fn resend(doc: &WorldDoc, id: u64) -> WorldPatch {
    let mut orgs = WorldDoc {
        organizations: doc
            .organizations
            .iter()
            .filter(|o| o.id == id)
            .cloned()
            .collect(),
        members: doc
            .members
            .iter()
            .filter(|m| m.organization == id)
            .cloned()
            .collect(),
        teams: doc
            .teams
            .iter()
            .filter(|t| t.organization == id)
            .cloned()
            .collect(),
        projects: doc
            .projects
            .iter()
            .filter(|p| p.organization == id)
            .cloned()
            .collect(),
        granular_grants: doc
            .granular_grants
            .iter()
            .filter(|g| g.organization == id)
            .cloned()
            .collect(),
        ..WorldDoc::default()
    };
    if let Some(m) = orgs.members.iter_mut().find(|m| m.role == "member") {
        m.role = "admin".into();
    }
    WorldPatch {
        orgs,
        ..WorldPatch::default()
    }
}

/// One member of organization `id` of `doc` with its role changed, as an edit (its grants
/// sent with it).
fn edit_one(doc: &WorldDoc, id: u64) -> WorldPatch {
    let mut members: Vec<_> = doc
        .members
        .iter()
        .filter(|m| m.organization == id && m.role == "member")
        .take(1)
        .cloned()
        .collect();
    let grants = doc
        .granular_grants
        .iter()
        .filter(|g| members.iter().any(|m| g.member == Some(m.id)))
        .cloned()
        .collect();
    members.iter_mut().for_each(|m| m.role = "admin".into());
    WorldPatch {
        edits: vec![OrgEdit {
            org: id,
            members,
            grants,
            ..OrgEdit::default()
        }],
        ..WorldPatch::default()
    }
}

fn line(label: &str, size: &str, figure: serde_json::Value) {
    let mut v = json!({"what": label, "world": size});
    if let (Some(o), Some(f)) = (v.as_object_mut(), figure.as_object()) {
        o.extend(f.clone());
    }
    println!("{v}");
}

fn run(size: Size, name: &str) -> anyhow::Result<()> {
    let policy = Policy::sentry();
    let t = Instant::now();
    let doc = world(size, 1);
    eprintln!(
        "{name}: generated {} members in {:.1} s",
        doc.members.len(),
        t.elapsed().as_secs_f64()
    );
    let builds = if size.members > 200_000 { 3 } else { 5 };
    let (build_us, _) = time(builds, || World::build(&doc, &policy));
    line(
        "World::build",
        name,
        json!({"median_ms": (build_us / 100.0).round() / 10.0}),
    );
    let w = World::build(&doc, &policy).map_err(|e| anyhow::anyhow!("{}", e.summary(5)))?;

    let mut per_org: std::collections::HashMap<u64, usize> = Default::default();
    for m in &doc.members {
        *per_org.entry(m.organization).or_default() += 1;
    }
    let mut by_size: Vec<(usize, u64)> = per_org.iter().map(|(o, n)| (*n, *o)).collect();
    by_size.sort_unstable();
    let median = by_size.get(by_size.len() / 2).copied().unwrap_or_default();
    let largest = by_size.last().copied().unwrap_or_default();
    for (label, (members, org)) in [("median", median), ("largest", largest)] {
        let patch = resend(&doc, org);
        let patched = w
            .patched(&patch, &policy)
            .map_err(|e| anyhow::anyhow!("{}", e.summary(5)))?;
        anyhow::ensure!(patched != w, "the patch changed nothing");
        let (p50, p90) = time(50, || w.patched(&patch, &policy));
        line(
            "World::patched, one organization replaced",
            name,
            json!({"organization": label, "members": members, "median_us": p50.round(), "p90_us": p90.round()}),
        );
        let patch = edit_one(&doc, org);
        let edited = w
            .patched(&patch, &policy)
            .map_err(|e| anyhow::anyhow!("{}", e.summary(5)))?;
        anyhow::ensure!(edited != w, "the edit changed nothing");
        let (p50, p90) = time(50, || w.patched(&patch, &policy));
        line(
            "World::patched, one member edited",
            name,
            json!({"organization": label, "members": members, "median_us": p50.round(), "p90_us": p90.round()}),
        );
    }
    let user = doc.users.get(doc.users.len() / 2).map_or(1, |u| u.id);
    let patch = WorldPatch {
        users: vec![UserDoc {
            id: user,
            has_2fa: false,
        }],
        ..WorldPatch::default()
    };
    let (p50, p90) = time(200, || w.patched(&patch, &policy));
    line(
        "World::patched, one user changed",
        name,
        json!({"median_us": p50.round(), "p90_us": p90.round()}),
    );
    let (p50, p90) = time(200, || w.clone());
    line(
        "World::clone",
        name,
        json!({"median_us": p50.round(), "p90_us": p90.round()}),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let only_small = std::env::args().any(|a| a == "--only-100k");
    run(Size::BENCH, "1k orgs / 100k members")?;
    if !only_small {
        run(MILLION, "10k orgs / 1M members")?;
    }
    Ok(())
}
