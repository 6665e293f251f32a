//! `cargo run --release -p scopegate-bench -- [--quick]`: decides the same requests with
//! scopegate (from slugs, and resolved beforehand with `Engine::resolve`), Cedar (two encodings), casbin, regorus (interpreter and bytecode VM) and a
//! hand-written floor, checks every peer's answers (and reasons, where a peer names them)
//! against scopegate's, and prints one JSON line per engine with the median nanoseconds per
//! decision, overall and per outcome class.
//!
//! Exit code 0 when every peer agrees on every compared request and `decide_resolved`
//! agrees with `decide` on every request, 1 on a disagreement, 2 on a usage or setup error.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use scopegate_bench::measure::{measure, Measurement};
use scopegate_bench::world::Size;
use scopegate_bench::{outcome_class, Setup, OUTCOMES};
use scopegate_core::{Request, Resolved};
use serde_json::json;

/// mimalloc, as in the `scopegate` binary: the peers allocate per request, so the system
/// allocator would tax them more than scopegate (which does not allocate to decide).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: scopegate-bench [--quick] [--seed N] \
    [--dump DIR [--orgs N] [--members N] [--writers N]]\n\n  \
    --quick       about 1.5 s of timing per engine and 0.4 s per outcome class\n  \
    --seed N      world and request seed (default 1)\n  \
    --dump DIR    write the world (world.json), the manifest (manifest.json) and every\n                \
    request as a /v1/check body (requests.jsonl) to DIR, then exit (bench/http.sh)\n  \
    --orgs N      with --dump: organizations (default 1,000; 10 teams, 20 projects each)\n  \
    --members N   with --dump: members over all organizations (default 100,000)\n  \
    --writers N   with --dump: add a pending owner invite to N organizations spread over\n                \
    the size ranking and describe them in writers.json (bench/writes.sh)";

struct Args {
    quick: bool,
    seed: u64,
    dump: Option<std::path::PathBuf>,
    size: Size,
    writers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        quick: false,
        seed: 1,
        dump: None,
        size: Size::BENCH,
        writers: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--seed" => {
                let v = it.next().ok_or("`--seed` needs a value")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("`--seed`: `{v}` is not a number"))?;
            }
            "--dump" => {
                args.dump = Some(it.next().ok_or("`--dump` needs a directory")?.into());
            }
            "--orgs" | "--members" | "--writers" => {
                let v = it.next().ok_or(format!("`{a}` needs a number"))?;
                let n: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("`{a}`: `{v}` is not a positive number"))?;
                match a.as_str() {
                    "--orgs" => args.size = Size::scaled(n, args.size.members),
                    "--members" => args.size = Size::scaled(args.size.orgs, n),
                    _ => args.writers = usize::try_from(n).map_err(|e| e.to_string())?,
                }
            }
            // `cargo bench` passes `--bench` to every target; nothing to do for it here.
            "--bench" => {}
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if args.dump.is_none() && (args.size != Size::BENCH || args.writers > 0) {
        return Err(format!(
            "`--orgs`, `--members` and `--writers` go with `--dump`\n\n{USAGE}"
        ));
    }
    if args.size.members < args.size.orgs.saturating_mul(2) {
        return Err(format!(
            "`--members` must be at least twice `--orgs` (two members per organization)\n\n{USAGE}"
        ));
    }
    Ok(args)
}

fn line(engine: &str, m: Measurement, requests: usize, agree: bool, extra: serde_json::Value) {
    let mut v = json!({
        "engine": engine,
        "median_ns": (m.median_ns * 10.0).round() / 10.0,
        "requests": requests,
        "agree": agree,
    });
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    println!("{v}");
}

/// Writes the world, the manifest and the requests for the HTTP benchmarks, and the
/// writers (`writers.json`) when `writers` is not 0.
fn dump(dir: &std::path::Path, seed: u64, size: Size, writers: usize) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let policy = scopegate_core::Policy::sentry();
    let (_, manifest_text) = scopegate_bench::world::manifest_json()?;
    let (_, manifest) = scopegate_bench::world::manifest(&policy)?;
    let mut world = scopegate_bench::world::world(size, seed);
    let requests = scopegate_bench::world::requests(&world, &manifest, &policy, size, seed);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if writers > 0 {
        // After the requests: they are the same with or without writers.
        let added = scopegate_bench::world::writers::add_writers(&mut world, writers);
        let json: Vec<serde_json::Value> = added.iter().map(|w| w.to_json()).collect();
        std::fs::write(dir.join("writers.json"), serde_json::to_vec_pretty(&json)?)?;
    }
    std::fs::write(dir.join("manifest.json"), manifest_text)?;
    std::fs::write(dir.join("world.json"), serde_json::to_vec(&world)?)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("requests.jsonl"))?);
    for r in &requests {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "wrote {} (world: {}; {} requests)",
        dir.display(),
        scopegate_bench::world::summary(&world),
        requests.len()
    );
    Ok(())
}

fn run(args: &Args) -> anyhow::Result<bool> {
    let budget = if args.quick {
        Duration::from_millis(1500)
    } else {
        Duration::from_secs(8)
    };
    let t = Instant::now();
    let setup = Setup::new(Size::BENCH, args.seed)?;
    let world = &setup.world_doc;
    eprintln!(
        "setup: {} organizations, {} users, {} members, {} teams, {} projects, {} integrations; {} requests ({} compared with the peers); manifest: {}; {:.1} s",
        world.organizations.len(),
        world.users.len(),
        world.members.len(),
        world.teams.len(),
        world.projects.len(),
        world.integrations.len(),
        setup.requests.len(),
        setup.peer_requests.len(),
        setup.manifest_origin,
        t.elapsed().as_secs_f64()
    );
    eprintln!("world: {}", scopegate_bench::world::summary(world));
    let mut peers = setup.peers()?;
    eprintln!(
        "peer setup: {}",
        peers
            .build_times
            .iter()
            .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let count = |text: &str, prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    let casbin_text = scopegate_bench::casbin::policy_text(&setup.facts, &setup.peer_requests);
    let (cedar_min, cedar_max) = peers.cedar.set_sizes();
    let (any_min, any_max) = peers.cedar_any.set_sizes();
    eprintln!(
        "peer models: cedar {cedar_min}-{cedar_max} policies per action set, containsAny form {any_min}-{any_max}; casbin {} `p` lines and {} role links; actions: {}",
        count(&casbin_text, "p,"),
        count(&casbin_text, "g"),
        setup.facts.actions.len(),
    );

    let t = Instant::now();
    let disagreements = setup.check_agreement(&mut peers)?;
    for d in disagreements.iter().take(10) {
        match &d.reasons {
            None => eprintln!(
                "disagreement: {} says {} where scopegate says {} on request {}",
                d.engine, d.peer, d.scopegate, d.index
            ),
            Some((ours, theirs)) => eprintln!(
                "disagreement: {} gives reason {theirs} where scopegate gives {ours} on request {}",
                d.engine, d.index
            ),
        }
    }
    let agrees = |engine: &str| !disagreements.iter().any(|d| d.engine == engine);
    eprintln!(
        "agreement pass (answers; reasons for cedar, regorus and the floor): {} disagreement(s) over {} compared requests; {:.1} s",
        disagreements.len(),
        setup.peer_requests.len(),
        t.elapsed().as_secs_f64()
    );
    let engine = setup.engine();
    let compared = setup.compared_requests();
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    let mut classes: Vec<Vec<usize>> = vec![Vec::new(); OUTCOMES.len()];
    for (i, r) in compared.iter().enumerate() {
        let d = engine.decide(r);
        let key = match d.grant {
            Some(g) => match g.granular {
                Some(k) => format!("allowed via {} + {}", g.path.as_str(), k.as_str()),
                None => format!("allowed via {}", g.path.as_str()),
            },
            None => d.reason.as_str().to_string(),
        };
        *outcomes.entry(key).or_default() += 1;
        let class = outcome_class(d.reason);
        if let Some(c) = OUTCOMES
            .iter()
            .position(|o| *o == class)
            .and_then(|p| classes.get_mut(p))
        {
            c.push(i);
        }
    }
    eprintln!("compared requests by scopegate outcome: {outcomes:?}");
    eprintln!(
        "compared requests by outcome class: {}",
        OUTCOMES
            .iter()
            .zip(&classes)
            .map(|(o, c)| format!("{o} {}", c.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The resolved-request API must decide every request (every principal kind) exactly as
    // `decide`: checked here on the whole world, before anything is timed.
    let resolved_disagreements = setup
        .requests
        .iter()
        .filter(|r| engine.decide_resolved(&engine.resolve(r)) != engine.decide(r))
        .count();
    eprintln!(
        "resolved-request pass (decide_resolved(resolve(r)) == decide(r), whole decision): {resolved_disagreements} disagreement(s) over {} requests",
        setup.requests.len()
    );
    let resolved: Vec<Resolved<'_>> = compared.iter().map(|r| engine.resolve(r)).collect();
    let resolved_all: Vec<Resolved<'_>> =
        setup.requests.iter().map(|r| engine.resolve(r)).collect();

    let n = compared.len();
    let class_budget = budget / 4;
    // Times `decide` over every compared request, then over each outcome class.
    let time = |decide: &mut dyn FnMut(usize) -> bool, min_batches: usize| {
        let all = measure(n, budget, min_batches, &mut *decide);
        let per_class: Vec<Measurement> = classes
            .iter()
            .map(|idx| {
                measure(idx.len(), class_budget, min_batches, |i| {
                    idx.get(i).is_some_and(|j| decide(*j))
                })
            })
            .collect();
        (all, per_class)
    };
    let ours = time(
        &mut |i| compared.get(i).is_some_and(|r| engine.decide(r).allowed()),
        20,
    );
    let ours_resolved = time(
        &mut |i| {
            resolved
                .get(i)
                .is_some_and(|r| engine.decide_resolved(r).allowed())
        },
        20,
    );
    let all_resolved = measure(resolved_all.len(), budget, 20, |i| {
        resolved_all
            .get(i)
            .is_some_and(|r| engine.decide_resolved(r).allowed())
    });
    let resolve_then_decide = time(
        &mut |i| {
            compared
                .get(i)
                .is_some_and(|r| engine.decide_resolved(&engine.resolve(r)).allowed())
        },
        20,
    );
    let all = measure(setup.requests.len(), budget, 20, |i| {
        setup
            .requests
            .get(i)
            .is_some_and(|r| engine.decide(r).allowed())
    });
    // Not like-for-like with the peers (their requests are pre-built too): the cost of
    // scopegate's own wire parsing, for the record.
    let compared_json: Vec<&String> = setup
        .peer_requests
        .iter()
        .filter_map(|r| setup.request_json.get(r.index))
        .collect();
    let parsed = measure(n, budget, 20, |i| {
        compared_json.get(i).is_some_and(|text| {
            Request::from_json(text, &setup.policy).is_ok_and(|r| engine.decide(&r).allowed())
        })
    });
    let floor = time(
        &mut |i| {
            peers.floor_requests.get(i).is_some_and(|r| {
                peers.floor.decide(r) == scopegate_bench::floor::FloorReason::Allowed
            })
        },
        20,
    );
    let floor_resolving = time(
        &mut |i| {
            setup
                .peer_requests
                .get(i)
                .and_then(|r| peers.floor.resolve(r))
                .is_some_and(|r| {
                    peers.floor.decide(&r) == scopegate_bench::floor::FloorReason::Allowed
                })
        },
        20,
    );
    let cedar = time(
        &mut |i| {
            peers
                .cedar_requests
                .get(i)
                .is_some_and(|r| peers.cedar.decide(r))
        },
        5,
    );
    let cedar_any = time(
        &mut |i| {
            peers
                .cedar_any_requests
                .get(i)
                .is_some_and(|r| peers.cedar_any.decide(r))
        },
        5,
    );
    let casbin = time(
        &mut |i| {
            peers
                .casbin_requests
                .get(i)
                .is_some_and(|r| peers.casbin.decide(r))
        },
        5,
    );
    let rego_requests = std::mem::take(&mut peers.rego_requests);
    let rego = time(
        &mut |i| rego_requests.get(i).is_some_and(|r| peers.rego.decide(r)),
        5,
    );
    let rego_vm = time(
        &mut |i| {
            rego_requests
                .get(i)
                .is_some_and(|r| peers.rego.decide_vm(r))
        },
        5,
    );

    let all_agree = disagreements.is_empty() && resolved_disagreements == 0;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let by_class = |per: &[Measurement]| {
        serde_json::Value::Object(
            OUTCOMES
                .iter()
                .zip(per)
                .map(|(o, m)| (o.to_string(), json!(round(m.median_ns))))
                .collect(),
        )
    };
    let ratio = |m: Measurement| round(m.median_ns / ours.0.median_ns.max(0.001));
    line(
        "scopegate",
        ours.0,
        n,
        all_agree,
        json!({
            "parsing_included": false,
            "batches": ours.0.batches,
            "by_outcome_ns": by_class(&ours.1),
            "all_principals_median_ns": round(all.median_ns),
            "all_principals_requests": setup.requests.len(),
            "with_json_parsing_median_ns": round(parsed.median_ns),
            "world": {
                "organizations": world.organizations.len(),
                "users": world.users.len(),
                "members": world.members.len(),
                "teams": world.teams.len(),
                "projects": world.projects.len(),
            },
        }),
    );
    line(
        "scopegate-resolved",
        ours_resolved.0,
        n,
        resolved_disagreements == 0,
        json!({
            "parsing_included": false,
            "batches": ours_resolved.0.batches,
            "by_outcome_ns": by_class(&ours_resolved.1),
            "all_principals_median_ns": round(all_resolved.median_ns),
            "times_scopegate": ratio(ours_resolved.0),
            "times_floor": round(ours_resolved.0.median_ns / floor.0.median_ns.max(0.001)),
        }),
    );
    line(
        "scopegate-resolve-then-decide",
        resolve_then_decide.0,
        n,
        resolved_disagreements == 0,
        json!({
            "parsing_included": false,
            "batches": resolve_then_decide.0.batches,
            "by_outcome_ns": by_class(&resolve_then_decide.1),
            "times_scopegate": ratio(resolve_then_decide.0),
        }),
    );
    for (name, agree_name, m) in [
        ("floor", "floor", floor),
        ("floor-resolving-slugs", "floor", floor_resolving),
        ("cedar", "cedar", cedar),
        ("cedar-containsAny", "cedar-containsAny", cedar_any),
        ("casbin", "casbin", casbin),
        ("regorus", "regorus", rego),
        ("regorus-rvm", "regorus-rvm", rego_vm),
    ] {
        line(
            name,
            m.0,
            n,
            agrees(agree_name),
            json!({
                "parsing_included": false,
                "batches": m.0.batches,
                "by_outcome_ns": by_class(&m.1),
                "times_scopegate": ratio(m.0),
            }),
        );
    }
    Ok(all_agree)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.dump {
        return match dump(dir, args.seed, args.size, args.writers) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
