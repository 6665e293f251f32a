//! `scopegate lint`: the readonly-mutation guardrail over native manifests, OpenAPI and
//! Google API Discovery documents, configured once in `scopegate.toml` (see `scopegate_lint::config`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use scopegate_lint::config::{self, Config, Layer, Origin, Setting};
use scopegate_lint::input::discover;
use scopegate_lint::output::{self, Format};
use scopegate_lint::report::baseline::Baseline;
use scopegate_lint::{lint_targets, PublishFilter, ScopeList, Severity, Target, TargetText};

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
    /// JUnit XML.
    Junit,
    /// GitLab code quality JSON.
    Gitlab,
}

/// How a scope list within one security scheme reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeListArg {
    /// Every listed scope is required (OpenAPI's meaning).
    All,
    /// Any one listed scope suffices (Sentry, Slack, Google).
    Any,
}

/// A finding severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    /// Must be fixed.
    Error,
    /// Worth fixing.
    Warning,
    /// Worth knowing.
    Note,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Error => Severity::Error,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Note => Severity::Note,
        }
    }
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
    /// documents (JSON/YAML): files, directories, globs (`'api/**/*.yaml'`), or `-` for
    /// standard input. Default: `scopegate.toml`'s `paths`, else the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// The configuration file (default: `scopegate.toml` in the working directory or the
    /// nearest one above it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the settings that apply to FILE and where each comes from, and exit.
    #[arg(long, value_name = "FILE")]
    pub explain_config: Option<PathBuf>,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// How OpenAPI scope lists read [default: all] (Discovery lists always read any-of,
    /// Jira's `x-atlassian-oauth2-scopes` entries all-of).
    #[arg(long, value_enum)]
    pub scope_list: Option<ScopeListArg>,
    /// Read-only scopes as glob patterns (`*:read`); replaces the policy's set. Repeatable.
    #[arg(long = "readonly-scope", value_name = "PATTERN")]
    pub readonly_scope: Vec<String>,
    /// Which native methods are examined [default: all].
    #[arg(long, value_enum)]
    pub publish_status: Option<PublishArg>,
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
    /// Exit 1 only on findings of this severity or above [default: error].
    #[arg(long, value_enum)]
    pub fail_severity: Option<SeverityArg>,
}

/// The settings the command line gives.
fn cli_layer(args: &Args) -> Layer {
    let set = |flag: &'static str| Origin::CommandLine(flag);
    Layer {
        scope_list: args.scope_list.map(|s| Setting {
            value: match s {
                ScopeListArg::All => ScopeList::All,
                ScopeListArg::Any => ScopeList::Any,
            },
            origin: set("--scope-list"),
        }),
        readonly: (!args.readonly_scope.is_empty()).then(|| Setting {
            value: args.readonly_scope.clone(),
            origin: set("--readonly-scope"),
        }),
        publish_status: args.publish_status.map(|p| Setting {
            value: match p {
                PublishArg::All => PublishFilter::All,
                PublishArg::Public => PublishFilter::Public,
            },
            origin: set("--publish-status"),
        }),
        select: (!args.select.is_empty()).then(|| Setting {
            value: args.select.clone(),
            origin: set("--select"),
        }),
        ignore: (!args.ignore.is_empty()).then(|| Setting {
            value: args.ignore.clone(),
            origin: set("--ignore"),
        }),
        severity: Vec::new(),
    }
}

/// The configuration: `--config`, else the nearest `scopegate.toml` (none is fine).
fn load_config(args: &Args) -> anyhow::Result<Option<Config>> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => config::discover(&std::env::current_dir()?),
    };
    let Some(path) = path else {
        return Ok(None);
    };
    // Shown relative to the working directory when inside it.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.clone());
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let dir = shown.parent().map(Path::to_path_buf).unwrap_or_default();
    let source = scopegate_core::Source::new(shown.display().to_string(), text);
    let config =
        Config::parse(&source, &dir).map_err(|d| anyhow::anyhow!("invalid configuration:\n{d}"))?;
    Ok(Some(config))
}

/// Runs `scopegate lint`.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    for code in args.select.iter().chain(&args.ignore) {
        let known = scopegate_lint::rules::RULES
            .iter()
            .any(|r| r.code.starts_with(code.as_str()));
        if !known {
            let codes = scopegate_lint::rules::RULES.iter().map(|r| r.code);
            anyhow::bail!(
                "unknown rule code or prefix `{code}`{} (see `scopegate rule`)",
                crate::suggest::hint(code, codes)
            );
        }
    }
    let policy = load_policy(args.policy.as_ref())?;
    let config = load_config(args)?;
    let cli = cli_layer(args);
    let fail_severity = match (
        args.fail_severity,
        config.as_ref().and_then(|c| c.fail_severity.clone()),
    ) {
        (Some(s), _) => Setting {
            value: Severity::from(s),
            origin: Origin::CommandLine("--fail-severity"),
        },
        (None, Some(s)) => s,
        (None, None) => Setting {
            value: Severity::Error,
            origin: Origin::Default,
        },
    };
    let baseline = match (
        &args.baseline,
        config.as_ref().and_then(|c| c.baseline.clone()),
    ) {
        (Some(p), _) => Some(Setting {
            value: p.clone(),
            origin: Origin::CommandLine("--baseline"),
        }),
        (None, b) => b,
    };
    let mut stdout = std::io::stdout().lock();
    if let Some(file) = &args.explain_config {
        let explained = config::resolve(config.as_ref(), Some(file), &policy, &cli);
        writeln!(stdout, "file: {}", file.display())?;
        match &config {
            Some(c) => writeln!(stdout, "config: {}", c.file)?,
            None => writeln!(stdout, "config: none (no {} found)", config::FILE_NAME)?,
        }
        stdout.write_all(explained.text().as_bytes())?;
        let base = match &baseline {
            Some(b) => format!("baseline = \"{}\"  # {}", b.value.display(), b.origin),
            None => "baseline = none  # default".to_string(),
        };
        writeln!(stdout, "{base}")?;
        writeln!(
            stdout,
            "fail-severity = {}  # {}",
            fail_severity.value, fail_severity.origin
        )?;
        return Ok(ExitStatus::Success);
    }
    let targets = targets(args, config.as_ref(), &policy, &cli)?;
    let mut report =
        lint_targets(&targets, &policy).map_err(|e| anyhow::anyhow!("invalid input:\n{e}"))?;
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
    if let Some(Setting { value: path, .. }) = &baseline {
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
        FormatArg::Junit => Format::Junit,
        FormatArg::Gitlab => Format::Gitlab,
    };
    stdout.write_all(output::render(&report, format).as_bytes())?;
    let failing = report
        .findings
        .iter()
        .any(|f| f.severity >= fail_severity.value);
    Ok(if failing {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The inputs: the PATH arguments (relative to the working directory), else the
/// configuration's `paths` (relative to its directory), else the working directory; each
/// with the settings that apply to it.
fn targets(
    args: &Args,
    config: Option<&Config>,
    policy: &scopegate_core::Policy,
    cli: &Layer,
) -> anyhow::Result<Vec<Target>> {
    let (patterns, base): (Vec<String>, PathBuf) = if !args.paths.is_empty() {
        (args.paths.clone(), PathBuf::new())
    } else if let Some((paths, c)) = config.and_then(|c| c.paths.as_ref().map(|p| (p, c))) {
        (paths.value.clone(), c.dir.clone())
    } else {
        (vec![".".to_string()], PathBuf::new())
    };
    let mut out: Vec<Target> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for pattern in &patterns {
        if pattern == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            let options = config::resolve(config, None, policy, cli).options;
            out.push(Target {
                text: TargetText::Text(text),
                name: "<stdin>".into(),
                options,
                discovered: false,
            });
            continue;
        }
        let found =
            discover::expand(pattern, &base).map_err(|e| anyhow::anyhow!("invalid input:\n{e}"))?;
        for f in found {
            if !seen.insert(f.path.clone()) {
                continue;
            }
            let options = config::resolve(config, Some(&f.path), policy, cli).options;
            out.push(Target {
                name: f.path.display().to_string(),
                text: TargetText::File(f.path),
                options,
                discovered: f.discovered,
            });
        }
    }
    Ok(out)
}
