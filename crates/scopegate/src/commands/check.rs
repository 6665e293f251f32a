//! `scopegate check`: decide requests against a manifest, a world and a policy.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use scopegate_core::codec::{self, Options, ReadErrorKind};
use scopegate_core::{Engine, Policy, Principal, Request};

use crate::{load_manifest, load_policy, load_world, ExitStatus};

/// Arguments of `scopegate check`.
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
    /// A file of requests, one JSON object per line.
    #[arg(long, conflicts_with = "request_files")]
    pub requests: Option<PathBuf>,
    /// Request files, one JSON object each.
    #[arg(value_name = "REQUEST.json", required_unless_present = "requests")]
    pub request_files: Vec<PathBuf>,
}

/// Reads every request first: a bad one stops everything before any decision is printed.
pub fn read_requests(
    requests: Option<&PathBuf>,
    files: &[PathBuf],
    policy: &Policy,
) -> anyhow::Result<Vec<Request>> {
    let mut out = Vec::new();
    if let Some(path) = requests {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            out.push(parse_request(line, path, i + 1, policy)?);
        }
    }
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        out.push(parse_request(&text, path, 0, policy)?);
    }
    Ok(out)
}

/// Reads one request with the core's codec (the service's `/v1/` reader); `line` is the
/// line of a `--requests` file (0 for a file holding one request).
fn parse_request(text: &str, path: &Path, line: usize, policy: &Policy) -> anyhow::Result<Request> {
    let read =
        codec::read_request(text.as_bytes(), policy, Options::default()).map_err(|e| {
            match e.kind {
                ReadErrorKind::Syntax { line: at, column } => anyhow::anyhow!(
                    "{}:{}:{column}: invalid request: {}",
                    path.display(),
                    if line > 0 { line } else { at },
                    e.message
                ),
                ReadErrorKind::Invalid | ReadErrorKind::TooMany => anyhow::anyhow!(
                    "{}:{}: invalid request: `{}`: {}",
                    path.display(),
                    line.max(1),
                    e.field,
                    e.message
                ),
            }
        })?;
    // Without the option, no bearer principal is read: nothing is left to resolve.
    Ok(read.resolve(|_| Principal::Anonymous))
}

/// Runs `scopegate check`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = load_policy(args.policy.as_ref())?;
    let manifest = load_manifest(&args.manifest, &policy)?;
    let world = load_world(&args.world, &policy)?;
    let requests = read_requests(args.requests.as_ref(), &args.request_files, &policy)?;
    let engine = Engine::new(&policy, &manifest, &world);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all_allowed = true;
    let mut line = Vec::with_capacity(160);
    for request in &requests {
        let decision = engine.decide(request);
        all_allowed &= decision.allowed();
        line.clear();
        codec::write_decision(&mut line, &decision, &policy);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()?;
    Ok(if all_allowed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
