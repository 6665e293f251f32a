//! `writeload`: the write-path load of `bench/writes.sh` (BENCHMARKS.md, "Write path (issue
//! 13)"). Management API writes as the owners of organizations of a generated world (the
//! writers of `scopegate-bench --dump DIR --writers N`, each with the personal token of the
//! user who accepted its invite), timed on the client:
//!
//! ```text
//! writeload single --addr A --writers writers.json --tokens tokens.txt --writer 0 --samples 20
//! writeload concurrent --addr A --writers writers.json --tokens tokens.txt --clients 32 \
//!           --duration 10 --check-bodies requests.jsonl --service-token S --check-rate 200
//! writeload replica --addr A --read-addr B --writers writers.json --tokens tokens.txt \
//!           --service-token S --endpoint NAME --samples 20
//! ```
//!
//! - `single`: one writer, one write at a time, round-robin over the kinds (rename, invite,
//!   team create, org token create, granular PUT of 10 members); one JSON line per kind with
//!   latency percentiles. A write that took longer than `--max-ms` is the last.
//! - `concurrent`: `--clients` writers at once, each on its own organization and keep-alive
//!   connection, closed loop (next write when the last is answered), cycling over the kinds;
//!   plus a fixed-rate `/v1/check` load (latency from each request's intended start, no
//!   coordinated omission), first alone (the baseline), then during the writes. One JSON
//!   object: writes per second, latency, status classes (5xx counted), and both check loads.
//! - `replica`: a granular PUT on one server, then a decision on another server of the same
//!   PostgreSQL database that the write changes (the writer's `users[0]` gains or loses
//!   replay access). With revisions (`X-Scopegate-Revision` on the write), the check names
//!   `at_least_revision` and is timed; without, the reading server is polled until its
//!   decision changes (the change feed's lag). Either way a stale decision is counted.
//!
//! Exit code 0 when every write and check was answered 2xx (and no stale read), 1 otherwise,
//! 2 on a usage or setup error.

mod http;
mod load;
mod replica;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::http::{Answer, Client};

const USAGE: &str = "usage: writeload single|concurrent|replica --addr HOST:PORT \
    --writers FILE --tokens FILE [options]\n\n  \
    --writers FILE      writers.json of `scopegate-bench --dump DIR --writers N`\n  \
    --tokens FILE       one personal token per writer, in the same order\n  \
    single:     --writer I (default 0) --samples N (20) --warmup N (1 round) --max-ms MS (15000)\n  \
    concurrent: --clients N (32) --duration S (10) --warmup S (1) --check-bodies FILE\n              \
    --service-token T --check-rate R (200) --check-conns C (4) --check-baseline S (3)\n  \
    replica:    --read-addr HOST:PORT --service-token T --endpoint NAME --samples N (20)\n              \
    --wait-ms MS (20000: the longest a poll waits for the reading server)";

/// The kinds of single-organization writes, in round-robin order.
pub const KINDS: [&str; 5] = ["rename", "invite", "team", "token", "granular"];

/// One organization's writer: its slug, owner token and users (writers.json).
#[derive(Debug, Clone)]
pub struct Writer {
    /// The organization's slug.
    pub slug: String,
    /// Members of the organization.
    pub members: u64,
    /// User ids of members, for granular PUTs.
    pub users: Vec<u64>,
    /// The owner's personal token.
    pub token: String,
}

impl Writer {
    /// The method, path and body of write number `n` of `kind`; `nonce` keeps slugs and
    /// emails unique across runs on the same database.
    pub fn request(&self, kind: &str, n: u64, nonce: u64) -> (&'static str, String, String) {
        let org = format!("/api/0/organizations/{}/", self.slug);
        let name = format!("b{nonce}-{n}");
        match kind {
            "rename" => (
                "PUT",
                org,
                json!({"name": format!("Bench {name}")}).to_string(),
            ),
            "invite" => (
                "POST",
                format!("{org}members/"),
                json!({"email": format!("{name}@bench.invalid"), "orgRole": "member"}).to_string(),
            ),
            "team" => (
                "POST",
                format!("{org}teams/"),
                json!({"slug": name}).to_string(),
            ),
            "token" => (
                "POST",
                format!("{org}org-auth-tokens/"),
                json!({"name": name}).to_string(),
            ),
            _ => ("PUT", org, granular_body(&self.users, n % 2 == 1)),
        }
    }
}

/// A granular PUT of up to ten members: `users[0..10]`, or with `alternate`
/// `users[1..11]` (so `users[0]` loses access and every PUT changes the allowlist).
pub fn granular_body(users: &[u64], alternate: bool) -> String {
    let skip = usize::from(alternate && users.len() > 1);
    let list: Vec<u64> = users.iter().skip(skip).take(10).copied().collect();
    json!({ "replayAccessMembers": list }).to_string()
}

/// `--flag value` pairs.
struct Args(HashMap<String, String>);

impl Args {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn need(&self, k: &str) -> anyhow::Result<&str> {
        self.get(k)
            .with_context(|| format!("`--{k}` is needed\n\n{USAGE}"))
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> anyhow::Result<T> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("`--{k}`: `{v}` is not a number")),
        }
    }
}

fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut map = HashMap::new();
    let mut it = args;
    while let Some(flag) = it.next() {
        let key = flag
            .strip_prefix("--")
            .with_context(|| format!("unexpected argument `{flag}`\n\n{USAGE}"))?;
        let value = it
            .next()
            .with_context(|| format!("`{flag}` needs a value"))?;
        map.insert(key.to_string(), value);
    }
    Ok(Args(map))
}

fn writers(a: &Args) -> anyhow::Result<Vec<Writer>> {
    let path = a.need("writers")?;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let docs: Vec<Value> = serde_json::from_str(&text).with_context(|| path.to_string())?;
    let tokens_path = a.need("tokens")?;
    let tokens = std::fs::read_to_string(tokens_path)
        .with_context(|| format!("cannot read {tokens_path}"))?;
    let tokens: Vec<&str> = tokens.lines().filter(|l| !l.trim().is_empty()).collect();
    docs.iter()
        .zip(tokens)
        .map(|(d, t)| {
            Ok(Writer {
                slug: d
                    .get("slug")
                    .and_then(Value::as_str)
                    .context("a writer without a slug")?
                    .into(),
                members: d.get("members").and_then(Value::as_u64).unwrap_or(0),
                users: d
                    .get("users")
                    .and_then(Value::as_array)
                    .map(|u| u.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
                token: t.trim().to_string(),
            })
        })
        .collect()
}

/// Latency percentiles in milliseconds (nearest rank) of `samples`.
pub fn percentiles(samples: &mut [Duration]) -> Value {
    samples.sort_unstable();
    let n = samples.len();
    let at = |p: f64| -> f64 {
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n.max(1)) - 1;
        samples.get(i).map_or(0.0, ms)
    };
    json!({
        "n": n,
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": samples.last().map_or(0.0, ms),
        "min_ms": samples.first().map_or(0.0, ms),
    })
}

/// Sets `key` of the JSON object `v` (nothing when `v` is not an object).
pub fn set(v: &mut Value, key: &str, x: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), x);
    }
}

/// A duration in milliseconds, to 0.01 ms.
pub fn ms(d: &Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// A unique-enough run number for slugs and emails (seconds since the epoch).
pub fn nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reports the first answers of an unexpected status on stderr (at most `limit`).
pub fn report_unexpected(what: &str, answer: &Answer, reported: &mut u32) {
    if *reported < 3 {
        *reported += 1;
        eprintln!(
            "{what}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
}

fn single(a: &Args) -> anyhow::Result<bool> {
    let index: usize = a.num("writer", 0)?;
    let all = writers(a)?;
    let w = all.get(index).context("no such writer")?;
    let samples: usize = a.num("samples", 20)?;
    let warmup: usize = a.num("warmup", 1)?;
    let max = Duration::from_millis(a.num("max-ms", 15_000)?);
    let mut client = Client::new(a.need("addr")?);
    let nonce = nonce();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut statuses: Vec<HashMap<u16, u64>> = vec![HashMap::new(); KINDS.len()];
    let (mut ok, mut reported, mut stopped) = (true, 0u32, false);
    let mut n = 0u64;
    'rounds: for round in 0..warmup + samples {
        for (k, kind) in KINDS.iter().enumerate() {
            n += 1;
            let (method, path, body) = w.request(kind, n, nonce);
            let start = std::time::Instant::now();
            let answer = client.send(method, &path, Some(&w.token), Some(&body), &[])?;
            let took = start.elapsed();
            if !(200..300).contains(&answer.status) {
                ok = false;
                report_unexpected(&format!("{kind} {method} {path}"), &answer, &mut reported);
            }
            if round >= warmup {
                times.get_mut(k).context("kind")?.push(took);
                *statuses
                    .get_mut(k)
                    .context("kind")?
                    .entry(answer.status)
                    .or_default() += 1;
            }
            if took > max {
                stopped = true;
                break 'rounds;
            }
        }
    }
    for ((kind, t), s) in KINDS.iter().zip(&mut times).zip(&statuses) {
        let mut line = percentiles(t);
        set(&mut line, "kind", json!(kind));
        set(&mut line, "org", json!(w.slug));
        set(&mut line, "org_members", json!(w.members));
        set(&mut line, "statuses", json!(s));
        set(&mut line, "stopped_early", json!(stopped));
        println!("{line}");
    }
    Ok(ok)
}

fn run() -> anyhow::Result<bool> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().unwrap_or_default();
    let a = parse(it)?;
    match mode.as_str() {
        "single" => single(&a),
        "concurrent" => load::concurrent(
            &load::Options {
                addr: a.need("addr")?.into(),
                clients: a.num("clients", 32)?,
                duration: Duration::from_secs_f64(a.num("duration", 10.0)?),
                warmup: Duration::from_secs_f64(a.num("warmup", 1.0)?),
                check_bodies: a.get("check-bodies").map(Into::into),
                service_token: a.get("service-token").map(Into::into),
                check_rate: a.num("check-rate", 200.0)?,
                check_conns: a.num("check-conns", 4)?,
                check_baseline: Duration::from_secs_f64(a.num("check-baseline", 3.0)?),
            },
            writers(&a)?,
        ),
        "replica" => replica::replica(
            &replica::Options {
                write_addr: a.need("addr")?.into(),
                read_addr: a.need("read-addr")?.into(),
                service_token: a.need("service-token")?.into(),
                endpoint: a.need("endpoint")?.into(),
                samples: a.num("samples", 20)?,
                wait: Duration::from_millis(a.num("wait-ms", 20_000)?),
            },
            writers(&a)?.into_iter().next().context("no writer")?,
        ),
        _ => anyhow::bail!("{USAGE}"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
