//! `serve`: health, home page, shutdown, a database that goes away, the default database.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

backends!(serve_health_home_and_clean_shutdown);

async fn serve_health_home_and_clean_shutdown(env: Env) {
    let server = Server::start(&env, &[]);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("/accounts/login/") || html.contains("&#x2f;accounts&#x2f;login&#x2f;"),
        "{html}"
    );
    let r = client
        .get(format!("{}/no/such/page", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let log = server.log.clone();
    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; log: {}",
        log.lock().unwrap()
    );
    assert!(log.lock().unwrap().contains("SIGTERM received"));
}

/// `/health` reports 503 while the database is down, and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_postgres_is_down() {
    let pg = oauth_toolkit_testing::PgServer::start().unwrap();
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        url: pg.fresh_database_url().unwrap(),
        _sqlite_dir: None,
    };
    let server = Server::start(&env, &[]);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(pg); // stops the PostgreSQL server
    let r = client
        .get(format!("{}/health", server.base))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "unavailable"
    );
    let _ = server.terminate();
}

/// The README's first command works as written: `serve` on the default embedded SQLite in
/// the working directory, creating the database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_defaults_to_sqlite_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 256];
    while !seen.contains("listening on") && Instant::now() < deadline {
        let n = err.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("listening on http://127.0.0.1:"), "{seen}");
    assert!(seen.contains("database: sqlite"), "{seen}");
    assert!(Path::new(&dir.path().join("oauth-toolkit.sqlite3")).exists());
}
