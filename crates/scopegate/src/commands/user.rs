//! `scopegate user create EMAIL [--superuser]`: create a user and print a personal token.

use std::fmt;

use scopegate_store::{redact_url, StoreError, DEFAULT_DATABASE_URL};

use crate::{outln, AdminFormat, ExitStatus};

/// `scopegate user …`.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user and print a personal token (shown once).
    Create(CreateArgs),
}

/// Arguments of `scopegate user create`.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// The user's email.
    pub email: String,
    /// Make the user a superuser of the installation.
    #[arg(long)]
    pub superuser: bool,
    /// The database: `sqlite://FILE` (which must exist: `scopegate migrate` creates it) or
    /// `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<std::path::PathBuf>,
    /// Output format: `json` prints `{"id", "email", "superuser", "token"}`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: AdminFormat,
}

impl fmt::Debug for CreateArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateArgs")
            .field("email", &self.email)
            .field("superuser", &self.superuser)
            .field("database_url", &redact_url(&self.database_url))
            .field("policy", &self.policy)
            .field("format", &self.format)
            .finish()
    }
}

/// Runs `scopegate user …`.
pub fn run(cmd: &UserCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        UserCommand::Create(args) => create(args),
    }
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let email = args.email.trim();
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        anyhow::bail!("`{email}` is not an email address");
    }
    super::migrate::runtime()?.block_on(async {
        let store = crate::open_existing(&args.database_url).await?;
        let (user, secret) = match scopegate_server::demo::create_user(
            &*store,
            &policy,
            email,
            args.superuser,
        )
        .await
        {
            Ok(x) => x,
            Err(StoreError::Conflict) => anyhow::bail!("a user `{email}` already exists"),
            Err(e) => return Err(e.into()),
        };
        match args.format {
            AdminFormat::Text => {
                outln!("created user {} ({})", user.id, user.email)?;
                outln!("personal token (shown once): {}", secret.expose())?;
            }
            AdminFormat::Json => outln!(
                "{}",
                serde_json::json!({
                    "id": user.id,
                    "email": user.email,
                    "superuser": user.is_superuser,
                    "token": secret.expose(),
                })
            )?,
        }
        Ok(ExitStatus::Success)
    })
}
