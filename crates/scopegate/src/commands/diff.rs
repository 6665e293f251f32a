//! `scopegate diff OLD NEW`: what a permission change grants or takes away.

use std::io::Write;
use std::path::PathBuf;

use scopegate_core::{Manifest, Policy};
use scopegate_lint::matrix::compute;
use scopegate_lint::matrix::diff::diff;

use crate::{load_policy, read_source, ExitStatus};

/// Output formats of `scopegate diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Grouped by endpoint, with counts.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `scopegate diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old side: a policy, a manifest, or both (`POLICY,MANIFEST`, either order; kinds
    /// are detected by content). A part missing on one side is taken from the other.
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new side, like OLD.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// The policy when neither side gives one; the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// One side as given: its policy and manifest files, when present.
#[derive(Default)]
struct Side {
    policy: Option<PathBuf>,
    manifest: Option<PathBuf>,
}

fn classify(arg: &str, which: &str) -> anyhow::Result<Side> {
    let mut side = Side::default();
    for path in arg.split(',').filter(|p| !p.is_empty()).map(PathBuf::from) {
        let source = read_source(&path)?;
        let node = source.parse().map_err(|p| {
            anyhow::anyhow!("{}", scopegate_core::Diagnostics::new(&source, vec![p]))
        })?;
        let is_manifest = node.get("permissions").is_some() || node.get("endpoints").is_some();
        let slot = if is_manifest {
            &mut side.manifest
        } else {
            &mut side.policy
        };
        if slot.is_some() {
            anyhow::bail!(
                "{which} names two {}s; give at most one policy and one manifest",
                if is_manifest { "manifest" } else { "policy" }
            );
        }
        *slot = Some(path);
    }
    Ok(side)
}

fn load(
    policy: Option<&PathBuf>,
    fallback: Option<&PathBuf>,
    manifest: &std::path::Path,
) -> anyhow::Result<(Policy, Manifest)> {
    let policy = load_policy(policy.or(fallback))?;
    let manifest = crate::load_manifest(manifest, &policy)?;
    Ok((policy, manifest))
}

/// Runs `scopegate diff`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let old = classify(&args.old, "OLD")?;
    let new = classify(&args.new, "NEW")?;
    let (Some(old_manifest), Some(new_manifest)) = (
        old.manifest.as_ref().or(new.manifest.as_ref()),
        new.manifest.as_ref().or(old.manifest.as_ref()),
    ) else {
        anyhow::bail!("neither OLD nor NEW names a manifest");
    };
    let old_policy = old.policy.as_ref().or(new.policy.as_ref());
    let new_policy = new.policy.as_ref().or(old.policy.as_ref());
    let (op, om) = load(old_policy, args.policy.as_ref(), old_manifest)?;
    let (np, nm) = load(new_policy, args.policy.as_ref(), new_manifest)?;
    let before = compute(&op, &om).map_err(anyhow::Error::msg)?;
    let after = compute(&np, &nm).map_err(anyhow::Error::msg)?;
    let d = diff(&before, &after);
    let text = match args.format {
        FormatArg::Text => d.text(),
        FormatArg::Json => d.json(),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if d.gained > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
