//! `scopegate policy show|check`.

use std::io::Write;
use std::path::PathBuf;

use scopegate_core::policy::Bypass;
use scopegate_core::{Policy, ScopeSet};
use serde_json::json;

use crate::{load_policy, outln, read_source, ExitStatus};

/// Output format of `policy show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable.
    Text,
    /// JSON.
    Json,
}

/// The policy file of `policy show` and `policy check`, taken the same way by both: a
/// positional `FILE` or `--policy FILE` (`SCOPEGATE_POLICY`); the built-in Sentry policy
/// when neither is given.
#[derive(Debug, clap::Args)]
pub struct PolicyFile {
    /// The policy file (TOML).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The policy file, as the other commands take it.
    #[arg(long, env = "SCOPEGATE_POLICY", conflicts_with = "file")]
    pub policy: Option<PathBuf>,
}

impl PolicyFile {
    /// The file named, if any.
    pub fn path(&self) -> Option<&PathBuf> {
        self.file.as_ref().or(self.policy.as_ref())
    }
}

/// `scopegate policy …`
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Print the resolved policy (the built-in Sentry policy by default).
    Show {
        /// The policy.
        #[command(flatten)]
        policy: PolicyFile,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Validate a policy file: every problem with file:line:column, exit 2 if any.
    Check {
        /// The policy.
        #[command(flatten)]
        policy: PolicyFile,
    },
}

/// Runs `scopegate policy …`.
pub fn run(cmd: &PolicyCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        PolicyCommand::Show { policy, format } => {
            let policy = load_policy(policy.path())?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &to_json(&policy))?;
                    writeln!(out)?;
                }
                Format::Text => write!(out, "{}", to_text(&policy))?,
            }
            Ok(ExitStatus::Success)
        }
        PolicyCommand::Check { policy } => {
            let (name, loaded) = match policy.path() {
                Some(file) => {
                    let source = read_source(file)?;
                    (file.display().to_string(), Policy::load(&source))
                }
                None => ("built-in".to_string(), Ok(Policy::sentry())),
            };
            match loaded {
                Ok(p) => {
                    outln!(
                        "{name}: ok: policy `{}` with {} scopes, {} org roles, {} team roles, {} granular resources",
                        p.name,
                        p.scopes.len(),
                        p.org_roles.len(),
                        p.team_roles.len(),
                        p.granular_resources.len()
                    )?;
                    Ok(ExitStatus::Success)
                }
                Err(d) => {
                    eprintln!("{d}");
                    eprintln!("error: {} problem(s) in `{name}`", d.items.len());
                    Ok(ExitStatus::Error)
                }
            }
        }
    }
}

fn names(policy: &Policy, set: ScopeSet) -> Vec<String> {
    policy
        .scopes
        .sorted_names(set)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The resolved policy as JSON (implications transitively closed).
pub fn to_json(p: &Policy) -> serde_json::Value {
    let bypass = |b: &Bypass| {
        let (principal, scope) = match b {
            Bypass::Superuser => ("superuser", None),
            Bypass::OrgToken(s) => ("org_token", *s),
            Bypass::ApiKey(s) => ("api_key", *s),
            Bypass::Integration(s) => ("integration", *s),
        };
        json!({"principal": principal, "scope": scope.map(|s| p.scopes.name(s))})
    };
    json!({
        "name": p.name,
        "team_roles_feature": p.team_roles_feature,
        "scopes": {
            "all": p.scopes.names().collect::<Vec<_>>(),
            "readonly": names(p, p.readonly),
            "token_only": names(p, p.token_only),
            "implies": p.scopes.all().iter().filter_map(|id| {
                let implied = p.implies.get(id.index())?.difference(ScopeSet::single(id));
                (!implied.is_empty()).then(|| (p.scopes.name(id).to_string(), json!(names(p, implied))))
            }).collect::<serde_json::Map<_, _>>(),
        },
        "org_roles": p.org_roles.iter().enumerate().map(|(i, r)| json!({
            "id": r.id, "name": r.name, "priority": i, "retired": r.retired, "global": r.global,
            "scopes": names(p, r.scopes),
            "minimum_team_role": p.minimum_team_role(i).and_then(|t| p.team_roles.get(t)).map(|t| t.id.clone()),
        })).collect::<Vec<_>>(),
        "team_roles": p.team_roles.iter().enumerate().map(|(i, r)| json!({
            "id": r.id, "name": r.name, "priority": i, "scopes": names(p, r.scopes),
            "minimum_for": r.minimum_for.and_then(|m| p.org_roles.get(m)).map(|o| o.id.clone()),
        })).collect::<Vec<_>>(),
        "org_options": p.org_options.iter().map(|o| json!({
            "key": o.key, "default": o.default,
            "when_false_remove": names(p, o.when_false_remove),
            "unless_role_has_any": names(p, o.unless_role_has_any),
        })).collect::<Vec<_>>(),
        "granular_resources": p.granular_resources.iter().map(|g| json!({
            "kind": g.kind, "feature": g.feature, "require_feature": g.require_feature,
            "toggle_option": g.toggle_option,
            "manage_scopes": names(p, g.manage_scopes),
            "bypass": g.bypass.iter().map(bypass).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "tokens": {"org_token_scopes": names(p, p.org_token_scopes)},
    })
}

/// The resolved policy as text.
pub fn to_text(p: &Policy) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let list = |set: ScopeSet| names(p, set).join(", ");
    let _ = writeln!(s, "policy {}", p.name);
    let _ = writeln!(
        s,
        "\nscopes ({}): {}",
        p.scopes.len(),
        p.scopes.names().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(s, "readonly ({}): {}", p.readonly.len(), list(p.readonly));
    let _ = writeln!(
        s,
        "token-only ({}): {}",
        p.token_only.len(),
        list(p.token_only)
    );
    let _ = writeln!(
        s,
        "\nimplies (applied when token scopes are stored, never at check time):"
    );
    for id in p.scopes.all().iter() {
        if let Some(set) = p.implies.get(id.index()) {
            let implied = set.difference(ScopeSet::single(id));
            if !implied.is_empty() {
                let _ = writeln!(s, "  {} -> {}", p.scopes.name(id), list(implied));
            }
        }
    }
    let _ = writeln!(s, "\norg roles (lowest priority first):");
    for (i, r) in p.org_roles.iter().enumerate() {
        let mut flags = Vec::new();
        if r.global {
            flags.push("global");
        }
        if r.retired {
            flags.push("retired");
        }
        let team = p
            .minimum_team_role(i)
            .and_then(|t| p.team_roles.get(t))
            .map_or("-", |t| t.id.as_str());
        let _ = writeln!(
            s,
            "  {i} {} ({}){} [{} scopes, minimum team role {team}]: {}",
            r.id,
            r.name,
            if flags.is_empty() {
                String::new()
            } else {
                format!(" {}", flags.join(" "))
            },
            r.scopes.len(),
            list(r.scopes)
        );
    }
    let _ = writeln!(
        s,
        "\nteam roles (lowest priority first; scopes count with `{}`):",
        p.team_roles_feature
    );
    for (i, r) in p.team_roles.iter().enumerate() {
        let min = r
            .minimum_for
            .and_then(|m| p.org_roles.get(m))
            .map(|o| format!(" minimum for {}", o.id))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {i} {} ({}){min} [{} scopes]: {}",
            r.id,
            r.name,
            r.scopes.len(),
            list(r.scopes)
        );
    }
    let _ = writeln!(s, "\norg options:");
    for o in &p.org_options {
        let _ = writeln!(
            s,
            "  {} (default {}): when false remove {} unless the role has any of {}",
            o.key,
            o.default,
            list(o.when_false_remove),
            list(o.unless_role_has_any)
        );
    }
    let _ = writeln!(s, "\ngranular resources:");
    for g in &p.granular_resources {
        let _ = writeln!(
            s,
            "  {}: feature {}{}, toggle option {}, managed with any of {}",
            g.kind,
            g.feature,
            if g.require_feature {
                " (required)"
            } else {
                " (not required: the option alone enforces)"
            },
            g.toggle_option,
            list(g.manage_scopes)
        );
        for b in &g.bypass {
            let text = match b {
                Bypass::Superuser => "active superuser (read-only: safe methods)".to_string(),
                Bypass::OrgToken(sc) => format!(
                    "org token{}",
                    sc.map(|x| format!(" holding {}", p.scopes.name(x)))
                        .unwrap_or_default()
                ),
                Bypass::ApiKey(sc) => format!(
                    "api key{}",
                    sc.map(|x| format!(" holding {}", p.scopes.name(x)))
                        .unwrap_or_default()
                ),
                Bypass::Integration(sc) => format!(
                    "integration{}",
                    sc.map(|x| format!(" holding {}", p.scopes.name(x)))
                        .unwrap_or_default()
                ),
            };
            let _ = writeln!(s, "    bypass: {text}");
        }
    }
    let _ = writeln!(
        s,
        "\ntokens: org auth tokens are created with exactly: {}",
        list(p.org_token_scopes)
    );
    s
}
