//! `scopegate diff OLD NEW`: what a permission change grants or takes away.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_core::replay::{read_line, Line};
use scopegate_core::{Manifest, Policy};
use scopegate_lint::matrix::compute;
use scopegate_lint::matrix::diff::{diff, Usage};

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
    /// Decision log files (`serve --decision-log`, rotated parts included, as `replay`
    /// reads them): each change is weighted by how many logged decisions (and how many
    /// allowed ones) its endpoint and method had. The log's requests are read under OLD's
    /// policy.
    #[arg(long, value_name = "LOG", num_args = 1..)]
    pub log: Vec<PathBuf>,
}

/// How often the decision log files `logs` saw each endpoint method decided; unreadable
/// lines are reported on stderr (`FILE:LINE`) and skipped.
fn usage(logs: &[PathBuf], policy: &Policy) -> anyhow::Result<(Usage, u64)> {
    use std::io::BufRead;
    let mut usage = Usage::new();
    let mut read = 0;
    for path in super::replay::files::expand(logs)? {
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut number = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            number += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match read_line(line, policy) {
                Ok(Line::Decision(d)) => {
                    read += 1;
                    let key = (d.request.endpoint, d.request.method.as_str().to_string());
                    let slot = usage.entry(key).or_default();
                    slot.0 += 1;
                    slot.1 += u64::from(d.allowed);
                }
                Ok(Line::Other) => {}
                Err(e) => eprintln!("{}:{number}: skipped: {e}", path.display()),
            }
        }
    }
    Ok((usage, read))
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

/// The diff's JSON with each change's `logged` and `logged_allowed` counts, and
/// `logged_decisions`, the decisions read.
fn weighted_json(
    d: &scopegate_lint::matrix::diff::Diff,
    usage: &Usage,
    read: u64,
) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(d)?;
    if let Some(changes) = value.get_mut("changes").and_then(|c| c.as_array_mut()) {
        for (change, c) in changes.iter_mut().zip(&d.changes) {
            let (logged, allowed) = usage
                .get(&(c.endpoint.clone(), c.method.clone()))
                .copied()
                .unwrap_or_default();
            if let Some(obj) = change.as_object_mut() {
                obj.insert("logged".into(), logged.into());
                obj.insert("logged_allowed".into(), allowed.into());
            }
        }
    }
    if let Some(obj) = value.as_object_mut() {
        obj.insert("logged_decisions".into(), read.into());
    }
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    Ok(text)
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
    let usage = if args.log.is_empty() {
        None
    } else {
        Some(usage(&args.log, &op)?)
    };
    let text = match (args.format, &usage) {
        (FormatArg::Text, None) => d.text(),
        (FormatArg::Json, None) => d.json(),
        (FormatArg::Text, Some((usage, read))) => {
            let mut text = d.text_with_usage(Some(usage));
            text.push_str(&format!(
                "weighted by {read} logged decisions (per endpoint and method)\n"
            ));
            text
        }
        (FormatArg::Json, Some((usage, read))) => weighted_json(&d, usage, *read)?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if d.gained > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
