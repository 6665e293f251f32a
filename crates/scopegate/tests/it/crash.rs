//! Crash and fault tests of `scopegate serve` (issue 11, findings 9 and 13): `kill -9`
//! during a stream of writes, then a restart on the same database: every acknowledged write
//! is stored with its audit entry, and nothing is stored without one; on SQLite (a
//! temporary file) and on PostgreSQL (a fresh database, when `SCOPEGATE_TEST_DATABASE_URL`
//! is set). And an unreachable PostgreSQL at start names its address and the cause.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate_store::Page;

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// How long the writers write before the kill.
const WRITING: Duration = Duration::from_millis(1500);

/// One HTTP/1.1 request; the status, or `None` when there was no complete answer (the
/// server died): not acknowledged.
fn try_post(addr: &str, path: &str, token: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Starts `scopegate serve` on `url`; its address and the demo owner's token (when it
/// seeded the demo organization).
#[allow(
    clippy::zombie_processes,
    reason = "the child is returned to the caller, which kills and waits for it"
)]
fn start(url: &str) -> (Child, String, Option<String>) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            url,
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut owner = None;
    loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["listening", "on", url] = words.as_slice() {
            return (child, url.trim_start_matches("http://").to_string(), owner);
        }
        if let ["owner", _, token] = words.as_slice() {
            owner = Some(token.to_string());
        }
    }
}

/// Writes teams from 4 threads, kills the server with SIGKILL mid-stream, restarts it,
/// and compares the acknowledged teams with the stored ones and the audit log.
fn kill_during_writes(url: &str) {
    let (mut child, addr, owner) = start(url);
    let owner = owner.expect("the demo owner's token");
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (addr, owner) = (addr.clone(), owner.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let slug = format!("crash-{w}-{i}");
                    let body = format!(r#"{{"slug": "{slug}"}}"#);
                    match try_post(&addr, "/api/0/organizations/demo/teams/", &owner, &body) {
                        Some(201) => {
                            acknowledged.lock().unwrap().insert(slug);
                        }
                        Some(status) => panic!("{slug}: {status}"),
                        None => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(WRITING);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 4, "too few writes before the kill");

    // Restart on the same database: it serves again.
    let (mut child, addr, _) = start(url);
    let status = try_post(
        &addr,
        "/api/0/organizations/demo/teams/",
        &owner,
        r#"{"slug": "after"}"#,
    );
    assert_eq!(status, Some(201));
    child.kill().unwrap();
    child.wait().unwrap();

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = scopegate_store::connect(url).await.unwrap();
        let org = store.org_by_slug("demo").await.unwrap();
        let page = Page {
            offset: 0,
            limit: 100_000,
        };
        let stored: BTreeSet<String> = store
            .teams(org.id, page)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.slug)
            .filter(|s| s.starts_with("crash-"))
            .collect();
        let missing: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
        // At most the writes in flight at the kill are stored without an answer.
        assert!(stored.len() <= acknowledged.len() + 4);
        let audited: BTreeSet<String> = store
            .audit_log(org.id, page)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event == "team.create")
            .filter_map(|e| e.data["slug"].as_str().map(str::to_string))
            .filter(|s| s.starts_with("crash-"))
            .collect();
        assert_eq!(
            audited, stored,
            "every stored team has its audit entry, and only they"
        );
    });
}

#[test]
fn kill_9_during_writes_loses_no_acknowledged_write_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    kill_during_writes(&url);
}

#[test]
fn kill_9_during_writes_loses_no_acknowledged_write_postgres() {
    let Ok(base) = std::env::var("SCOPEGATE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SCOPEGATE_TEST_DATABASE_URL unset");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt
        .block_on(scopegate_store::testing::fresh_postgres_database(&base))
        .unwrap();
    kill_during_writes(&url);
    rt.block_on(scopegate_store::testing::drop_postgres_database(&url))
        .unwrap();
}

/// Finding 9: starting against an unreachable PostgreSQL says where and why, not "pool
/// timed out".
#[test]
fn unreachable_postgres_at_start_names_address_and_cause() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://scopegate:secret@127.0.0.1:1/nothing",
        ])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1/nothing"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
}
