//! `scopegate serve`: run the service.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_server::AppState;
use scopegate_store::{redact_url, Store, DEFAULT_DATABASE_URL};

use crate::{outln, ExitStatus};

/// Arguments of `scopegate serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(long, env = "SCOPEGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "SCOPEGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The policy (TOML); the built-in Sentry policy by default.
    #[arg(long, env = "SCOPEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The application's endpoint manifest the decision API (`/v1/`) decides with; the
    /// service's own manifest by default.
    #[arg(long, env = "SCOPEGATE_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Append one JSON line per `/v1/` decision to this file (bearer secrets are replaced
    /// by the token's id and prefix).
    #[arg(long, env = "SCOPEGATE_DECISION_LOG")]
    pub decision_log: Option<PathBuf>,
    /// Seconds an organization stays pending deletion after its DELETE before it is removed
    /// (`PUT … {"cancelDeletion": true}` restores it until then).
    #[arg(long, env = "SCOPEGATE_ORG_DELETION_GRACE", default_value_t = 86_400)]
    pub org_deletion_grace: u64,
    /// On an empty database, create a demo organization and print its tokens.
    #[arg(long)]
    pub demo: bool,
    /// Also serve `/metrics` (only) on this address, e.g. for a scraper on a private
    /// network; `/metrics` stays on the main listener too.
    #[arg(long, env = "SCOPEGATE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// The log format on stderr: `text` (coloured only on a terminal) or `json`.
    #[arg(long, env = "SCOPEGATE_LOG_FORMAT", default_value = "text")]
    pub log_format: scopegate_server::logging::LogFormat,
    /// Seconds in-flight requests may take to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "SCOPEGATE_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Seconds to keep accepting requests after SIGTERM with `/readyz` false, so that a load
    /// balancer stops routing here first.
    #[arg(long, env = "SCOPEGATE_SHUTDOWN_DELAY", default_value_t = 0)]
    pub shutdown_delay: u64,
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("policy", &self.policy)
            .field("manifest", &self.manifest)
            .field("decision_log", &self.decision_log)
            .field("org_deletion_grace", &self.org_deletion_grace)
            .field("demo", &self.demo)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_delay", &self.shutdown_delay)
            .finish()
    }
}

/// Runs `scopegate serve` until SIGINT or SIGTERM.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let manifest = match &args.manifest {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Some((crate::load_manifest(path, &policy)?, text))
        }
        None => None,
    };
    let log = match &args.decision_log {
        Some(path) => Some(
            scopegate_server::routes::v1::DecisionLog::open(path)
                .with_context(|| format!("cannot open `{}`", path.display()))?,
        ),
        None => None,
    };
    scopegate_server::logging::init(args.log_format);
    super::migrate::runtime()?.block_on(async {
        let store = scopegate_store::connect(&args.database_url)
            .await
            .with_context(|| format!("cannot open `{}`", redact_url(&args.database_url)))?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", args.listen))?;
        let addr = listener.local_addr()?;
        let metrics = match &args.metrics_listen {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .with_context(|| format!("cannot listen on `{a}` (--metrics-listen)"))?,
            ),
            None => None,
        };
        if args.demo {
            demo(&*store, &policy, &format!("http://{addr}")).await?;
        }
        let mut state = AppState::new(store, policy)?
            .with_org_deletion_grace(std::time::Duration::from_secs(args.org_deletion_grace));
        if let Some((manifest, text)) = manifest {
            state = state.with_decision_manifest(manifest, &text);
        }
        if let Some(log) = log {
            state = state.with_decision_log(log);
        }
        // Org auth tokens hold exactly the policy's org token scopes (security issue 11):
        // tokens stored with more are reduced, each change audited.
        let reduced = state
            .reduce_org_token_scopes()
            .await
            .context("cannot reduce the org auth tokens' scopes to the policy's")?;
        if reduced > 0 {
            outln!("reduced the scopes of {reduced} org auth token(s) to the policy's")?;
        }
        state
            .load_index()
            .await
            .context("cannot build the decision index")?;
        let _sync = scopegate_server::index::LiveIndex::spawn_sync(&state);
        let _purge = scopegate_server::deletion::spawn(&state);
        outln!("listening on http://{addr}")?;
        if let Some(m) = &metrics {
            outln!("metrics on http://{}/metrics", m.local_addr()?)?;
        }
        let options = scopegate_server::shutdown::Options {
            grace: std::time::Duration::from_secs(args.shutdown_grace),
            delay: std::time::Duration::from_secs(args.shutdown_delay),
            metrics,
        };
        let outcome = scopegate_server::shutdown::run(
            listener,
            state,
            options,
            scopegate_server::shutdown_signal(),
        )
        .await
        .context("the server failed")?;
        match outcome {
            scopegate_server::shutdown::Outcome::Clean => Ok(ExitStatus::Success),
            scopegate_server::shutdown::Outcome::GraceExceeded => Err(anyhow::anyhow!(
                "in-flight requests did not finish within --shutdown-grace ({}s)",
                args.shutdown_grace
            )),
        }
    })
}

async fn demo(
    store: &dyn Store,
    policy: &scopegate_core::Policy,
    base: &str,
) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        outln!("the database is not empty: no demo organization created")?;
        return Ok(());
    }
    let demo = scopegate_server::demo::seed(store, policy).await?;
    outln!(
        "Demo organization `{}` created. Tokens (shown once):",
        demo.org
    )?;
    for a in &demo.accounts {
        outln!("  {:<8} {:<22} {}", a.role, a.email, a.token.expose())?;
    }
    outln!(
        "  {:<8} {:<22} {}",
        "org-ci",
        "(org auth token)",
        demo.org_token.expose()
    )?;
    let (owner, member) = match (demo.accounts.first(), demo.accounts.get(2)) {
        (Some(o), Some(m)) => (o.token.expose(), m.token.expose()),
        _ => return Ok(()),
    };
    let org = &demo.org;
    outln!()?;
    outln!("Try:")?;
    outln!("  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/")?;
    outln!("  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/members/")?;
    outln!("  # a member (alice) may not rename the organization: 403")?;
    outln!(
        "  curl -X PUT -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"name\": \"Mine\"}}' {base}/api/0/organizations/{org}/"
    )?;
    outln!("  # ...nor mint a token above her role: 400")?;
    outln!(
        "  curl -X POST -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"scopes\": [\"org:write\"], \"organization\": \"{org}\"}}' {base}/api/0/api-tokens/"
    )?;
    outln!(
        "  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/audit-logs/"
    )?;
    outln!()?;
    Ok(())
}
