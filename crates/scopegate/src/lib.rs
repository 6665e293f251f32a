//! The `scopegate` command line: one binary, one file per subcommand under `commands/`.
//!
//! Exit codes ([`ExitStatus`]): 0 allowed / clean, 1 denied / findings, 2 bad input or
//! failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use scopegate_core::{Manifest, Policy, Source, World, WorldDoc};
use scopegate_store::{redact_url, OpenMode, Store, StoreError};

pub mod commands;
pub mod suggest;

/// `println!` that hands back the write's error instead of panicking: a closed pipe
/// (`scopegate world export | head -1`) becomes an error [`is_broken_pipe`] recognizes.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// Whether `err` is standard output closed by its reader (`| head -1`): the command then
/// ends quietly with exit 0, as `cat` and `grep` do.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Output format of the admin commands (`user create`, `token create`, `integration …`,
/// `org features`, `world import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AdminFormat {
    /// Sentences for people.
    #[default]
    Text,
    /// One JSON object (or array) on one line, for scripts: secrets without parsing prose.
    Json,
}

/// Opens the existing database at `url` and applies any pending migrations. Every command
/// but `serve` and `migrate` opens its database this way: a SQLite file that does not exist
/// is an error (a mistyped `--database-url` is not a new, empty world).
pub async fn open_existing(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    match scopegate_store::connect_with(url, OpenMode::MustExist).await {
        Ok(store) => Ok(store),
        Err(e @ StoreError::Connect { .. }) if url.starts_with("sqlite:") => Err(anyhow::Error::new(e)
            .context(format!(
                "cannot open `{}` (a database is created by `scopegate migrate` or `scopegate serve`)",
                redact_url(url)
            ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot open `{}`", redact_url(url)))),
    }
}

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything allowed, or no findings.
    Success,
    /// Something denied, or findings.
    Failure,
    /// Bad input or a failure of the tool.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// scopegate: scopes, roles, tokens and endpoint scope maps, decided fast.
#[derive(Debug, Parser)]
#[command(name = "scopegate", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide requests: one decision JSON object per request, one per line.
    Check(commands::check::Args),
    /// Decide one request and print every step of the decision.
    Explain(commands::explain::Args),
    /// Run policy tests: `*.test.toml` files of requests and the decisions expected.
    Test(commands::test::Args),
    /// Show or validate a policy.
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Lint native manifests and OpenAPI documents for mutations admitting read-only scopes.
    Lint(commands::lint::Args),
    /// Print a lint rule's documentation (or list the rules).
    Rule(commands::rule::Args),
    /// Which principal classes may call each endpoint method.
    Matrix(commands::matrix::Args),
    /// What changes in access between two (policy, manifest) pairs; exit 1 when access is gained.
    Diff(commands::diff::Args),
    /// Decide a decision log again under a candidate policy or manifest: what flips; exit 1
    /// when access is lost (`--fail-on`).
    Replay(commands::replay::Args),
    /// Run the service: the management API on SQLite or PostgreSQL.
    Serve(commands::serve::Args),
    /// Apply the database migrations without serving.
    Migrate(commands::migrate::Args),
    /// Print the service's OpenAPI 3.1 document (as served at `/api/openapi.json`).
    Openapi(commands::openapi::Args),
    /// Manage users.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Manage organizations (features).
    #[command(subcommand)]
    Org(commands::org::OrgCommand),
    /// Manage service tokens (callers of the decision API).
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Manage integrations (Sentry Apps): create, install, uninstall, list.
    #[command(subcommand)]
    Integration(commands::integration::IntegrationCommand),
    /// Import a world document into an empty database, or export the stored world.
    #[command(subcommand)]
    World(commands::world::WorldCommand),
    /// Print a shell completion script (`scopegate completions bash > …`).
    Completions(commands::completions::CompletionsArgs),
    /// Write the man pages (`scopegate.1` and one per subcommand) into a directory.
    Man(commands::completions::ManArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
        Command::Test(args) => commands::test::run(&args),
        Command::Policy(cmd) => commands::policy::run(&cmd),
        Command::Lint(args) => commands::lint::run(&args),
        Command::Rule(args) => commands::rule::run(&args),
        Command::Matrix(args) => commands::matrix::run(&args),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Migrate(args) => commands::migrate::run(&args),
        Command::Openapi(args) => commands::openapi::run(&args),
        Command::User(cmd) => commands::user::run(&cmd),
        Command::Org(cmd) => commands::org::run(&cmd),
        Command::Token(cmd) => commands::token::run(&cmd),
        Command::Integration(cmd) => commands::integration::run(&cmd),
        Command::World(cmd) => commands::world::run(&cmd),
        Command::Completions(args) => commands::completions::completions(&args),
        Command::Man(args) => commands::completions::man(&args),
    }
}

/// Reads a file into a [`Source`].
pub fn read_source(path: &Path) -> anyhow::Result<Source> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Source::new(path.display().to_string(), text))
}

/// Loads the policy at `path`, or the built-in Sentry policy.
pub fn load_policy(path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    match path {
        Some(p) => {
            let source = read_source(p)?;
            Policy::load(&source).map_err(|d| anyhow::anyhow!("invalid policy:\n{d}"))
        }
        None => Ok(Policy::sentry()),
    }
}

/// Loads a manifest compiled against `policy`.
pub fn load_manifest(path: &Path, policy: &Policy) -> anyhow::Result<Manifest> {
    let source = read_source(path)?;
    Manifest::load(&source, policy).map_err(|d| anyhow::anyhow!("invalid manifest:\n{d}"))
}

/// The service's own manifest (`serve`'s default decision manifest) compiled against `policy`.
pub fn service_manifest(policy: &Policy) -> anyhow::Result<Manifest> {
    let source = Source::new(
        "crates/scopegate-server/manifest.toml",
        scopegate_server::SERVICE_MANIFEST,
    );
    Manifest::load(&source, policy).map_err(|d| anyhow::anyhow!("invalid manifest:\n{d}"))
}

/// Loads a world (JSON) indexed against `policy`.
pub fn load_world(path: &Path, policy: &Policy) -> anyhow::Result<World> {
    let doc = read_world_doc(path)?;
    World::build(&doc, policy).map_err(|e| {
        let lines: Vec<String> =
            e.0.iter()
                .map(|x| format!("{}: {x}", path.display()))
                .collect();
        anyhow::anyhow!("invalid world:\n{}", lines.join("\n"))
    })
}

/// The world document in the JSON file at `path` (not yet built against a policy); a syntax
/// error is located (`FILE:LINE:COLUMN: invalid world: …`).
pub fn read_world_doc(path: &Path) -> anyhow::Result<WorldDoc> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: invalid world: {}",
            path.display(),
            e.line(),
            e.column(),
            strip_position(&e)
        )
    })
}

/// A serde_json error message without its trailing ` at line L column C`.
pub fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}
