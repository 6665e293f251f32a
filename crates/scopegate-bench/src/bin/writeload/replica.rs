//! `writeload replica`: a write on one server, then a decision it changes on another server
//! sharing the PostgreSQL database: read-your-writes through `at_least_revision` when the
//! write answers `X-Scopegate-Revision`, else the time until the reading server catches up.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::http::Client;
use crate::{granular_body, percentiles, set, Writer};

/// What `replica` runs.
#[derive(Debug)]
pub struct Options {
    /// The server written to.
    pub write_addr: String,
    /// The server read from.
    pub read_addr: String,
    /// The service token for `/v1/check`.
    pub service_token: String,
    /// The endpoint (of the served manifest) guarded by granular replay access.
    pub endpoint: String,
    /// Write-then-read pairs measured.
    pub samples: usize,
    /// How long a poll waits for the reading server to change its decision.
    pub wait: Duration,
}

/// The decision `allowed` of a `/v1/check` answer, and its `revision` when reported.
fn decide(
    client: &mut Client,
    o: &Options,
    body: &Value,
    header: Option<u64>,
) -> anyhow::Result<(u16, Option<bool>, Option<u64>)> {
    let headers: Vec<(&str, String)> = header
        .map(|r| vec![("X-Scopegate-At-Least-Revision", r.to_string())])
        .unwrap_or_default();
    let a = client.send(
        "POST",
        "/v1/check",
        Some(&o.service_token),
        Some(&body.to_string()),
        &headers,
    )?;
    let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    Ok((
        a.status,
        v.get("allowed").and_then(Value::as_bool),
        v.get("revision").and_then(Value::as_u64).or(a.revision),
    ))
}

/// Writes on one server, reads on the other; prints one JSON object. True when no read saw
/// a state older than the write.
pub fn replica(o: &Options, w: Writer) -> anyhow::Result<bool> {
    let user = *w.users.first().context("the writer lists no user")?;
    let mut writer = Client::new(&o.write_addr);
    let mut reader = Client::new(&o.read_addr);
    let mut on_writer = Client::new(&o.write_addr);
    let check = json!({
        "principal": {"kind": "session", "user": user},
        "endpoint": o.endpoint,
        "method": "GET",
        "organization": w.slug,
    });
    let org = format!("/api/0/organizations/{}/", w.slug);
    let put = |c: &mut Client, alternate: bool| -> anyhow::Result<Option<u64>> {
        let a = c.send(
            "PUT",
            &org,
            Some(&w.token),
            Some(&granular_body(&w.users, alternate)),
            &[],
        )?;
        anyhow::ensure!(
            a.status == 200,
            "granular PUT: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        Ok(a.revision)
    };
    // What each allowlist decides, on the server written to (it reads its own writes).
    put(&mut writer, false)?;
    let listed = decide(&mut on_writer, o, &check, None)?.1;
    put(&mut writer, true)?;
    let unlisted = decide(&mut on_writer, o, &check, None)?.1;
    anyhow::ensure!(
        listed.is_some() && listed != unlisted,
        "user {user}'s decision on {} does not follow the allowlist ({listed:?} / {unlisted:?})",
        o.endpoint
    );

    let mut times = Vec::new();
    let (mut stale, mut unavailable, mut timeouts) = (0u64, 0u64, 0u64);
    let mut mode = "poll";
    for i in 0..o.samples {
        let alternate = i % 2 == 1;
        let expect = if alternate { unlisted } else { listed };
        let revision = put(&mut writer, alternate)?;
        let start = Instant::now();
        match revision {
            Some(r) => {
                mode = "at_least_revision";
                let mut body = check.clone();
                set(&mut body, "at_least_revision", json!(r));
                let (status, allowed, seen) = decide(&mut reader, o, &body, Some(r))?;
                times.push(start.elapsed());
                if status == 503 {
                    unavailable += 1;
                } else if allowed != expect || seen.is_some_and(|s| s < r) {
                    stale += 1;
                }
            }
            None => loop {
                let (_, allowed, _) = decide(&mut reader, o, &check, None)?;
                if allowed == expect {
                    times.push(start.elapsed());
                    break;
                }
                if start.elapsed() > o.wait {
                    timeouts += 1;
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            },
        }
    }
    let mut out = percentiles(&mut times);
    set(&mut out, "mode", json!(mode));
    set(&mut out, "org", json!(w.slug));
    set(&mut out, "org_members", json!(w.members));
    set(&mut out, "stale", json!(stale));
    set(&mut out, "unavailable_503", json!(unavailable));
    set(&mut out, "poll_timeouts", json!(timeouts));
    println!("{out}");
    Ok(stale == 0)
}
