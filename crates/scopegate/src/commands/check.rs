//! `scopegate check`: decide requests against a manifest, a world and a policy.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use scopegate_core::codec::{self, Lead, Options, ReadErrorKind};
use scopegate_core::{Engine, Manifest, Policy, Principal, Request};

use crate::{load_manifest, load_policy, load_world, suggest, ExitStatus};

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
    /// A file of requests, one JSON object per line (`-`: standard input). Each decision
    /// carries its request's `line`.
    #[arg(long, conflicts_with = "request_files")]
    pub requests: Option<PathBuf>,
    /// Request files, one JSON object each. Each decision carries its request's `file`.
    #[arg(value_name = "REQUEST.json", required_unless_present = "requests")]
    pub request_files: Vec<PathBuf>,
}

/// Where a request was read: a line of a requests file, or a whole request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The one-based line of the `--requests` file.
    Line(usize),
    /// A request file.
    File(PathBuf),
}

/// A request and where it was read.
#[derive(Debug)]
pub struct ReadRequest {
    /// Where it was read.
    pub origin: Origin,
    /// The request.
    pub request: Request,
    /// `file:line` of the request, for warnings.
    pub at: String,
}

/// Reads every request first: a bad one stops everything before any decision is printed.
/// `--requests -` reads standard input.
pub fn read_requests(
    requests: Option<&PathBuf>,
    files: &[PathBuf],
    policy: &Policy,
) -> anyhow::Result<Vec<ReadRequest>> {
    let mut out = Vec::new();
    if let Some(path) = requests {
        let text = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            text
        } else {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?
        };
        let name = if path.as_os_str() == "-" {
            Path::new("<stdin>")
        } else {
            path
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let request = parse_request(line, name, i + 1, policy)?;
            out.push(ReadRequest {
                origin: Origin::Line(i + 1),
                request,
                at: format!("{}:{}", name.display(), i + 1),
            });
        }
    }
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let request = parse_request(&text, path, 0, policy)?;
        out.push(ReadRequest {
            origin: Origin::File(path.clone()),
            request,
            at: path.display().to_string(),
        });
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

/// Warns (on standard error) about requests naming an endpoint the manifest does not have:
/// they are decided (denied, as anything unknown is), but a typo is worth a "did you mean".
pub fn warn_unknown_endpoints(requests: &[ReadRequest], manifest: &Manifest) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    for r in requests {
        let endpoint = &r.request.endpoint;
        if manifest.endpoint_id(endpoint).is_none() {
            let known = manifest.endpoints.iter().map(|e| e.name.as_str());
            writeln!(
                err,
                "warning: {}: unknown endpoint `{}`{}: denied",
                r.at,
                endpoint,
                suggest::hint(endpoint, known)
            )?;
        }
    }
    Ok(())
}

/// Runs `scopegate check`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = load_policy(args.policy.as_ref())?;
    let manifest = load_manifest(&args.manifest, &policy)?;
    let world = load_world(&args.world, &policy)?;
    let requests = read_requests(args.requests.as_ref(), &args.request_files, &policy)?;
    warn_unknown_endpoints(&requests, &manifest)?;
    let engine = Engine::new(&policy, &manifest, &world);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all_allowed = true;
    let mut line = Vec::with_capacity(200);
    for r in &requests {
        let decision = engine.decide(&r.request);
        all_allowed &= decision.allowed();
        // The service's decision with its origin written first.
        let file;
        let lead = match &r.origin {
            Origin::Line(n) => Lead::Line(*n),
            Origin::File(p) => {
                file = p.display().to_string();
                Lead::File(&file)
            }
        };
        line.clear();
        codec::write_decision(&mut line, &decision, &policy, Some(lead));
        out.write_all(&line)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if all_allowed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
