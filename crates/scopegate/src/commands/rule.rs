//! `scopegate rule`: print a lint rule's documentation, or list the rules.

use std::io::Write;

use crate::ExitStatus;

/// Arguments of `scopegate rule`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rule code (`SG001`) or name; lists every rule when omitted.
    pub code: Option<String>,
}

/// Runs `scopegate rule`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match &args.code {
        None => {
            for r in scopegate_lint::rules::RULES {
                writeln!(out, "{} {:<28} {}", r.code, r.name, r.summary)?;
            }
        }
        Some(code) => {
            let rule = scopegate_lint::rules::find(code).ok_or_else(|| {
                let names = scopegate_lint::rules::RULES
                    .iter()
                    .flat_map(|r| [r.code, r.name]);
                anyhow::anyhow!(
                    "unknown rule `{code}`{}; `scopegate rule` lists them",
                    crate::suggest::hint(code, names)
                )
            })?;
            out.write_all(rule.doc().as_bytes())?;
        }
    }
    Ok(ExitStatus::Success)
}
