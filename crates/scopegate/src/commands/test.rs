//! `scopegate test [PATH...]`: policy tests. Test files (`*.test.toml`, found recursively
//! under directories; `docs/policy-tests.md`) name a world, optionally a manifest and a
//! policy, and cases: a request and the decision expected. Every file is read and validated
//! before any case is decided: bad input exits 2 with every problem located; then each case
//! is PASS or FAIL, exit 1 when any failed.

pub mod report;
pub mod suite;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitStatus;

/// The naming convention of test files found under a directory.
pub const SUFFIX: &str = ".test.toml";

/// Output format of `scopegate test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PASS/FAIL per case, the differences and trace of failures, a closing count.
    Text,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// Arguments of `scopegate test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Test files, or directories searched recursively for `*.test.toml` (default: `.`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// The test files named by `paths`: files as given, directories searched recursively
/// (hidden directories and `target/` skipped) for names ending in [`SUFFIX`], sorted.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        if meta.is_dir() {
            let before = files.len();
            walk(path, &mut files)?;
            if files.len() == before {
                anyhow::bail!("no `*{SUFFIX}` file under `{}`", path.display());
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            if !name.starts_with('.') && name != "target" {
                walk(&path, out)?;
            }
        } else if name.ends_with(SUFFIX) {
            out.push(
                path.strip_prefix("./")
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
            );
        }
    }
    Ok(())
}

/// Runs `scopegate test`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let files = discover(&args.paths)?;
    let mut suites = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        match suite::load(file) {
            Ok(s) => suites.push(s),
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        let mut err = std::io::stderr().lock();
        for p in &problems {
            writeln!(err, "{p}")?;
        }
        anyhow::bail!("{} invalid test file(s): nothing run", problems.len());
    }
    let outcomes: Vec<_> = suites.iter().map(report::run_suite).collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => out.write_all(report::text(&outcomes).as_bytes())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report::json(&outcomes))?;
            writeln!(out)?;
        }
        Format::Junit => out.write_all(report::junit(&outcomes).as_bytes())?,
    }
    out.flush()?;
    let (_, failed) = report::totals(&outcomes);
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
