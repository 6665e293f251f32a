//! Operating `scopegate serve` end to end: the real binary, stopped with SIGTERM (the `kill`
//! command) while a request is in flight; its JSON logs, request ids and the separate
//! metrics listener.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::served::wait_exit;

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// One HTTP/1.1 request with extra headers; returns the status, the headers (lowercase
/// names) and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HashMap<String, String>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).unwrap();
    read_response(&mut stream)
}

fn read_response(stream: &mut TcpStream) -> (u16, HashMap<String, String>, String) {
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// The server's address, its metrics address and the demo's tokens by role, from stdout.
fn started(child: &mut Child) -> (String, Option<String>, HashMap<String, String>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tokens = HashMap::new();
    let mut metrics = None;
    loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["metrics", "on", url] => {
                metrics = Some(
                    url.trim_start_matches("http://")
                        .trim_end_matches("/metrics")
                        .to_string(),
                );
            }
            ["listening", "on", url] => {
                let addr = url.trim_start_matches("http://").to_string();
                // `metrics on` follows `listening on`.
                if let Some(Ok(next)) = lines.next() {
                    if let Some(url) = next.strip_prefix("metrics on http://") {
                        metrics = Some(url.trim_end_matches("/metrics").to_string());
                    }
                }
                return (addr, metrics, tokens);
            }
            [role, _, token] if token.starts_with("sgu_") || token.starts_with("sntrys_") => {
                tokens
                    .entry(role.to_string())
                    .or_insert_with(|| token.to_string());
            }
            _ => {}
        }
    }
}

#[test]
fn sigterm_drains_finishes_in_flight_requests_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sd.db").display());
    let log_path = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--log-format",
            "json",
            "--shutdown-grace",
            "60",
            "--shutdown-delay",
            "5",
        ])
        // Everything scopegate, tower-http and sqlx log, debug included: none of it may hold
        // a secret.
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let (addr, metrics, tokens) = started(&mut child);
    let owner = tokens["owner"].clone();
    let bearer = format!("Bearer {owner}");

    // A request id sent is kept and returned; a missing or malformed one is generated.
    let (status, headers, body) = http(
        &addr,
        "GET",
        "/api/0/organizations/demo/",
        &[("Authorization", &bearer), ("x-request-id", "test-req-1")],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-request-id"], "test-req-1");
    let (_, headers, _) = http(&addr, "GET", "/healthz", &[("x-request-id", "a b\tc")], "");
    let generated = headers["x-request-id"].clone();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    // A wrong secret: 401, and it must not be logged either.
    let wrong = "sgu_f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface";
    let (status, _, _) = http(
        &addr,
        "GET",
        "/api/0/organizations/demo/",
        &[("Authorization", &format!("Bearer {wrong}"))],
        "",
    );
    assert_eq!(status, 401);

    // The separate metrics listener serves /metrics (and only it).
    let metrics = metrics.expect("the metrics address was printed");
    let (status, _, text) = http(&metrics, "GET", "/metrics", &[], "");
    assert_eq!(status, 200);
    assert!(text.contains("scopegate_http_requests_total{route=\"/api/0/organizations/{organization_id_or_slug}/\",method=\"GET\",status=\"200\"} 1"), "{text}");
    assert_eq!(http(&metrics, "GET", "/healthz", &[], "").0, 404);

    // A slow request: its head and half its body are sent, then SIGTERM.
    let body = r#"{"name": "Renamed while stopping"}"#;
    let mut slow = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "PUT /api/0/organizations/demo/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: {bearer}\r\nContent-Type: application/json\r\n\
         x-request-id: slow-1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(10);
    slow.write_all(head.as_bytes()).unwrap();
    slow.write_all(first.as_bytes()).unwrap();
    slow.flush().unwrap();
    // Let the server read the head (the request is in flight once its handler waits for
    // the body); a sleep only orders events here, nothing is asserted about time.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // /readyz turns false while the listener still accepts (--shutdown-delay).
    let mut not_ready = false;
    for _ in 0..80 {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                let (status, _, body) = read_response(&mut s);
                if status == 503 {
                    assert!(body.contains("shutting down"), "{body}");
                    not_ready = true;
                    break;
                }
                assert_eq!(status, 200);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(not_ready, "/readyz never turned false after SIGTERM");

    // The in-flight request completes.
    slow.write_all(rest.as_bytes()).unwrap();
    let (status, headers, answer) = read_response(&mut slow);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(headers["x-request-id"], "slow-1");
    assert!(answer.contains("Renamed while stopping"), "{answer}");

    let status = wait_exit(&mut child);
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log_path).unwrap()
    );

    // The logs: JSON lines, one access line per request, no secret anywhere.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    for secret in tokens.values().map(String::as_str).chain([wrong]) {
        assert!(!logs.contains(secret), "a secret is in the logs");
        // Nor its part after the prefix.
        assert!(
            !logs.contains(&secret[secret.len() - 24..]),
            "a secret is in the logs"
        );
    }
    assert!(!logs.contains("\u{1b}["), "no ANSI colour in a file");
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "scopegate::access")
        .collect();
    let line = |id: &str| -> &Value {
        access
            .iter()
            .find(|l| l["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id}: {access:?}"))
    };
    let first = line("test-req-1");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["method"], "GET");
    assert_eq!(
        first["route"],
        "/api/0/organizations/{organization_id_or_slug}/"
    );
    assert_eq!(first["status"], 200);
    assert!(first["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(
        first["caller"].as_str().unwrap().starts_with("user:"),
        "{first}"
    );
    assert_eq!(line(&generated)["route"], "/healthz");
    assert_eq!(line(&generated)["caller"], "-");
    let slow_line = line("slow-1");
    assert_eq!(slow_line["method"], "PUT");
    assert_eq!(slow_line["status"], 200);
    assert!(access
        .iter()
        .any(|l| l["status"] == 401 && l["caller"] == "-"));
    assert!(lines.iter().any(|l| l["message"] == "shut down"), "{logs}");
}
