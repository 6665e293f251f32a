//! `loadgen`: a fixed-rate HTTP/1.1 load generator for `bench/http.sh` (wrk2's method,
//! without coordinated omission).
//!
//! Requests are scheduled at a constant total rate over `--conns` keep-alive connections
//! (one thread each; connection `i` owns the slots `i, i + C, i + 2C, …`, so each sends at
//! `rate / C`). Every latency is measured from the slot's *intended* start, not from when
//! the request was actually sent: when the server falls behind, the queueing delay counts,
//! as it would for a real client arriving on schedule. Bodies are taken round-robin from a
//! file of one body per line (e.g. 8,000 different `/v1/check` requests), so the server
//! sees many distinct principals, tokens, organizations and projects.
//!
//! ```text
//! loadgen --addr 127.0.0.1:18080 --path /v1/check --bodies requests.jsonl \
//!         --token SECRET --rate 20000 --duration 10 --conns 32
//! ```
//!
//! Prints one JSON line: intended and achieved rate, latency percentiles in microseconds,
//! non-200 answers and connection errors. Exit code 1 when any answer was not 200.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

struct Args {
    addr: String,
    path: String,
    bodies: Option<std::path::PathBuf>,
    token: Option<String>,
    rate: f64,
    duration: f64,
    conns: usize,
    warmup: f64,
}

const USAGE: &str = "usage: loadgen --addr HOST:PORT --path PATH [--bodies FILE] [--token T] \
    [--rate R] [--duration S] [--conns C] [--warmup S]\n\n  \
    --bodies FILE  POST one line of FILE per request, round-robin (GET without it)\n  \
    --token T      send `Authorization: Bearer T`\n  \
    --rate R       total requests per second (default 10000)\n  \
    --duration S   seconds measured (default 10), after --warmup S (default 2) unmeasured";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: String::new(),
        path: "/healthz".into(),
        bodies: None,
        token: None,
        rate: 10_000.0,
        duration: 10.0,
        conns: 32,
        warmup: 2.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("`{flag}` needs a value"));
        let num = |v: String| -> Result<f64, String> {
            v.parse().map_err(|_| format!("`{v}` is not a number"))
        };
        match flag.as_str() {
            "--addr" => a.addr = value()?,
            "--path" => a.path = value()?,
            "--bodies" => a.bodies = Some(value()?.into()),
            "--token" => a.token = Some(value()?),
            "--rate" => a.rate = num(value()?)?,
            "--duration" => a.duration = num(value()?)?,
            "--warmup" => a.warmup = num(value()?)?,
            "--conns" => a.conns = num(value()?)? as usize,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if a.addr.is_empty() || a.rate <= 0.0 || a.conns == 0 || a.duration <= 0.0 {
        return Err(format!(
            "`--addr`, a positive rate, duration and conns are needed\n\n{USAGE}"
        ));
    }
    Ok(a)
}

/// One request's bytes, ready to write.
fn request_bytes(a: &Args, body: Option<&str>) -> Vec<u8> {
    let auth = a
        .token
        .as_ref()
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    match body {
        Some(b) => format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            a.path,
            a.addr,
            b.len()
        ),
        None => format!("GET {} HTTP/1.1\r\nHost: {}\r\n{auth}\r\n", a.path, a.addr),
    }
    .into_bytes()
}

/// Reads one response; returns its status.
fn read_response(r: &mut BufReader<TcpStream>, line: &mut String) -> anyhow::Result<u16> {
    line.clear();
    r.read_line(line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(line)? == 0 {
            anyhow::bail!("connection closed");
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().context("bad content-length")?;
            }
        }
    }
    let mut sink = vec![0u8; length];
    r.read_exact(&mut sink)?;
    Ok(status)
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    non_200: u64,
    errors: u64,
}

fn connection(
    a: &Args,
    requests: &[Vec<u8>],
    slot: usize,
    start: Instant,
    measure_from: Duration,
    end: Duration,
) -> Tally {
    let mut t = Tally::default();
    let period = Duration::from_secs_f64(a.conns as f64 / a.rate);
    let offset = Duration::from_secs_f64(slot as f64 / a.rate);
    let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
    let mut line = String::new();
    let mut k: u32 = 0;
    loop {
        let intended = offset + period * k;
        k += 1;
        if intended >= end {
            break;
        }
        let now = start.elapsed();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        let index = (k as usize * a.conns + slot) % requests.len().max(1);
        let Some(bytes) = requests.get(index) else {
            break;
        };
        if conn.is_none() {
            conn = TcpStream::connect(&a.addr).ok().and_then(|s| {
                let _ = s.set_nodelay(true);
                let reader = BufReader::new(s.try_clone().ok()?);
                Some((s, reader))
            });
        }
        let outcome = match conn.as_mut() {
            Some((w, r)) => w
                .write_all(bytes)
                .map_err(anyhow::Error::from)
                .and_then(|()| read_response(r, &mut line)),
            None => Err(anyhow::anyhow!("cannot connect")),
        };
        let latency = start.elapsed().saturating_sub(intended);
        let measured = intended >= measure_from;
        match outcome {
            Ok(status) => {
                if measured {
                    t.latencies_us
                        .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
                    if status != 200 {
                        t.non_200 += 1;
                    }
                }
            }
            Err(_) => {
                conn = None;
                if measured {
                    t.errors += 1;
                }
            }
        }
    }
    t
}

fn run(a: Args) -> anyhow::Result<bool> {
    let requests: Vec<Vec<u8>> = match &a.bodies {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| request_bytes(&a, Some(l)))
            .collect(),
        None => vec![request_bytes(&a, None)],
    };
    anyhow::ensure!(!requests.is_empty(), "no bodies");
    let a = Arc::new(a);
    let requests = Arc::new(requests);
    let measure_from = Duration::from_secs_f64(a.warmup);
    let end = measure_from + Duration::from_secs_f64(a.duration);
    let start = Instant::now();
    let handles: Vec<_> = (0..a.conns)
        .map(|slot| {
            let (a, requests) = (Arc::clone(&a), Arc::clone(&requests));
            std::thread::spawn(move || connection(&a, &requests, slot, start, measure_from, end))
        })
        .collect();
    let mut all = Tally::default();
    for h in handles {
        let t = h
            .join()
            .map_err(|_| anyhow::anyhow!("a connection thread failed"))?;
        all.latencies_us.extend(t.latencies_us);
        all.non_200 += t.non_200;
        all.errors += t.errors;
    }
    let wall = start.elapsed().saturating_sub(measure_from).as_secs_f64();
    all.latencies_us.sort_unstable();
    let n = all.latencies_us.len();
    let pct = |p: f64| {
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n.max(1)) - 1;
        all.latencies_us.get(i).copied().unwrap_or(0)
    };
    println!(
        "{}",
        json!({
            "path": a.path,
            "rate": a.rate,
            "conns": a.conns,
            "distinct_bodies": requests.len(),
            "answered": n,
            "achieved_rate": (n as f64 / wall).round(),
            "p50_us": pct(0.50),
            "p90_us": pct(0.90),
            "p99_us": pct(0.99),
            "p999_us": pct(0.999),
            "max_us": all.latencies_us.last().copied().unwrap_or(0),
            "non_200": all.non_200,
            "errors": all.errors,
        })
    );
    Ok(all.non_200 == 0 && all.errors == 0)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(a) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
