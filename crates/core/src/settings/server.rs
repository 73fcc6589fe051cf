//! Where and how the server runs: its address, public URL, database, secret key, limits and login page.

use serde::{Deserialize, Serialize};

/// Where and how the server runs: its address, public URL, database, secret key, limits and login page. (`Debug` in `display.rs` redacts the secrets.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address `serve` listens on.
    pub bind: String,
    /// Public base URL of the provider (`scheme://host[:port][/path]`); derived from `bind` when unset.
    pub issuer: Option<String>,
    /// Where the OAuth endpoints are mounted (DOT's `o/`).
    pub url_prefix: String,
    /// A directory whose files override the embedded templates of the same name.
    pub template_dir: Option<String>,
    /// The database (`DATABASE_URL` wins); an SQLite file in the working directory by default.
    pub database_url: Option<String>,
    /// SQLite's `PRAGMA synchronous` (PostgreSQL ignores it): `full` (every commit survives
    /// a power loss) or `normal` (commits survive a crash of the process; a power loss may
    /// undo the last ones).
    pub sqlite_synchronous: SqliteSynchronous,
    /// Key for signing/encrypting session cookies; generated and stored in the database when unset.
    pub secret_key: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Most client connections `serve` holds open at once (503 and closed beyond).
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also closes idle keep-alive connections.
    pub header_read_timeout_seconds: u64,
    /// Seconds to read a request's body and answer it (408 beyond).
    pub request_timeout_seconds: u64,
    /// Seconds `serve` lets requests in flight finish after SIGTERM/SIGINT.
    pub shutdown_timeout_seconds: u64,
    /// Where unauthenticated users are sent (Django's `LOGIN_URL`).
    pub login_url: String,
    /// The provider's name in the header and titles of its pages.
    pub provider_name: String,
    /// How `serve` and the commands write log lines: `text` (for people) or `json` (one
    /// object per line, for log shippers).
    pub log_format: LogFormat,
    /// Serve Prometheus metrics at `GET /metrics`.
    pub metrics_enabled: bool,
    /// Serve `/metrics` on this address of its own instead (e.g. `127.0.0.1:9100`), out of
    /// the public listener's reach.
    pub metrics_bind: Option<String>,
    /// The scope a bearer token needs for `GET /health/details` (staff sessions need none).
    pub health_details_scope: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8000".into(),
            issuer: None,
            url_prefix: "/o".into(),
            template_dir: None,
            database_url: None,
            sqlite_synchronous: SqliteSynchronous::Full,
            secret_key: None,
            max_body_bytes: 64 * 1024,
            max_connections: 4096,
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            shutdown_timeout_seconds: 30,
            login_url: "/accounts/login/".into(),
            provider_name: "OAuth Toolkit".into(),
            log_format: LogFormat::Text,
            metrics_enabled: false,
            metrics_bind: None,
            health_details_scope: "health".into(),
        }
    }
}

/// The `log_format` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event (colours only on a terminal).
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`), `spans`.
    Json,
}

/// The `sqlite_synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Sync the write-ahead log on every commit: nothing committed is lost.
    Full,
    /// Sync it at checkpoints only: durable across a crash of the process, not of the machine.
    Normal,
}
