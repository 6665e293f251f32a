//! `scopegate serve`: run the service.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_server::decision_log::DecisionLog;
use scopegate_server::demo::Demo;
use scopegate_server::launch;
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
    /// Seconds (fractions allowed) a `/v1/` request naming `at_least_revision` waits for
    /// this replica's index to reach that revision before it is answered 503.
    #[arg(long, env = "SCOPEGATE_REVISION_WAIT", default_value = "2", value_parser = seconds)]
    pub revision_wait: std::time::Duration,
    /// Seconds between full resynchronizations of the decision index (built aside from one
    /// snapshot and compared with the incrementally kept one; a difference is counted in
    /// `scopegate_index_divergence_total` and logged).
    #[arg(long, env = "SCOPEGATE_RESYNC_INTERVAL", default_value = "60", value_parser = seconds)]
    pub resync_interval: std::time::Duration,
    /// Bench only: also mount `POST /v1/bench/noop` (bench/http.sh's denominator).
    #[arg(long, hide = true)]
    pub bench_noop_route: bool,
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
            .field("revision_wait", &self.revision_wait)
            .field("resync_interval", &self.resync_interval)
            .field("bench_noop_route", &self.bench_noop_route)
            .finish()
    }
}

/// A duration in seconds, fractions allowed (`0.5`); a resynchronization interval must be
/// positive, checked where it is used.
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected seconds (e.g. `2` or `0.5`), got `{text}`"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("expected a non-negative number of seconds, got `{text}`"))
}

/// Runs `scopegate serve` until SIGINT or SIGTERM, through [`scopegate_server::launch`]:
/// open the store → (`--demo`: seed it) → build the index → start the change feed → bind →
/// serve.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let policy = crate::load_policy(args.policy.as_ref())?;
    let decision_manifest = match &args.manifest {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Some((crate::load_manifest(path, &policy)?, text))
        }
        None => None,
    };
    let decision_log = match &args.decision_log {
        Some(path) => Some(
            DecisionLog::open(path).with_context(|| format!("cannot open `{}`", path.display()))?,
        ),
        None => None,
    };
    scopegate_server::logging::init(args.log_format);
    let config = launch::Config {
        database_url: args.database_url.clone(),
        listen: args.listen.clone(),
        policy: policy.clone(),
        decision_manifest,
        decision_log,
        org_deletion_grace: std::time::Duration::from_secs(args.org_deletion_grace),
        metrics_listen: args.metrics_listen.clone(),
        bench_noop_route: args.bench_noop_route,
        revision_wait: args.revision_wait,
        resync_interval: args.resync_interval,
    };
    super::migrate::runtime()?.block_on(async {
        let opened = launch::open(config).await?;
        let seeded = if args.demo {
            demo_seed(&**opened.store(), &policy).await?
        } else {
            None
        };
        let started = opened.start().await?;
        let addr = started.addr();
        if let Some(demo) = &seeded {
            print_demo(demo, &format!("http://{addr}"))?;
        }
        let reduced = started.reduced_tokens();
        if reduced > 0 {
            outln!("reduced the scopes of {reduced} org auth token(s) to the policy's")?;
        }
        outln!("listening on http://{addr}")?;
        if let Some(m) = started.metrics_addr() {
            outln!("metrics on http://{m}/metrics")?;
        }
        let outcome = started
            .serve(
                std::time::Duration::from_secs(args.shutdown_grace),
                std::time::Duration::from_secs(args.shutdown_delay),
                scopegate_server::shutdown_signal(),
            )
            .await?;
        match outcome {
            scopegate_server::shutdown::Outcome::Clean => Ok(ExitStatus::Success),
            scopegate_server::shutdown::Outcome::GraceExceeded => Err(anyhow::anyhow!(
                "in-flight requests did not finish within --shutdown-grace ({}s)",
                args.shutdown_grace
            )),
        }
    })
}

/// `--demo`: seeds an empty store (before the index is built, so the index holds it).
async fn demo_seed(
    store: &dyn Store,
    policy: &scopegate_core::Policy,
) -> anyhow::Result<Option<Demo>> {
    if !store.is_empty().await? {
        outln!("the database is not empty: no demo organization created")?;
        return Ok(None);
    }
    Ok(Some(scopegate_server::demo::seed(store, policy).await?))
}

/// Prints the demo's tokens and a few requests to try against `base`.
fn print_demo(demo: &Demo, base: &str) -> anyhow::Result<()> {
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
