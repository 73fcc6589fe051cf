//! The `HEAVY` lock, a tiny blocking HTTP/1.1 client, and checks of a server.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// Serializes the tests that measure latency or load the machine.
pub(crate) static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- A tiny blocking HTTP/1.1 client -------------------------------------------------------

/// `127.0.0.1:PORT` of a server.
pub(crate) fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

pub(crate) fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Raw {
    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parse what a server sent (one response: the requests here say `Connection: close`).
pub(crate) fn parse_response(bytes: &[u8]) -> Option<Raw> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())?;
    Some(Raw {
        status,
        head,
        body: bytes[end + 4..].to_vec(),
    })
}

/// Read until the server closes (a reset after data counts as a close); `Err` on a timeout.
pub(crate) fn read_to_close(s: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return Ok(out)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!(
                    "no answer and no close: {e} (got {} bytes)",
                    out.len()
                ))
            }
        }
    }
}

/// Send one whole request on a fresh connection and read the answer.
pub(crate) fn exchange(addr: &str, request: &[u8]) -> Result<Raw, String> {
    let mut s = connect(addr);
    // The server may answer (413, 400) and close before it read everything: not an error.
    let _ = s.write_all(request);
    let bytes = read_to_close(&mut s)?;
    parse_response(&bytes).ok_or_else(|| {
        format!(
            "closed without a response (got {:?})",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )
    })
}

pub(crate) fn request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// A client_credentials token request, as raw bytes.
pub(crate) fn client_credentials_request(id: &str, secret: &str) -> Vec<u8> {
    request(
        "POST",
        "/o/token/",
        &[
            ("Authorization", &basic(id, secret)),
            ("Content-Type", FORM),
        ],
        b"grant_type=client_credentials",
    )
}

pub(crate) fn assert_token(r: &Raw) {
    assert_eq!(r.status, 200, "{} {}", r.head, r.body_text());
    assert!(
        r.body_text().contains("\"access_token\""),
        "{}",
        r.body_text()
    );
}

pub(crate) fn assert_healthy(server: &Server) {
    let r = exchange(&addr(server), &request("GET", "/health", &[], b"")).unwrap();
    assert_eq!(r.status, 200, "{}", r.body_text());
}

/// Poll until `cond` holds (bounded).
pub(crate) fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the server has closed `s`, without blocking (`false`: still open and silent);
/// panics if the server sent data.
pub(crate) fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1024];
    let closed = match s.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!(
            "unexpected data on an idle connection: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    s.set_nonblocking(false).unwrap();
    closed
}

pub(crate) fn sigterm(server: &Server) {
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM failed");
}

pub(crate) fn log_of(server: &Server) -> String {
    server.log.lock().unwrap().clone()
}

pub(crate) fn backend(env: &Env) -> &'static str {
    if env.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    }
}

pub(crate) fn log_tail(server: &Server) -> String {
    let log = log_of(server);
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
