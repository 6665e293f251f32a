//! `cargo run --release -p scopegate-bench -- [--quick]`: decides the same requests with
//! scopegate, Cedar, casbin and regorus, checks every peer's answers against scopegate's,
//! and prints one JSON line per engine with the median nanoseconds per decision.
//!
//! Exit code 0 when every peer agrees on every compared request, 1 on a disagreement, 2 on
//! a usage or setup error.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use scopegate_bench::measure::{measure, Measurement};
use scopegate_bench::world::Size;
use scopegate_bench::Setup;
use scopegate_core::Request;
use serde_json::json;

const USAGE: &str = "usage: scopegate-bench [--quick] [--seed N]\n\n  \
    --quick   about 1.5 s of timing per engine (the whole run stays under 60 s)\n  \
    --seed N  world and request seed (default 1)";

struct Args {
    quick: bool,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        quick: false,
        seed: 1,
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
            // `cargo bench` passes `--bench` to every target; nothing to do for it here.
            "--bench" => {}
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
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

    let cedar_text = scopegate_bench::cedar::policies_text(&setup.facts);
    let casbin_text = scopegate_bench::casbin::policy_text(&setup.facts, &setup.peer_requests);
    let count = |text: &str, prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    eprintln!(
        "peer models: cedar {} policies; casbin {} `p` lines and {} role links; actions: {}",
        count(&cedar_text, "permit(") + count(&cedar_text, "forbid("),
        count(&casbin_text, "p,"),
        count(&casbin_text, "g"),
        setup.facts.actions.len(),
    );

    let t = Instant::now();
    let disagreements = setup.check_agreement(&mut peers)?;
    for d in disagreements.iter().take(10) {
        eprintln!(
            "disagreement: {} says {} where scopegate says {} on request {}",
            d.engine, d.peer, d.scopegate, d.index
        );
    }
    let agrees = |engine: &str| !disagreements.iter().any(|d| d.engine == engine);
    eprintln!(
        "agreement pass: {} disagreement(s) over {} compared requests; {:.1} s",
        disagreements.len(),
        setup.peer_requests.len(),
        t.elapsed().as_secs_f64()
    );
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    for r in setup.compared_requests() {
        let d = setup.engine().decide(&r);
        let key = match d.grant {
            Some(g) => match g.granular {
                Some(k) => format!("allowed via {} + {}", g.path.as_str(), k.as_str()),
                None => format!("allowed via {}", g.path.as_str()),
            },
            None => d.reason.as_str().to_string(),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    eprintln!("compared requests by scopegate outcome: {outcomes:?}");

    let engine = setup.engine();
    let compared = setup.compared_requests();
    let n = compared.len();
    let ours = measure(n, budget, 20, |i| {
        compared.get(i).is_some_and(|r| engine.decide(r).allowed())
    });
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
    let cedar = measure(n, budget, 5, |i| {
        peers
            .cedar_requests
            .get(i)
            .is_some_and(|r| peers.cedar.decide(r))
    });
    let casbin = measure(n, budget, 5, |i| {
        peers
            .casbin_requests
            .get(i)
            .is_some_and(|r| peers.casbin.decide(r))
    });
    let rego_requests = std::mem::take(&mut peers.rego_requests);
    let rego = measure(n, budget, 5, |i| {
        rego_requests.get(i).is_some_and(|r| peers.rego.decide(r))
    });

    let all_agree = disagreements.is_empty();
    let ratio = |m: Measurement| (m.median_ns / ours.median_ns.max(0.001) * 10.0).round() / 10.0;
    line(
        "scopegate",
        ours,
        n,
        all_agree,
        json!({
            "parsing_included": false,
            "batches": ours.batches,
            "all_principals_median_ns": (all.median_ns * 10.0).round() / 10.0,
            "all_principals_requests": setup.requests.len(),
            "with_json_parsing_median_ns": (parsed.median_ns * 10.0).round() / 10.0,
            "world": {
                "organizations": world.organizations.len(),
                "users": world.users.len(),
                "members": world.members.len(),
                "teams": world.teams.len(),
                "projects": world.projects.len(),
            },
        }),
    );
    for (name, m) in [("cedar", cedar), ("casbin", casbin), ("regorus", rego)] {
        line(
            name,
            m,
            n,
            agrees(name),
            json!({
                "parsing_included": false,
                "batches": m.batches,
                "times_scopegate": ratio(m),
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
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
