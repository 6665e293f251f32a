//! `scopegate integration create NAME --scope S… [--install ORG…]`,
//! `scopegate integration install|uninstall ID ORG` and `scopegate integration list`:
//! integrations (Sentry Apps) directly in the database, audited by `system`. An installed
//! integration is the principal `{"kind": "integration", "integration": ID}` of the
//! decision API: its scopes, with global reach, in every organization it is installed on.

use std::collections::HashMap;
use std::fmt;

use scopegate_core::{Policy, ScopeSet};
use scopegate_store::{
    redact_url, Actor, Integration, NewIntegration, Page, Store, StoreError, DEFAULT_DATABASE_URL,
};

use crate::{outln, AdminFormat, ExitStatus};

/// `scopegate integration …`.
#[derive(Debug, clap::Subcommand)]
pub enum IntegrationCommand {
    /// Create an integration (its scopes expanded by the policy's implication map, like a
    /// user token's), optionally installed on organizations, and print it.
    Create(CreateArgs),
    /// Install an integration on an organization.
    Install(InstallArgs),
    /// Uninstall an integration from an organization.
    Uninstall(InstallArgs),
    /// List the integrations: id, slug, scopes and the organizations they are installed on.
    List(ListArgs),
}

/// The database and output options shared by the subcommands.
#[derive(clap::Args)]
pub struct Database {
    /// The database: `sqlite://FILE` (which must exist: `scopegate migrate` creates it) or
    /// `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Output format: `json` prints the integration as `{"id", "slug", "name", "scopes",
    /// "installed_on"}` (organization slugs); `list` prints an array of them.
    #[arg(long, value_enum, default_value = "text")]
    pub format: AdminFormat,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", redact_url(&self.database_url), self.format)
    }
}

/// Arguments of `scopegate integration create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The display name; the slug is made from it (`My App` → `my-app`).
    pub name: String,
    /// A scope of the integration (repeatable, at least one).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    pub scopes: Vec<String>,
    /// An organization slug to install it on (repeatable).
    #[arg(long = "install", value_name = "ORG_SLUG")]
    pub install: Vec<String>,
    /// The policy (TOML) declaring the scopes; the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<std::path::PathBuf>,
    /// The database.
    #[command(flatten)]
    pub database: Database,
}

/// Arguments of `scopegate integration install` and `uninstall`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The integration's id.
    pub id: i64,
    /// The organization's slug.
    pub org: String,
    /// The database.
    #[command(flatten)]
    pub database: Database,
}

/// Arguments of `scopegate integration list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The database.
    #[command(flatten)]
    pub database: Database,
}

/// Runs `scopegate integration …`.
pub fn run(cmd: &IntegrationCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        IntegrationCommand::Create(args) => create(args),
        IntegrationCommand::Install(args) => install(args, true),
        IntegrationCommand::Uninstall(args) => install(args, false),
        IntegrationCommand::List(args) => list(args),
    }
}

/// The slug of a display name: lower-case ASCII letters and digits, runs of anything else
/// as one `-`, none at either end.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// The scopes named by `names`, validated and expanded by the policy's implication map
/// (sorted, as a user token's are stored), or an error naming the first unknown one.
pub fn expand_scopes(policy: &Policy, names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut set = ScopeSet::EMPTY;
    for name in names {
        let id = policy
            .scopes
            .id(name)
            .ok_or_else(|| anyhow::anyhow!("--scope: unknown scope `{name}`"))?;
        set.insert(id);
    }
    Ok(policy
        .scopes
        .sorted_names(policy.expand_implied(set))
        .into_iter()
        .map(str::to_string)
        .collect())
}

async fn open(database: &Database) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    crate::open_existing(&database.database_url).await
}

async fn org_id(store: &dyn Store, slug: &str) -> anyhow::Result<i64> {
    match store.org_by_slug(slug).await {
        Ok(o) => Ok(o.id),
        Err(StoreError::NotFound) => anyhow::bail!("no organization `{slug}`"),
        Err(e) => Err(e.into()),
    }
}

/// Organization slugs by id (from the stored world: the store looks organizations up by slug).
async fn org_slugs(store: &dyn Store) -> anyhow::Result<HashMap<i64, String>> {
    Ok(store
        .full_world()
        .await?
        .organizations
        .into_iter()
        .filter_map(|o| Some((i64::try_from(o.id).ok()?, o.slug)))
        .collect())
}

/// `ID SLUG [SCOPES] installed on A, B`.
fn describe(i: &Integration, slugs: &HashMap<i64, String>) -> String {
    let on: Vec<String> = i
        .installed_on
        .iter()
        .map(|id| slugs.get(id).cloned().unwrap_or_else(|| id.to_string()))
        .collect();
    let installed = if on.is_empty() {
        "not installed".to_string()
    } else {
        format!("installed on {}", on.join(", "))
    };
    format!("{} {} [{}] {installed}", i.id, i.slug, i.scopes.join(", "))
}

/// The JSON form of an integration (`--format json`).
fn to_json(i: &Integration, slugs: &HashMap<i64, String>) -> serde_json::Value {
    let on: Vec<String> = i
        .installed_on
        .iter()
        .map(|id| slugs.get(id).cloned().unwrap_or_else(|| id.to_string()))
        .collect();
    serde_json::json!({
        "id": i.id,
        "slug": i.slug,
        "name": i.name,
        "scopes": i.scopes,
        "installed_on": on,
    })
}

/// Prints one integration in `format`, after `prefix` in text.
fn print(
    format: AdminFormat,
    prefix: &str,
    i: &Integration,
    slugs: &HashMap<i64, String>,
) -> anyhow::Result<()> {
    match format {
        AdminFormat::Text => outln!("{prefix}{}", describe(i, slugs))?,
        AdminFormat::Json => outln!("{}", to_json(i, slugs))?,
    }
    Ok(())
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        anyhow::bail!("NAME: must be 1 to 64 characters, none of them control characters");
    }
    let slug = slugify(name);
    if slug.is_empty() {
        anyhow::bail!("NAME: `{name}` has no letter or digit to make a slug of");
    }
    let scopes = expand_scopes(&policy, &args.scopes)?;
    super::migrate::runtime()?.block_on(async {
        let store = open(&args.database).await?;
        let mut orgs = Vec::new();
        for slug in &args.install {
            orgs.push(org_id(&*store, slug).await?);
        }
        let new = NewIntegration {
            slug: slug.clone(),
            name: name.to_string(),
            scopes,
        };
        let created = match store
            .create_integration(&new, &orgs, &Actor::system())
            .await
        {
            Ok(i) => i,
            Err(StoreError::Conflict) => anyhow::bail!("an integration `{slug}` already exists"),
            Err(e) => return Err(e.into()),
        };
        let slugs = org_slugs(&*store).await?;
        print(
            args.database.format,
            "created integration ",
            &created,
            &slugs,
        )?;
        Ok(ExitStatus::Success)
    })
}

fn install(args: &InstallArgs, on: bool) -> anyhow::Result<ExitStatus> {
    super::migrate::runtime()?.block_on(async {
        let store = open(&args.database).await?;
        match store.integration(args.id).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => anyhow::bail!("no integration {}", args.id),
            Err(e) => return Err(e.into()),
        }
        let org = org_id(&*store, &args.org).await?;
        let actor = Actor::system();
        let result = if on {
            store.install_integration(args.id, org, &actor).await
        } else {
            store.uninstall_integration(args.id, org, &actor).await
        };
        let updated = match result {
            Ok(i) => i,
            Err(StoreError::Conflict) if on => anyhow::bail!(
                "integration {} is already installed on `{}`",
                args.id,
                args.org
            ),
            Err(StoreError::NotFound) if !on => {
                anyhow::bail!("integration {} is not installed on `{}`", args.id, args.org)
            }
            Err(e) => return Err(e.into()),
        };
        let slugs = org_slugs(&*store).await?;
        print(args.database.format, "integration ", &updated, &slugs)?;
        Ok(ExitStatus::Success)
    })
}

fn list(args: &ListArgs) -> anyhow::Result<ExitStatus> {
    super::migrate::runtime()?.block_on(async {
        let store = open(&args.database).await?;
        let all = Page {
            offset: 0,
            limit: u32::MAX >> 1,
        };
        let slugs = org_slugs(&*store).await?;
        let all = store.integrations(all).await?;
        match args.database.format {
            AdminFormat::Text => {
                for i in &all {
                    outln!("{}", describe(i, &slugs))?;
                }
            }
            AdminFormat::Json => {
                let list: Vec<_> = all.iter().map(|i| to_json(i, &slugs)).collect();
                outln!("{}", serde_json::Value::Array(list))?;
            }
        }
        Ok(ExitStatus::Success)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("My App"), "my-app");
        assert_eq!(slugify("  --Deploy  Bot 2!! "), "deploy-bot-2");
        assert_eq!(slugify("ÉÉ"), "");
    }

    #[test]
    fn scopes_are_expanded_and_unknown_ones_named() {
        let policy = Policy::sentry();
        let scopes = expand_scopes(&policy, &["org:write".to_string()]).unwrap_or_default();
        assert!(scopes.contains(&"org:read".to_string()), "{scopes:?}");
        let err = expand_scopes(&policy, &["org:nope".to_string()])
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("--scope: unknown scope `org:nope`"));
    }
}
