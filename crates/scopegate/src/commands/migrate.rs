//! `scopegate migrate`: apply the database migrations without serving.

use std::fmt;

use anyhow::Context;
use scopegate_store::{redact_url, DEFAULT_DATABASE_URL};

use crate::{outln, ExitStatus};

/// Arguments of `scopegate migrate`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("database_url", &redact_url(&self.database_url))
            .finish()
    }
}

/// The tokio runtime of the async commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs `scopegate migrate`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    runtime()?.block_on(async {
        scopegate_store::connect(&args.database_url)
            .await
            .with_context(|| format!("cannot open `{}`", redact_url(&args.database_url)))?;
        outln!("migrations applied to {}", redact_url(&args.database_url))?;
        Ok(ExitStatus::Success)
    })
}
