//! `scopegate matrix`: which principal classes may call each endpoint method.

use std::io::Write;
use std::path::PathBuf;

use scopegate_lint::matrix::{compute, render, MatrixFormat};

use crate::{load_manifest, load_policy, ExitStatus};

/// Output formats of `scopegate matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// An aligned text table.
    Text,
    /// A Markdown table.
    Markdown,
    /// CSV.
    Csv,
    /// JSON.
    Json,
}

/// Arguments of `scopegate matrix`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The endpoint manifest (TOML or JSON).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// Runs `scopegate matrix`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = load_policy(args.policy.as_ref())?;
    let manifest = load_manifest(&args.manifest, &policy)?;
    let matrix = compute(&policy, &manifest).map_err(anyhow::Error::msg)?;
    let format = match args.format {
        FormatArg::Text => MatrixFormat::Text,
        FormatArg::Markdown => MatrixFormat::Markdown,
        FormatArg::Csv => MatrixFormat::Csv,
        FormatArg::Json => MatrixFormat::Json,
    };
    std::io::stdout()
        .lock()
        .write_all(render(&matrix, format).as_bytes())?;
    Ok(ExitStatus::Success)
}
