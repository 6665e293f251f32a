//! `scopegate org features SLUG --enable F --disable F`: set an organization's features
//! directly in the database (the installation's operator acts as a superuser), audited as
//! `org.features` by `system`.

use std::fmt;

use scopegate_core::Policy;
use scopegate_store::{redact_url, Actor, StoreError, DEFAULT_DATABASE_URL};

use crate::{outln, suggest, AdminFormat, ExitStatus};

/// `scopegate org …`.
#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Enable or disable organization features (superuser operation) and print the result.
    Features(FeaturesArgs),
}

/// Arguments of `scopegate org features`.
#[derive(clap::Args)]
pub struct FeaturesArgs {
    /// The organization's slug.
    pub slug: String,
    /// A feature to enable (repeatable).
    #[arg(long = "enable", value_name = "FEATURE")]
    pub enable: Vec<String>,
    /// A feature to disable (repeatable).
    #[arg(long = "disable", value_name = "FEATURE")]
    pub disable: Vec<String>,
    /// The database: `sqlite://FILE` (which must exist: `scopegate migrate` creates it) or
    /// `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The policy (TOML) naming the features it reads; the built-in Sentry policy by
    /// default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<std::path::PathBuf>,
    /// Output format: `json` prints `{"slug", "features"}`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: AdminFormat,
}

impl fmt::Debug for FeaturesArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeaturesArgs")
            .field("slug", &self.slug)
            .field("enable", &self.enable)
            .field("disable", &self.disable)
            .field("database_url", &redact_url(&self.database_url))
            .field("policy", &self.policy)
            .field("format", &self.format)
            .finish()
    }
}

/// Runs `scopegate org …`.
pub fn run(cmd: &OrgCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        OrgCommand::Features(args) => features(args),
    }
}

/// The features `policy` reads: its team-roles feature and its granular resources'.
pub fn known_features(policy: &Policy) -> Vec<&str> {
    let mut names: Vec<&str> = std::iter::once(policy.team_roles_feature.as_str())
        .chain(policy.granular_resources.iter().map(|g| g.feature.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn unknown_feature(name: &str, known: &[&str]) -> anyhow::Error {
    anyhow::anyhow!(
        "unknown feature `{name}`{}: the policy knows {}",
        suggest::hint(name, known.iter().copied()),
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn features(args: &FeaturesArgs) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let known = known_features(&policy);
    // Enabling a feature the policy does not read would change nothing: a typo.
    if let Some(name) = args.enable.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(unknown_feature(name, &known));
    }
    for name in args.enable.iter().chain(&args.disable) {
        scopegate_server::routes::features::check_feature(name).map_err(anyhow::Error::msg)?;
        if args.enable.contains(name) && args.disable.contains(name) {
            anyhow::bail!("`{name}` is both enabled and disabled");
        }
    }
    super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(&args.database_url).await?;
        let org = match store.org_by_slug(&args.slug).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => anyhow::bail!("no organization `{}`", args.slug),
            Err(e) => return Err(e.into()),
        };
        // Disabling: a feature the policy reads, or one the organization has (an imported
        // world may carry others), so that it can be removed.
        if let Some(name) = args
            .disable
            .iter()
            .find(|n| !known.contains(&n.as_str()) && !org.features.contains(n))
        {
            return Err(unknown_feature(name, &known));
        }
        let org = store
            .set_features(org.id, &args.enable, &args.disable, &Actor::system())
            .await?;
        match args.format {
            AdminFormat::Text => outln!("{}: {}", org.slug, org.features.join(", "))?,
            AdminFormat::Json => outln!(
                "{}",
                serde_json::json!({"slug": org.slug, "features": org.features})
            )?,
        }
        Ok(ExitStatus::Success)
    })
}
