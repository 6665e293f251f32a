//! `scopegate serve`: run the service.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_server::AppState;
use scopegate_store::{redact_url, Store, DEFAULT_DATABASE_URL};

use crate::ExitStatus;

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
            .field("bench_noop_route", &self.bench_noop_route)
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
    init_tracing();
    super::migrate::runtime()?.block_on(async {
        let store = scopegate_store::connect(&args.database_url)
            .await
            .with_context(|| format!("cannot open `{}`", redact_url(&args.database_url)))?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", args.listen))?;
        let addr = listener.local_addr()?;
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
            println!("reduced the scopes of {reduced} org auth token(s) to the policy's");
        }
        state
            .load_index()
            .await
            .context("cannot build the decision index")?;
        let _sync = scopegate_server::index::LiveIndex::spawn_sync(&state);
        let _purge = scopegate_server::deletion::spawn(&state);
        println!("listening on http://{addr}");
        if args.bench_noop_route {
            scopegate_server::serve_bench(listener, state, scopegate_server::shutdown_signal())
                .await
        } else {
            scopegate_server::serve(listener, state, scopegate_server::shutdown_signal()).await
        }
        .context("the server failed")?;
        Ok(ExitStatus::Success)
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("scopegate=info,tower_http=info"));
    // A second initialization (tests) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn demo(
    store: &dyn Store,
    policy: &scopegate_core::Policy,
    base: &str,
) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        println!("the database is not empty: no demo organization created");
        return Ok(());
    }
    let demo = scopegate_server::demo::seed(store, policy).await?;
    println!(
        "Demo organization `{}` created. Tokens (shown once):",
        demo.org
    );
    for a in &demo.accounts {
        println!("  {:<8} {:<22} {}", a.role, a.email, a.token.expose());
    }
    println!(
        "  {:<8} {:<22} {}",
        "org-ci",
        "(org auth token)",
        demo.org_token.expose()
    );
    let (owner, member) = match (demo.accounts.first(), demo.accounts.get(2)) {
        (Some(o), Some(m)) => (o.token.expose(), m.token.expose()),
        _ => return Ok(()),
    };
    let org = &demo.org;
    println!();
    println!("Try:");
    println!("  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/");
    println!("  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/members/");
    println!("  # a member (alice) may not rename the organization: 403");
    println!(
        "  curl -X PUT -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"name\": \"Mine\"}}' {base}/api/0/organizations/{org}/"
    );
    println!("  # ...nor mint a token above her role: 400");
    println!(
        "  curl -X POST -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"scopes\": [\"org:write\"], \"organization\": \"{org}\"}}' {base}/api/0/api-tokens/"
    );
    println!(
        "  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/audit-logs/"
    );
    println!();
    Ok(())
}
