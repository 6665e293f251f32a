//! `scopegate replay`: every decision of a decision log decided again under a candidate
//! policy and/or manifest, over today's world, and what flips (`docs/replay.md`).
//!
//! The re-deciding and grouping are the core's ([`scopegate_core::replay`]); this command
//! reads the files, builds the world (a world document or the stored one), and renders.
//!
//! Lines that cannot be read are reported with `FILE:LINE`, skipped and counted (the
//! report's `unreadable`); `--strict` makes the first one fatal (exit 2). The lines are
//! decided on `--jobs` threads ([`read`]); the report is the same whatever their number.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_core::replay::{Replay, Report};
use scopegate_core::{Engine, Manifest, Policy, World, WorldDoc};

use crate::{load_manifest, load_policy, ExitStatus};

pub mod files;
pub mod read;
pub mod render;

pub use read::{Reading, Unreadable, SHOWN_ERRORS};

/// Output formats of `scopegate replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// For people.
    Text,
    /// One JSON object.
    Json,
    /// A Markdown summary (a pull request comment).
    Markdown,
}

/// Which flips make the command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A decision the candidate turns from allowed to denied.
    Lost,
    /// A decision the candidate turns from denied to allowed.
    Gained,
    /// Either.
    Any,
    /// Never (exit 0 whatever flips).
    None,
}

/// Arguments of `scopegate replay`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("candidate").required(true).multiple(true).args(["policy", "manifest"])))]
#[command(group(clap::ArgGroup::new("world_source").required(true).args(["world", "database_url"])))]
pub struct Args {
    /// Decision log files (`serve --decision-log FILE`): each FILE with its rotated parts
    /// (`FILE.N` … `FILE.1`, then `FILE`), or a directory of them.
    #[arg(value_name = "LOG", required = true)]
    pub logs: Vec<PathBuf>,
    /// The candidate policy (TOML); the current one when only `--manifest` is given.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// The candidate manifest; the current one when only `--policy` is given.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The policy the log was written under (`serve --policy`); the built-in Sentry policy
    /// by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub current_policy: Option<PathBuf>,
    /// The manifest the log was written under (`serve --manifest`); the service's own
    /// manifest by default.
    #[arg(long)]
    pub current_manifest: Option<PathBuf>,
    /// Today's world, a world document (JSON).
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// Today's world, the stored one (`sqlite:…` or `postgres://…`).
    #[arg(long, env = "SCOPEGATE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Exit 1 when decisions flip this way (flips the world's changes explain do not count).
    #[arg(long, value_enum, default_value_t = FailOn::Lost)]
    pub fail_on: FailOn,
    /// Example decision ids kept per group (the first ones seen).
    #[arg(long, default_value_t = scopegate_core::replay::EXAMPLES)]
    pub examples: usize,
    /// A line that cannot be read stops the replay (exit 2) instead of being skipped.
    #[arg(long)]
    pub strict: bool,
    /// Threads deciding the log's lines (default: the available parallelism); the report
    /// is the same whatever their number.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

/// The pairs and the world a replay decides over.
struct Setup {
    current_policy: Policy,
    current_manifest: Manifest,
    candidate_policy: Option<Policy>,
    candidate_manifest: Manifest,
    current_world: World,
    candidate_world: Option<World>,
}

/// Runs `scopegate replay`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let files = files::expand(&args.logs)?;
    let setup = setup(args)?;
    let current_version =
        scopegate_server::state::policy_version(&setup.current_policy, &setup.current_manifest);
    let current = Engine::new(
        &setup.current_policy,
        &setup.current_manifest,
        &setup.current_world,
    );
    let candidate = Engine::new(
        setup
            .candidate_policy
            .as_ref()
            .unwrap_or(&setup.current_policy),
        &setup.candidate_manifest,
        setup
            .candidate_world
            .as_ref()
            .unwrap_or(&setup.current_world),
    );
    let mut replay = Replay::new(current, candidate, &current_version).with_examples(args.examples);
    let jobs = args
        .jobs
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let options = read::Options {
        jobs,
        strict: args.strict,
        chunk_bytes: read::CHUNK_BYTES,
    };
    let reading = read::read(&files, &setup.current_policy, options, &mut replay)?;
    let report = replay.finish();
    for e in &reading.errors {
        eprintln!("{}: skipped: {}", e.at, e.message);
    }
    if reading.unreadable > reading.errors.len() as u64 {
        eprintln!(
            "… and {} more unreadable lines",
            reading.unreadable - reading.errors.len() as u64
        );
    }
    let inputs = render::Inputs {
        candidate_policy: args.policy.as_ref().map(|p| p.display().to_string()),
        candidate_manifest: args.manifest.as_ref().map(|p| p.display().to_string()),
        world: match (&args.world, &args.database_url) {
            (Some(path), _) => format!("world document {}", path.display()),
            (None, Some(url)) => format!("stored world {}", scopegate_store::redact_url(url)),
            (None, None) => String::new(),
        },
        current_policy_version: current_version,
    };
    let text = match args.format {
        FormatArg::Text => render::text(&inputs, &reading, &report),
        FormatArg::Json => render::json(&inputs, &reading, &report)?,
        FormatArg::Markdown => render::markdown(&inputs, &reading, &report),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if fails(args.fail_on, &report) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Whether `report` fails under `fail_on`: flips the candidate causes only.
fn fails(fail_on: FailOn, report: &Report) -> bool {
    let t = &report.totals;
    match fail_on {
        FailOn::Lost => t.lost_caused > 0,
        FailOn::Gained => t.gained_caused > 0,
        FailOn::Any => t.lost_caused + t.gained_caused > 0,
        FailOn::None => false,
    }
}

/// Loads both pairs and today's world (built under each policy).
fn setup(args: &Args) -> anyhow::Result<Setup> {
    let current_policy = load_policy(args.current_policy.as_ref())?;
    let current_manifest = match &args.current_manifest {
        Some(path) => load_manifest(path, &current_policy)?,
        None => crate::service_manifest(&current_policy)?,
    };
    let candidate_policy = args
        .policy
        .as_ref()
        .map(|p| load_policy(Some(p)))
        .transpose()?;
    let candidate_manifest = {
        let policy = candidate_policy.as_ref().unwrap_or(&current_policy);
        match (&args.manifest, &args.current_manifest) {
            (Some(path), _) | (None, Some(path)) => load_manifest(path, policy)?,
            (None, None) => crate::service_manifest(policy)?,
        }
    };
    let (doc, name) = world_doc(args)?;
    let build = |policy: &Policy| {
        World::build(&doc, policy).map_err(|e| {
            anyhow::anyhow!(
                "{name}: the world does not build under policy `{}`: {}",
                policy.name,
                e.summary(10)
            )
        })
    };
    let current_world = build(&current_policy)?;
    let candidate_world = candidate_policy.as_ref().map(build).transpose()?;
    Ok(Setup {
        current_policy,
        current_manifest,
        candidate_policy,
        candidate_manifest,
        current_world,
        candidate_world,
    })
}

/// Today's world document, and what to call it in errors.
fn world_doc(args: &Args) -> anyhow::Result<(WorldDoc, String)> {
    if let Some(path) = &args.world {
        return Ok((crate::read_world_doc(path)?, path.display().to_string()));
    }
    let Some(url) = &args.database_url else {
        anyhow::bail!("give --world FILE or --database-url URL");
    };
    let doc = super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(url).await?;
        store
            .full_world()
            .await
            .context("cannot read the stored world")
    })?;
    Ok((doc, scopegate_store::redact_url(url)))
}
