//! Helpers the benches share (`mod common;` in each): child processes that log their
//! address, the provider's CLI, the example binary, and a closed-loop load driver.
#![allow(dead_code)] // each bench uses a subset

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawn `cmd` and wait for its "listening on http://…" log line.
pub fn spawn_listening(mut cmd: Command) -> (Proc, String) {
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

/// The release binary with no inherited settings, on `url`, in `dir`.
pub fn provider_cmd(url: &str, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir).env("DATABASE_URL", url);
    c
}

pub fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `createapplication … --json` → (client_id, client_secret).
pub fn create_application(url: &str, dir: &Path, args: &[&str]) -> (String, String) {
    let mut c = provider_cmd(url, dir);
    c.arg("createapplication").args(args).arg("--json");
    let app: serde_json::Value = serde_json::from_str(run_ok(c).trim()).expect("json");
    (
        app["client_id"].as_str().expect("id").to_string(),
        app["client_secret"].as_str().expect("secret").to_string(),
    )
}

pub fn create_user(url: &str, dir: &Path, name: &str, password: &str) {
    let mut c = provider_cmd(url, dir);
    c.args(["createuser", name, "--password", password]);
    run_ok(c);
}

/// `protected-api`, built in this bench's profile (release).
pub fn example_binary() -> PathBuf {
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
    // The store as this bench has it (`load` needs `debug-stats`): no second build of it.
    if cfg!(feature = "debug-stats") {
        cmd.args(["--features", "oauth-toolkit-store/stats"]);
    }
    assert!(
        cmd.status().expect("cargo build").success(),
        "cannot build the example"
    );
    dir.join("protected-api")
}

/// `protected-api` introspecting at `provider_base` with the given resource-server
/// credentials (remote validation, the example's cache settings).
pub fn spawn_example(
    example: &Path,
    dir: &Path,
    provider_base: &str,
    creds: &(String, String),
) -> (Proc, String) {
    let mut c = Command::new(example);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env("PROTECTED_API_BIND", "127.0.0.1:0")
        .env(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            format!("{provider_base}/o/introspect/"),
        )
        .env(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS",
            format!(r#"["{}", "{}"]"#, creds.0, creds.1),
        );
    spawn_listening(c)
}

/// Throughput and latency of one scenario.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Successful operations per second.
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
    /// Operations attempted in the measured window (successes and errors).
    pub ops: usize,
}

/// A closed loop: `concurrency` workers, each with its own keep-alive client (from
/// `client`), run `op` back to back — first for `warmup` seconds (not counted), then for
/// `secs` or until `max_ops` operations were attempted, whichever comes first. `op` returns whether the
/// operation succeeded; worker `i` gets its index so it can keep per-worker state.
pub async fn drive<C, F, Fut>(
    concurrency: usize,
    warmup: f64,
    secs: f64,
    max_ops: usize,
    client: C,
    op: F,
) -> Stats
where
    C: Fn() -> reqwest::Client,
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let clients: Vec<reqwest::Client> = (0..concurrency).map(|_| client()).collect();
    let budget = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run = |until: Instant, limit: usize| {
        budget.store(0, std::sync::atomic::Ordering::Relaxed);
        let mut tasks = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let (client, op, budget) = (client.clone(), op.clone(), budget.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < until
                    && budget.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < limit
                {
                    let start = Instant::now();
                    if op(client.clone(), i).await {
                        lat.push(start.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            }));
        }
        tasks
    };
    if warmup > 0.0 {
        for t in run(Instant::now() + Duration::from_secs_f64(warmup), max_ops) {
            let _ = t.await;
        }
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in run(started + Duration::from_secs_f64(secs), max_ops) {
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
        ops: all.len() + errors,
    }
}

/// GET `url` (with a Bearer token if given) from `concurrency` clients for `secs`.
pub async fn load(url: &str, token: Option<&str>, concurrency: usize, secs: f64) -> Stats {
    let url = Arc::new(url.to_string());
    let auth = Arc::new(token.map(|t| format!("Bearer {t}")));
    drive(
        concurrency,
        0.5,
        secs,
        usize::MAX,
        reqwest::Client::new,
        move |client, _| {
            let (url, auth) = (url.clone(), auth.clone());
            async move {
                let mut req = client.get(url.as_str());
                if let Some(a) = auth.as_deref() {
                    req = req.header("authorization", a);
                }
                match req.send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        },
    )
    .await
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
