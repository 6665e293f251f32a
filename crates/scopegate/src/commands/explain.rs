//! `scopegate explain`: one request, every step of its decision.

use std::io::Write;
use std::path::PathBuf;

use scopegate_core::codec::DecisionJson;
use scopegate_core::Engine;

use crate::commands::check::read_requests;
use crate::{load_manifest, load_policy, load_world, ExitStatus};

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per step, then the decision.
    Text,
    /// The decision object with its `trace`.
    Json,
}

/// Arguments of `scopegate explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The endpoint manifest (TOML or JSON).
    #[arg(long)]
    pub manifest: PathBuf,
    /// The world (JSON).
    #[arg(long)]
    pub world: PathBuf,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The request (one JSON object).
    #[arg(value_name = "REQUEST.json")]
    pub request: PathBuf,
}

/// Runs `scopegate explain`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = load_policy(args.policy.as_ref())?;
    let manifest = load_manifest(&args.manifest, &policy)?;
    let world = load_world(&args.world, &policy)?;
    let requests = read_requests(None, std::slice::from_ref(&args.request), &policy)?;
    crate::commands::check::warn_unknown_endpoints(&requests, &manifest)?;
    let engine = Engine::new(&policy, &manifest, &world);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut allowed = true;
    for r in &requests {
        let (decision, trace) = engine.explain(&r.request);
        allowed &= decision.allowed();
        match args.format {
            Format::Json => {
                let json = DecisionJson {
                    decision: &decision,
                    policy: &policy,
                    trace: Some(&trace),
                    lead: None,
                };
                serde_json::to_writer_pretty(&mut out, &json)?;
                writeln!(out)?;
            }
            Format::Text => {
                for (i, step) in trace.iter().enumerate() {
                    writeln!(
                        out,
                        "{:>2}. {:<15} {:<4}  {}",
                        i + 1,
                        step.step,
                        step.outcome,
                        step.detail
                    )?;
                }
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&DecisionJson::new(&decision, &policy))?
                )?;
            }
        }
    }
    Ok(if allowed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
