//! `scopegate token create --service [--name N]`: create a service token (a caller of the
//! decision API, `/v1/`) and print its secret, once.

use std::fmt;

use scopegate_store::{redact_url, Actor, NewToken, TokenKind, DEFAULT_DATABASE_URL};

use crate::{outln, AdminFormat, ExitStatus};

/// `scopegate token …`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a service token and print its secret (shown once; only its hash is stored).
    Create(CreateArgs),
}

/// Arguments of `scopegate token create`.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// A service token: it may call the decision API (`/v1/`) and nothing else. (User and
    /// org auth tokens are created through the API.)
    #[arg(long, required = true)]
    pub service: bool,
    /// A display name.
    #[arg(long, default_value = "service")]
    pub name: String,
    /// The database: `sqlite://FILE` (which must exist: `scopegate migrate` creates it) or
    /// `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Output format: `json` prints `{"id", "kind", "name", "token"}`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: AdminFormat,
}

impl fmt::Debug for CreateArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateArgs")
            .field("service", &self.service)
            .field("name", &self.name)
            .field("database_url", &redact_url(&self.database_url))
            .field("format", &self.format)
            .finish()
    }
}

/// Runs `scopegate token …`.
pub fn run(cmd: &TokenCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        TokenCommand::Create(args) => create(args),
    }
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitStatus> {
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        anyhow::bail!("--name: must be 1 to 64 characters, none of them control characters");
    }
    super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(&args.database_url).await?;
        let new = NewToken {
            kind: TokenKind::Service,
            user_id: None,
            organization_id: None,
            name: Some(name.to_string()),
            scopes: Vec::new(),
        };
        let (token, secret) = store.create_token(&new, &Actor::system()).await?;
        match args.format {
            AdminFormat::Text => {
                outln!(
                    "created service token {} ({})",
                    token.id,
                    token.name.as_deref().unwrap_or_default()
                )?;
                outln!("service token (shown once): {}", secret.expose())?;
            }
            AdminFormat::Json => outln!(
                "{}",
                serde_json::json!({
                    "id": token.id,
                    "kind": "service",
                    "name": token.name,
                    "token": secret.expose(),
                })
            )?,
        }
        Ok(ExitStatus::Success)
    })
}
