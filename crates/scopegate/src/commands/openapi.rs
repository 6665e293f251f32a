//! `scopegate openapi`: print the service's OpenAPI 3.1 document (the one served at
//! `/api/openapi.json`), so CI can lint it without starting the service.

use std::io::Write;
use std::path::PathBuf;

use scopegate_core::{Manifest, Source};

use crate::{load_policy, ExitStatus};

/// Arguments of `scopegate openapi`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
}

/// Runs `scopegate openapi`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = load_policy(args.policy.as_ref())?;
    let source = Source::new(
        "crates/scopegate-server/manifest.toml",
        scopegate_server::SERVICE_MANIFEST,
    );
    let manifest = Manifest::load(&source, &policy)
        .map_err(|d| anyhow::anyhow!("invalid service manifest:\n{d}"))?;
    let json = scopegate_server::openapi::document(&manifest, &policy)
        .to_pretty_json()
        .map_err(|e| anyhow::anyhow!("cannot render the OpenAPI document: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{json}")?;
    Ok(ExitStatus::Success)
}
