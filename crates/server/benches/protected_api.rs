//! Bearer validation throughput: `GET /api/hello` protected, beside the same endpoint
//! without protection (`/api/public`) measured in the same run on the same process.
//!
//! - provider, local mode: `oauth-toolkit serve --demo-api` on SQLite (and on PostgreSQL when
//!   the system binaries are there): every request reads the store (no cache, the default);
//! - example, remote mode with cache: `protected-api` introspecting at that provider; after
//!   the first call every request is answered from the cache.
//!
//! Each scenario: `BENCH_CONCURRENCY` (16) clients on keep-alive connections for
//! `BENCH_SECONDS` (3) after a 0.5 s warm-up. Prints requests/s, p50 and p99 latency, and the
//! throughput ratio protected/unprotected of the same process.
//!
//! Run: `cargo bench -p oauth-toolkit --bench protected_api`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawn `cmd` and wait for its "listening on http://…" log line.
fn spawn_listening(mut cmd: Command) -> (Proc, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    let mut child = cmd.spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let url = line[i + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let _ = tx.send(url);
            }
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "did not start: {}",
                log.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
    (Proc(child), base)
}

fn provider_cmd(url: &str, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir).env("DATABASE_URL", url);
    c
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `protected-api`, built in this bench's profile (release).
fn example_binary() -> PathBuf {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_oauth-toolkit"));
    let dir = server.parent().expect("target dir").to_path_buf();
    let target = dir.parent().expect("target").to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "protected-api",
        "--bin",
        "protected-api",
    ])
    .env("CARGO_TARGET_DIR", &target)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    assert!(
        cmd.status().expect("cargo build").success(),
        "cannot build the example"
    );
    dir.join("protected-api")
}

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// `concurrency` clients hammering `url` for `secs` (after a warm-up).
async fn load(url: &str, token: Option<&str>, concurrency: usize, secs: f64) -> Stats {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let auth = token.map(|t| format!("Bearer {t}"));
    let run = |until: Instant| {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, url, auth) = (client.clone(), url.to_string(), auth.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < until {
                    let mut req = client.get(&url);
                    if let Some(a) = &auth {
                        req = req.header("authorization", a);
                    }
                    let start = Instant::now();
                    match req.send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            lat.push(start.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        tasks
    };
    for t in run(Instant::now() + Duration::from_millis(500)) {
        let _ = t.await;
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in run(started + Duration::from_secs_f64(secs)) {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Stats {
        rps: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, s: &Stats, baseline: Option<&Stats>) {
    let ratio = baseline
        .map(|b| format!("{:.2}", s.rps / b.rps))
        .unwrap_or_else(|| "1.00".into());
    println!(
        "| {name:<48} | {:>10.0} | {:>9} | {:>9} | {:>6} | {:>6} |",
        s.rps,
        ms(s.p50),
        ms(s.p99),
        ratio,
        s.errors
    );
}

/// A provider with a user, an application and a token; returns (process, base, token, app).
async fn provider(url: &str, dir: &std::path::Path) -> (Proc, String, String, (String, String)) {
    let mut c = provider_cmd(url, dir);
    c.args(["createuser", "alice", "--password", "alice-pw-123"]);
    run_ok(c);
    let mut c = provider_cmd(url, dir);
    c.args(["createapplication", "confidential", "password", "--json"]);
    let app: serde_json::Value = serde_json::from_str(run_ok(c).trim()).expect("json");
    let mut c = provider_cmd(url, dir);
    c.args([
        "createapplication",
        "confidential",
        "client-credentials",
        "--json",
    ]);
    let rs: serde_json::Value = serde_json::from_str(run_ok(c).trim()).expect("json");
    let mut c = provider_cmd(url, dir);
    c.args(["serve", "--demo-api", "--bind", "127.0.0.1:0"]);
    let (proc_, base) = spawn_listening(c);
    let http = reqwest::Client::new();
    let id = app["client_id"].as_str().expect("id");
    let secret = app["client_secret"].as_str().expect("secret");
    let v: serde_json::Value = http
        .post(format!("{base}/o/token/"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pw-123"),
            ("scope", "read"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let rs_creds = (
        rs["client_id"].as_str().expect("id").to_string(),
        rs["client_secret"].as_str().expect("secret").to_string(),
    );
    (proc_, base, token, rs_creds)
}

async fn bench() {
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 16);
    let secs: f64 = env_or("BENCH_SECONDS", 3.0);
    let example = example_binary();
    println!(
        "protected API benchmark: GET /api/hello (protected) vs /api/public (same handler body, \
         unprotected), {concurrency} concurrent clients, {secs} s per scenario"
    );
    println!(
        "| {:<48} | {:>10} | {:>9} | {:>9} | {:>6} | {:>6} |",
        "scenario", "requests/s", "p50", "p99", "ratio", "errors"
    );
    println!(
        "|{:-<50}|{:->12}|{:->11}|{:->11}|{:->8}|{:->8}|",
        "", "", "", "", "", ""
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let (_sqlite_dir, sqlite_url) = oauth_toolkit_testing::fresh_sqlite_url();
    let (_provider, base, token, rs) = provider(&sqlite_url, dir.path()).await;

    let open = load(&format!("{base}/api/public"), None, concurrency, secs).await;
    row("provider (SQLite): unprotected /api/public", &open, None);
    let local = load(
        &format!("{base}/api/hello"),
        Some(&token),
        concurrency,
        secs,
    )
    .await;
    row("provider (SQLite): local, /api/hello", &local, Some(&open));

    let mut c = Command::new(&example);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir.path())
        .env("PROTECTED_API_BIND", "127.0.0.1:0")
        .env(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            format!("{base}/o/introspect/"),
        )
        .env(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS",
            format!(r#"["{}", "{}"]"#, rs.0, rs.1),
        );
    let (_example, ex_base) = spawn_listening(c);
    let ex_open = load(&format!("{ex_base}/api/public"), None, concurrency, secs).await;
    row("example: unprotected /api/public", &ex_open, None);
    let remote = load(
        &format!("{ex_base}/api/hello"),
        Some(&token),
        concurrency,
        secs,
    )
    .await;
    row(
        "example: remote with cache, /api/hello",
        &remote,
        Some(&ex_open),
    );

    match oauth_toolkit_testing::PgServer::start() {
        Ok(pg) => {
            let url = pg.fresh_database_url().expect("database");
            let pg_dir = tempfile::tempdir().expect("tempdir");
            let (_p, base, token, _) = provider(&url, pg_dir.path()).await;
            let open = load(&format!("{base}/api/public"), None, concurrency, secs).await;
            row(
                "provider (PostgreSQL): unprotected /api/public",
                &open,
                None,
            );
            let local = load(
                &format!("{base}/api/hello"),
                Some(&token),
                concurrency,
                secs,
            )
            .await;
            row(
                "provider (PostgreSQL): local, /api/hello",
                &local,
                Some(&open),
            );
        }
        Err(e) => println!("PostgreSQL skipped: {e}"),
    }
    println!(
        "ratio: requests/s of the protected scenario / the unprotected one of the same process"
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}
