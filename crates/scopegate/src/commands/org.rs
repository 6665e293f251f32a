//! `scopegate org features SLUG --enable F --disable F`: set an organization's features
//! directly in the database (the installation's operator acts as a superuser), audited as
//! `org.features` by `system`.

use std::fmt;

use anyhow::Context;
use scopegate_store::{redact_url, Actor, StoreError, DEFAULT_DATABASE_URL};

use crate::ExitStatus;

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
    /// The database: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

impl fmt::Debug for FeaturesArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeaturesArgs")
            .field("slug", &self.slug)
            .field("enable", &self.enable)
            .field("disable", &self.disable)
            .field("database_url", &redact_url(&self.database_url))
            .finish()
    }
}

/// Runs `scopegate org …`.
pub fn run(cmd: &OrgCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        OrgCommand::Features(args) => features(args),
    }
}

fn features(args: &FeaturesArgs) -> anyhow::Result<ExitStatus> {
    for name in args.enable.iter().chain(&args.disable) {
        scopegate_server::routes::features::check_feature(name).map_err(anyhow::Error::msg)?;
        if args.enable.contains(name) && args.disable.contains(name) {
            anyhow::bail!("`{name}` is both enabled and disabled");
        }
    }
    super::migrate::runtime()?.block_on(async {
        let store = scopegate_store::connect(&args.database_url)
            .await
            .with_context(|| format!("cannot open `{}`", redact_url(&args.database_url)))?;
        let org = match store.org_by_slug(&args.slug).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => anyhow::bail!("no organization `{}`", args.slug),
            Err(e) => return Err(e.into()),
        };
        let org = store
            .set_features(org.id, &args.enable, &args.disable, &Actor::system())
            .await?;
        println!("{}: {}", org.slug, org.features.join(", "));
        Ok(ExitStatus::Success)
    })
}
