//! A minimal HTTP/1.1 keep-alive client over `std::net` (as `loadgen`'s): one request at a
//! time per connection, the answer's status, `X-Scopegate-Revision` header and body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context as _;

/// How long a client waits for an answer before it counts the request as an error. Writes
/// on a large world took seconds before issue 13; a queue of 32 of them, tens of seconds.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// One answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `X-Scopegate-Revision` header, when present and a number.
    pub revision: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
}

/// A keep-alive connection to one server, reconnecting after an error.
pub struct Client {
    addr: String,
    conn: Option<(TcpStream, BufReader<TcpStream>)>,
}

impl Client {
    /// A client of `addr` (`HOST:PORT`); connects on first use.
    pub fn new(addr: &str) -> Client {
        Client {
            addr: addr.to_string(),
            conn: None,
        }
    }

    /// Sends `method path` with the bearer `token`, optional JSON `body` and extra headers;
    /// reads the answer. On an error the connection is dropped (the next call reconnects).
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Answer> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body);
        let result = self.exchange(head.as_bytes());
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(&mut self, bytes: &[u8]) -> anyhow::Result<Answer> {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr)
                .with_context(|| format!("cannot connect to {}", self.addr))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(READ_TIMEOUT))?;
            let reader = BufReader::new(s.try_clone()?);
            self.conn = Some((s, reader));
        }
        let (w, r) = self.conn.as_mut().context("no connection")?;
        w.write_all(bytes)?;
        read_answer(r)
    }
}

fn read_answer(r: &mut BufReader<TcpStream>) -> anyhow::Result<Answer> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let mut length = 0usize;
    let mut revision = None;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            anyhow::bail!("connection closed");
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().context("bad content-length")?;
            } else if k.eq_ignore_ascii_case("x-scopegate-revision") {
                revision = v.trim().parse().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                anyhow::bail!("chunked answers are not supported");
            }
        }
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    Ok(Answer {
        status,
        revision,
        body,
    })
}
