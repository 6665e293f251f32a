//! `writeload concurrent`: many writers on different organizations at once, closed loop,
//! with a fixed-rate `/v1/check` load alone first and then alongside.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::http::Client;
use crate::{nonce, percentiles, report_unexpected, set, Writer, KINDS};

/// What `concurrent` runs.
#[derive(Debug)]
pub struct Options {
    /// The server.
    pub addr: String,
    /// Writers at once (at most the writers given).
    pub clients: usize,
    /// How long writes are measured, after `warmup`.
    pub duration: Duration,
    /// Writes started before this are not measured.
    pub warmup: Duration,
    /// `/v1/check` bodies, one per line (no check load without them).
    pub check_bodies: Option<std::path::PathBuf>,
    /// The service token for `/v1/check`.
    pub service_token: Option<String>,
    /// `/v1/check` requests per second.
    pub check_rate: f64,
    /// `/v1/check` connections.
    pub check_conns: usize,
    /// How long the check load runs alone first.
    pub check_baseline: Duration,
}

/// What one fixed-rate check connection saw.
#[derive(Default)]
struct CheckTally {
    latencies: Vec<Duration>,
    non_200: u64,
    errors: u64,
}

/// A fixed-rate `/v1/check` load from `from` to `until` (offsets from `start`), over
/// `conns` connections; each latency from the request's intended start.
fn check_load(
    o: &Options,
    bodies: &Arc<Vec<String>>,
    start: Instant,
    from: Duration,
    until: Duration,
) -> Vec<std::thread::JoinHandle<CheckTally>> {
    let conns = o.check_conns.max(1);
    let period = Duration::from_secs_f64(conns as f64 / o.check_rate.max(1.0));
    (0..conns)
        .map(|slot| {
            let bodies = Arc::clone(bodies);
            let addr = o.addr.clone();
            let token = o.service_token.clone();
            let offset = from + Duration::from_secs_f64(slot as f64 / o.check_rate.max(1.0));
            std::thread::spawn(move || {
                let mut t = CheckTally::default();
                let mut client = Client::new(&addr);
                let mut reported = 0u32;
                for k in 0u32.. {
                    let intended = offset + period * k;
                    if intended >= until {
                        break;
                    }
                    let now = start.elapsed();
                    if intended > now {
                        std::thread::sleep(intended - now);
                    }
                    let body = bodies
                        .get((k as usize * conns + slot) % bodies.len().max(1))
                        .map(String::as_str);
                    match client.send("POST", "/v1/check", token.as_deref(), body, &[]) {
                        Ok(a) => {
                            t.latencies.push(start.elapsed().saturating_sub(intended));
                            if a.status != 200 {
                                t.non_200 += 1;
                                report_unexpected("/v1/check", &a, &mut reported);
                            }
                        }
                        Err(_) => t.errors += 1,
                    }
                }
                t
            })
        })
        .collect()
}

fn check_summary(handles: Vec<std::thread::JoinHandle<CheckTally>>, rate: f64) -> Value {
    let mut all = CheckTally::default();
    for h in handles {
        if let Ok(t) = h.join() {
            all.latencies.extend(t.latencies);
            all.non_200 += t.non_200;
            all.errors += t.errors;
        }
    }
    let mut v = percentiles(&mut all.latencies);
    set(&mut v, "rate", json!(rate));
    set(&mut v, "non_200", json!(all.non_200));
    set(&mut v, "errors", json!(all.errors));
    v
}

/// One write as its client saw it.
struct Done {
    started: Duration,
    finished: Duration,
    status: Option<u16>,
}

/// Runs the baseline check load, then the writers with the check load alongside; prints
/// one JSON object. True when every write was 2xx and every check 200.
pub fn concurrent(o: &Options, writers: Vec<Writer>) -> anyhow::Result<bool> {
    let writers: Vec<Writer> = writers.into_iter().take(o.clients).collect();
    anyhow::ensure!(!writers.is_empty(), "no writers");
    let bodies: Arc<Vec<String>> = Arc::new(match &o.check_bodies {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect(),
        None => Vec::new(),
    });
    let checking = !bodies.is_empty();
    let mut out = json!({"clients": writers.len(), "duration_s": o.duration.as_secs_f64()});

    if checking && !o.check_baseline.is_zero() {
        let start = Instant::now();
        let h = check_load(o, &bodies, start, Duration::ZERO, o.check_baseline);
        set(&mut out, "check_alone", check_summary(h, o.check_rate));
    }

    let start = Instant::now();
    let end = o.warmup + o.duration;
    let checks = checking.then(|| check_load(o, &bodies, start, o.warmup, end));
    let nonce = nonce();
    let handles: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(c, w)| {
            let addr = o.addr.clone();
            std::thread::spawn(move || {
                let mut client = Client::new(&addr);
                let mut done = Vec::new();
                let mut reported = 0u32;
                let mut n = c as u64 * 1_000_000;
                while start.elapsed() < end {
                    n += 1;
                    let kind = KINDS
                        .get((n as usize + c) % KINDS.len())
                        .unwrap_or(&"rename");
                    let (method, path, body) = w.request(kind, n, nonce);
                    let started = start.elapsed();
                    let status = match client.send(method, &path, Some(&w.token), Some(&body), &[])
                    {
                        Ok(a) => {
                            if !(200..300).contains(&a.status) {
                                report_unexpected(&format!("{kind} {path}"), &a, &mut reported);
                            }
                            Some(a.status)
                        }
                        Err(e) => {
                            if reported < 3 {
                                reported += 1;
                                eprintln!("{kind} {path}: {e:#}");
                            }
                            None
                        }
                    };
                    done.push(Done {
                        started,
                        finished: start.elapsed(),
                        status,
                    });
                }
                done
            })
        })
        .collect();
    let mut all: Vec<Done> = Vec::new();
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a writer thread failed"))?,
        );
    }
    // Latency: the writes started after the warm-up, however long they queued.
    let measured: Vec<&Done> = all.iter().filter(|d| d.started >= o.warmup).collect();
    let last = measured
        .iter()
        .map(|d| d.finished)
        .max()
        .unwrap_or(end)
        .max(end);
    let window = last.saturating_sub(o.warmup).as_secs_f64();
    let mut latencies: Vec<Duration> = measured
        .iter()
        .map(|d| d.finished.saturating_sub(d.started))
        .collect();
    let class = |lo: u16, hi: u16| {
        measured
            .iter()
            .filter(|d| d.status.is_some_and(|s| (lo..hi).contains(&s)))
            .count()
    };
    let (s2, s4, s5) = (class(200, 300), class(400, 500), class(500, 600));
    let errors = measured.iter().filter(|d| d.status.is_none()).count();
    let rate = |n: usize, secs: f64| json!(((n as f64 / secs.max(1e-9)) * 100.0).round() / 100.0);
    // Throughput: the writes answered within the measured window, per second of it (when
    // writes queue for longer than the window, few are, which is the server's rate).
    let in_window = all
        .iter()
        .filter(|d| d.finished >= o.warmup && d.finished <= end)
        .count();
    let mut writes = percentiles(&mut latencies);
    set(
        &mut writes,
        "per_s",
        rate(in_window, o.duration.as_secs_f64()),
    );
    // And over the whole run, warm-up included: every write / the last answer's time.
    set(
        &mut writes,
        "run_per_s",
        rate(all.len(), last.as_secs_f64()),
    );
    set(&mut writes, "run_writes", json!(all.len()));
    set(
        &mut writes,
        "window_s",
        json!((window * 100.0).round() / 100.0),
    );
    set(&mut writes, "2xx", json!(s2));
    set(&mut writes, "4xx", json!(s4));
    set(&mut writes, "5xx", json!(s5));
    set(&mut writes, "errors", json!(errors));
    set(
        &mut writes,
        "unmeasured_warmup_writes",
        json!(all.len() - measured.len()),
    );
    set(&mut out, "writes", writes);
    let mut ok = s2 == measured.len();
    if let Some(h) = checks {
        let during = check_summary(h, o.check_rate);
        ok &= during.get("non_200") == Some(&json!(0)) && during.get("errors") == Some(&json!(0));
        set(&mut out, "check_during_writes", during);
    }
    println!("{out}");
    Ok(ok)
}
