//! `scopegate lint`: the readonly-mutation guardrail over native manifests and OpenAPI.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use scopegate_lint::baseline::Baseline;
use scopegate_lint::output::{self, Format};
use scopegate_lint::{lint_paths, Options, PublishFilter, ReadonlyScopes, ScopeList};

use crate::{load_policy, ExitStatus};

/// Output formats of `scopegate lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One finding a line, then a summary.
    Text,
    /// JSON (`version`, `summary`, `findings`).
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// GitHub Actions annotations.
    Github,
    /// A Markdown table.
    Markdown,
}

/// How a scope list within one security scheme reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeListArg {
    /// Every listed scope is required (OpenAPI's meaning).
    All,
    /// Any one listed scope suffices (Sentry, Slack, Google).
    Any,
}

/// Which publish statuses are examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PublishArg {
    /// Every method in `publish_status`, whatever its status.
    All,
    /// Only `public` methods.
    Public,
}

/// Arguments of `scopegate lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Native manifests (TOML/JSON), OpenAPI 3.x / Swagger 2.0 and Google API Discovery
    /// documents (JSON/YAML).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// How OpenAPI scope lists read.
    #[arg(long, value_enum, default_value_t = ScopeListArg::All)]
    pub scope_list: ScopeListArg,
    /// Read-only scopes as glob patterns (`*:read`); replaces the policy's set. Repeatable.
    #[arg(long = "readonly-scope", value_name = "PATTERN")]
    pub readonly_scope: Vec<String>,
    /// Which native methods are examined.
    #[arg(long, value_enum, default_value_t = PublishArg::All)]
    pub publish_status: PublishArg,
    /// Fail only on findings not recorded in this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in this baseline file (and exit 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Run only these codes or code prefixes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,
    /// Skip these codes or code prefixes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
}

/// Runs `scopegate lint`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    for code in args.select.iter().chain(&args.ignore) {
        let known = scopegate_lint::rules::RULES
            .iter()
            .any(|r| r.code.starts_with(code.as_str()));
        if !known {
            anyhow::bail!("unknown rule code or prefix `{code}` (see `scopegate rule`)");
        }
    }
    let policy = load_policy(args.policy.as_ref())?;
    let mut options = Options::new(&policy);
    if !args.readonly_scope.is_empty() {
        options.readonly = ReadonlyScopes::Patterns(args.readonly_scope.clone());
    }
    options.scope_list = match args.scope_list {
        ScopeListArg::All => ScopeList::All,
        ScopeListArg::Any => ScopeList::Any,
    };
    options.publish_status = match args.publish_status {
        PublishArg::All => PublishFilter::All,
        PublishArg::Public => PublishFilter::Public,
    };
    options.select = args.select.clone();
    options.ignore = args.ignore.clone();
    let paths: Vec<&Path> = args.paths.iter().map(PathBuf::as_path).collect();
    let mut report = lint_paths(&paths, &policy, &options)
        .map_err(|e| anyhow::anyhow!("invalid input:\n{e}"))?;
    let mut stderr = std::io::stderr().lock();
    for w in &report.warnings {
        writeln!(stderr, "{w}")?;
    }
    if let Some(path) = &args.write_baseline {
        std::fs::write(path, Baseline::of(&report).to_json())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        writeln!(
            stderr,
            "wrote {} baseline entries to {}",
            Baseline::of(&report).entries.len(),
            path.display()
        )?;
        return Ok(ExitStatus::Success);
    }
    if let Some(path) = &args.baseline {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let baseline = Baseline::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: invalid baseline: {e}", path.display()))?;
        for gone in baseline.apply(&mut report) {
            writeln!(
                stderr,
                "note: baseline entry no longer occurs, remove it: {} {} {} {}",
                gone.file, gone.code, gone.endpoint, gone.method
            )?;
        }
    }
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
        FormatArg::Markdown => Format::Markdown,
    };
    std::io::stdout()
        .lock()
        .write_all(output::render(&report, format).as_bytes())?;
    Ok(if report.findings.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
