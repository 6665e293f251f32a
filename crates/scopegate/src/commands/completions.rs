//! `scopegate completions SHELL` (clap_complete) and `scopegate man DIR` (clap_mangen): shell
//! completions and man pages, generated from the same command-line definition as `--help`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::CommandFactory;

use crate::{outln, Cli, ExitStatus};

/// Arguments of `scopegate completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell (`bash`, `zsh`, `fish`, `elvish` or `powershell`).
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `scopegate man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing): `scopegate.1` and one
    /// page per subcommand (`scopegate-check.1`, `scopegate-policy-show.1`, …).
    pub dir: PathBuf,
}

/// Runs `scopegate completions`: the script on standard output.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    // Rendered in memory first: clap_complete panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "scopegate", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// Runs `scopegate man`: the pages into the directory, then how many were written.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitStatus> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create `{}`", args.dir.display()))?;
    clap_mangen::generate_to(Cli::command(), &args.dir)
        .with_context(|| format!("cannot write the man pages into `{}`", args.dir.display()))?;
    let pages = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read `{}`", args.dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("scopegate") && name.ends_with(".1")
        })
        .count();
    outln!("wrote {pages} man page(s) into {}", args.dir.display())?;
    Ok(ExitStatus::Success)
}
