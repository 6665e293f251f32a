//! `scopegate serve`: run the service.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use scopegate_core::{Manifest, Policy};
use scopegate_server::decision_log::{self, Destination, Mode};
use scopegate_server::demo::Demo;
use scopegate_server::launch;
use scopegate_store::{redact_url, Store, DEFAULT_DATABASE_URL};

use crate::ExitStatus;

/// `writeln!` to stdout, or to stderr when `$err` (the decision log is on stdout).
macro_rules! say {
    ($err:expr) => { say!($err, "") };
    ($err:expr, $($arg:tt)*) => {{
        use std::io::Write as _;
        if $err {
            writeln!(std::io::stderr(), $($arg)*)
        } else {
            writeln!(std::io::stdout(), $($arg)*)
        }
    }};
}

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
    /// Log every `/v1/` decision and who-can answer, one JSON object per line
    /// (docs/decision-log.md): `stdout`, or a file (appended to, rotated by size). No secret
    /// is logged: a bearer principal is its resolved principal plus the token's id and prefix.
    #[arg(long, env = "SCOPEGATE_DECISION_LOG", value_name = "stdout|FILE")]
    pub decision_log: Option<Destination>,
    /// When the decision log's queue is full: `drop` the entry (counted in
    /// `scopegate_decision_log_drops_total`; decisions never wait) or `block` until there is room.
    #[arg(long, env = "SCOPEGATE_DECISION_LOG_MODE", default_value_t = Mode::Drop)]
    pub decision_log_mode: Mode,
    /// The decision log's queue, in entries.
    #[arg(long, env = "SCOPEGATE_DECISION_LOG_QUEUE", default_value_t = decision_log::DEFAULT_QUEUE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub decision_log_queue: u32,
    /// Rotate the decision log file before a line would take it past this many bytes.
    #[arg(long, env = "SCOPEGATE_DECISION_LOG_MAX_BYTES", default_value_t = decision_log::DEFAULT_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub decision_log_max_bytes: u64,
    /// Rotated parts of the decision log kept (`FILE.1` newest … `FILE.N`); 0 keeps none.
    #[arg(long, env = "SCOPEGATE_DECISION_LOG_MAX_FILES", default_value_t = decision_log::DEFAULT_MAX_FILES)]
    pub decision_log_max_files: u32,
    /// Shadow mode: also decide every `/v1/` request under this candidate policy, never
    /// changing the answer; disagreements are counted in
    /// `scopegate_shadow_disagreements_total{endpoint,direction}` and written on the
    /// decision's log line (`shadow`). With it alone, the manifest is `--manifest`'s (or the
    /// service's) compiled against the candidate.
    #[arg(long, env = "SCOPEGATE_SHADOW_POLICY")]
    pub shadow_policy: Option<PathBuf>,
    /// Shadow mode with this candidate manifest (compiled against `--shadow-policy`, or the
    /// policy).
    #[arg(long, env = "SCOPEGATE_SHADOW_MANIFEST")]
    pub shadow_manifest: Option<PathBuf>,
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
    /// Worker threads of the management plane, which runs the `/api/` routes, the index
    /// catch-ups and the store apart from the decisions (default: the cores available).
    #[arg(long, env = "SCOPEGATE_MANAGEMENT_THREADS")]
    pub management_threads: Option<usize>,
    /// The nice value (0–19) of the management plane's threads: the higher, the more the
    /// kernel favours the decision threads on a busy core, at a cost to management's
    /// throughput; 0 (the default) runs both at one priority.
    #[arg(long, env = "SCOPEGATE_MANAGEMENT_NICE", default_value_t = scopegate_server::plane::DEFAULT_NICE,
          value_parser = clap::value_parser!(i8).range(0..=19))]
    pub management_nice: i8,
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
            .field("decision_log_mode", &self.decision_log_mode)
            .field("decision_log_queue", &self.decision_log_queue)
            .field("decision_log_max_bytes", &self.decision_log_max_bytes)
            .field("decision_log_max_files", &self.decision_log_max_files)
            .field("shadow_policy", &self.shadow_policy)
            .field("shadow_manifest", &self.shadow_manifest)
            .field("org_deletion_grace", &self.org_deletion_grace)
            .field("demo", &self.demo)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("revision_wait", &self.revision_wait)
            .field("resync_interval", &self.resync_interval)
            .field("management_threads", &self.management_threads)
            .field("management_nice", &self.management_nice)
            .field("bench_noop_route", &self.bench_noop_route)
            .finish()
    }
}

/// The shadow candidate of `--shadow-policy` / `--shadow-manifest`: its policy (`None`: the
/// live one) and its manifest compiled against it.
fn shadow(args: &Args, policy: &Policy) -> anyhow::Result<Option<(Option<Policy>, Manifest)>> {
    if args.shadow_policy.is_none() && args.shadow_manifest.is_none() {
        return Ok(None);
    }
    let candidate = args
        .shadow_policy
        .as_ref()
        .map(|p| crate::load_policy(Some(p)))
        .transpose()
        .context("--shadow-policy")?;
    let under = candidate.as_ref().unwrap_or(policy);
    let manifest = match (&args.shadow_manifest, &args.manifest) {
        (Some(path), _) | (None, Some(path)) => crate::load_manifest(path, under),
        (None, None) => crate::service_manifest(under),
    }
    .context("--shadow-manifest")?;
    Ok(Some((candidate, manifest)))
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
        Some(path) => Some(crate::load_manifest(path, &policy)?),
        None => None,
    };
    let shadow = shadow(args, &policy)?;
    let decision_log = args.decision_log.clone().map(|destination| {
        let mut options = decision_log::Options::new(destination);
        options.mode = args.decision_log_mode;
        options.queue = usize::try_from(args.decision_log_queue).unwrap_or(usize::MAX);
        options.max_bytes = args.decision_log_max_bytes;
        options.max_files = args.decision_log_max_files;
        options
    });
    if let Some(decision_log::Destination::File(path)) = &args.decision_log {
        // Refused before anything starts (the server opens it again to write).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the decision log `{}`", path.display()))?;
    }
    // With the decision log on stdout, stdout holds only its lines: the rest goes to stderr.
    let to_stderr = args.decision_log == Some(Destination::Stdout);
    scopegate_server::logging::init(args.log_format);
    let threads = args
        .management_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let plane = scopegate_server::plane::ManagementPlane::start(threads, args.management_nice)
        .context("cannot start the management plane's runtime")?;
    let config = launch::Config {
        database_url: args.database_url.clone(),
        listen: args.listen.clone(),
        policy: policy.clone(),
        decision_manifest,
        decision_log,
        shadow,
        org_deletion_grace: std::time::Duration::from_secs(args.org_deletion_grace),
        metrics_listen: args.metrics_listen.clone(),
        bench_noop_route: args.bench_noop_route,
        revision_wait: args.revision_wait,
        resync_interval: args.resync_interval,
        management: Some(plane.handle()),
    };
    let served = super::migrate::runtime()?.block_on(async {
        let opened = launch::open(config).await?;
        let seeded = if args.demo {
            demo_seed(&**opened.store(), &policy, to_stderr).await?
        } else {
            None
        };
        let started = opened.start().await?;
        let addr = started.addr();
        if let Some(demo) = &seeded {
            print_demo(demo, &format!("http://{addr}"), to_stderr)?;
        }
        let reduced = started.reduced_tokens();
        if reduced > 0 {
            say!(
                to_stderr,
                "reduced the scopes of {reduced} org auth token(s) to the policy's"
            )?;
        }
        say!(to_stderr, "listening on http://{addr}")?;
        if let Some(m) = started.metrics_addr() {
            say!(to_stderr, "metrics on http://{m}/metrics")?;
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
    });
    // Outside any async context: dropping a runtime waits for its blocking threads.
    drop(plane);
    served
}

/// `--demo`: seeds an empty store (before the index is built, so the index holds it).
async fn demo_seed(
    store: &dyn Store,
    policy: &scopegate_core::Policy,
    to_stderr: bool,
) -> anyhow::Result<Option<Demo>> {
    if !store.is_empty().await? {
        say!(
            to_stderr,
            "the database is not empty: no demo organization created"
        )?;
        return Ok(None);
    }
    Ok(Some(scopegate_server::demo::seed(store, policy).await?))
}

/// Prints the demo's tokens and a few requests to try against `base`.
fn print_demo(demo: &Demo, base: &str, to_stderr: bool) -> anyhow::Result<()> {
    say!(
        to_stderr,
        "Demo organization `{}` created. Tokens (shown once):",
        demo.org
    )?;
    for a in &demo.accounts {
        say!(
            to_stderr,
            "  {:<8} {:<22} {}",
            a.role,
            a.email,
            a.token.expose()
        )?;
    }
    say!(
        to_stderr,
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
    say!(to_stderr)?;
    say!(to_stderr, "Try:")?;
    say!(
        to_stderr,
        "  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/"
    )?;
    say!(
        to_stderr,
        "  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/members/"
    )?;
    say!(
        to_stderr,
        "  # a member (alice) may not rename the organization: 403"
    )?;
    say!(
        to_stderr,
        "  curl -X PUT -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"name\": \"Mine\"}}' {base}/api/0/organizations/{org}/"
    )?;
    say!(to_stderr, "  # ...nor mint a token above her role: 400")?;
    say!(
        to_stderr,
        "  curl -X POST -H 'Authorization: Bearer {member}' -H 'Content-Type: application/json' -d '{{\"scopes\": [\"org:write\"], \"organization\": \"{org}\"}}' {base}/api/0/api-tokens/"
    )?;
    say!(
        to_stderr,
        "  curl -H 'Authorization: Bearer {owner}' {base}/api/0/organizations/{org}/audit-logs/"
    )?;
    say!(to_stderr)?;
    Ok(())
}
