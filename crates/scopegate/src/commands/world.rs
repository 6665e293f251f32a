//! `scopegate world import FILE` and `scopegate world export`: a world document (the JSON
//! `scopegate check --world` reads, docs/wire.md §1) into an empty database, keeping every
//! id, and the stored world back out as one.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_store::{redact_url, Actor, StoreError, DEFAULT_DATABASE_URL};

use crate::{outln, AdminFormat, ExitStatus};

/// `scopegate world …`.
#[derive(Debug, clap::Subcommand)]
pub enum WorldCommand {
    /// Import a world document into an empty database, in one transaction, keeping every id
    /// (users get placeholder emails `user-ID@import.invalid`). Nothing is written when the
    /// document is invalid or the database is not empty.
    Import(ImportArgs),
    /// Print the stored world as a world document (JSON).
    Export(ExportArgs),
}

/// Arguments of `scopegate world import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The world document (JSON).
    pub file: PathBuf,
    /// The policy (TOML) the document is validated against; the built-in Sentry policy by
    /// default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The database: `sqlite://FILE` (which must exist: `scopegate migrate` creates it) or
    /// `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Output format: `json` prints the counts imported (`{"organizations", "users", …}`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: AdminFormat,
}

impl fmt::Debug for ImportArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportArgs")
            .field("file", &self.file)
            .field("policy", &self.policy)
            .field("database_url", &redact_url(&self.database_url))
            .field("format", &self.format)
            .finish()
    }
}

/// Arguments of `scopegate world export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The database: `sqlite://FILE` (which must exist) or `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

impl fmt::Debug for ExportArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportArgs")
            .field("database_url", &redact_url(&self.database_url))
            .finish()
    }
}

/// Runs `scopegate world …`.
pub fn run(cmd: &WorldCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        WorldCommand::Import(args) => import(args),
        WorldCommand::Export(args) => export(args),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let path = &args.file;
    let doc = crate::read_world_doc(path)?;
    super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(&args.database_url).await?;
        let summary = match store.import_world(&doc, &policy, &Actor::system()).await {
            Ok(s) => s,
            Err(StoreError::InvalidWorld(problems)) => {
                let lines: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {p}", path.display()))
                    .collect();
                anyhow::bail!("invalid world (nothing imported):\n{}", lines.join("\n"))
            }
            Err(e @ StoreError::NotEmpty { .. }) => {
                anyhow::bail!(
                    "cannot import into `{}`: {e}",
                    redact_url(&args.database_url)
                )
            }
            Err(e) => return Err(anyhow::Error::new(e).context("import failed (nothing imported)")),
        };
        if args.format == AdminFormat::Json {
            outln!("{}", serde_json::json!(summary))?;
            return Ok(ExitStatus::Success);
        }
        outln!(
            "imported {} organization(s), {} user(s), {} member(s), {} team(s), {} project(s), \
             {} integration(s), {} grant(s) into {}",
            summary.organizations,
            summary.users,
            summary.members,
            summary.teams,
            summary.projects,
            summary.integrations,
            summary.grants,
            redact_url(&args.database_url)
        )?;
        Ok(ExitStatus::Success)
    })
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(&args.database_url).await?;
        let doc = store.full_world().await?;
        let text = serde_json::to_string_pretty(&doc).context("cannot serialize the world")?;
        outln!("{text}")?;
        Ok(ExitStatus::Success)
    })
}
