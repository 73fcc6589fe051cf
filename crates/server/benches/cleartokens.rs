//! `cleartokens` over 1,000,000 expired access tokens, in two parts, each in the same run:
//!
//! 1. Time and memory: the command's wall time and peak memory on a database of `BENCH_ROWS`
//!    expired tokens, beside a baseline on an identical table — one unbatched
//!    `DELETE … WHERE expires < now` issued directly — and the ratio of the two.
//! 2. Token issuance beside it: the release server (`serve`) on a third such database,
//!    `BENCH_CONCURRENCY` (32) closed-loop keep-alive clients asking for client_credentials
//!    tokens (HTTP Basic, hashed secret) — first for `BENCH_SECONDS` (5) without cleanup (the
//!    baseline), then for as long as `oauth-toolkit cleartokens`, started as a separate
//!    process on the same database, runs (at most `BENCH_MAX_CLEANUP_SECONDS`, 900). p50, p99,
//!    max latency, ops/s and errors of both windows, and p99 during ÷ p99 without. Afterwards
//!    the expired rows must be gone and every token issued must still be there.
//!
//! Run: `cargo bench -p oauth-toolkit --bench cleartokens` (SQLite, and PostgreSQL when the
//! system binaries are there; `BENCH_ROWS=N` to change the size, `BENCH_BATCH=N` the batch
//! size, `BENCH_BATCH_INTERVAL=S` the pause between batches, `BENCH_BACKENDS=sqlite` to skip
//! PostgreSQL).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{create_application, env_or, ms, provider_cmd, spawn_listening};
use oauth_toolkit_store::{Database, OpenOptions};
use sqlx::Connection;

fn rows() -> i64 {
    env_or("BENCH_ROWS", 1_000_000)
}

/// `BENCH_BATCH` (default 10000, DOT's default batch size).
fn batch_size() -> u64 {
    env_or("BENCH_BATCH", 10_000)
}

/// `BENCH_BATCH_INTERVAL` (seconds; unset: the setting's default).
fn batch_interval() -> Option<String> {
    std::env::var("BENCH_BATCH_INTERVAL").ok()
}

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

async fn seed(url: &str, n: i64) {
    let db = Database::open(url, &OpenOptions::default())
        .await
        .expect("open");
    db.migrate().await.expect("migrate");
    let expired = now_micros() - 3_600_000_000;
    let app = "INSERT INTO oauth2_provider_application (client_id, client_type, \
               authorization_grant_type, created, updated) \
               VALUES ('bench', 'confidential', 'client-credentials', 0, 0)";
    match &db {
        Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            sqlx::query(app).execute(&mut c).await.expect("app");
            sqlx::query(
                "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < $1) \
                 INSERT INTO oauth2_provider_accesstoken (token, token_checksum, application_id, \
                 expires, scope, created, updated) \
                 SELECT '', 'bulk-' || x, 1, $2, 'read', $2, $2 FROM seq",
            )
            .bind(n)
            .bind(expired)
            .execute(&mut c)
            .await
            .expect("seed");
        }
        Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query(app).execute(&mut c).await.expect("app");
            sqlx::query(
                "INSERT INTO oauth2_provider_accesstoken (token, token_checksum, application_id, \
                 expires, scope, created, updated) \
                 SELECT '', 'bulk-' || x, (SELECT id FROM oauth2_provider_application), $2, 'read', $2, $2 \
                 FROM generate_series(1, $1) AS x",
            )
            .bind(n)
            .bind(expired)
            .execute(&mut c)
            .await
            .expect("seed");
            sqlx::query("VACUUM ANALYZE oauth2_provider_accesstoken")
                .execute(&mut c)
                .await
                .expect("analyze");
        }
    }
    db.close().await;
}

async fn baseline(url: &str) -> Duration {
    let sql = "DELETE FROM oauth2_provider_accesstoken WHERE expires < $1";
    let start = Instant::now();
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query(sql)
            .bind(now_micros())
            .execute(&mut c)
            .await
            .expect("delete");
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query(sql)
            .bind(now_micros())
            .execute(&mut c)
            .await
            .expect("delete");
    }
    start.elapsed()
}

/// The real command, with the bench's batch settings, its log going to `log`.
fn cleartokens_cmd(url: &str, dir: &Path, log: &Path) -> Command {
    let mut c = provider_cmd(url, dir);
    c.arg("cleartokens")
        .env("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "86400")
        .env(
            "OAUTH_TOOLKIT_CLEAR_EXPIRED_TOKENS_BATCH_SIZE",
            batch_size().to_string(),
        )
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"));
    if let Some(i) = batch_interval() {
        c.env("OAUTH_TOOLKIT_CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL", i);
    }
    c
}

/// Its peak memory is the `VmHWM` it logs itself when it finishes (a parent's `wait4`
/// figure would include the parent's own pages copied at fork).
fn peak_mib(log: &Path) -> f64 {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let kib: f64 = log
        .split("peak_rss_kib=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cleartokens logs its peak memory: {log}"));
    kib / 1024.0
}

/// Run the command alone: (wall time, peak MiB).
fn cleartokens(url: &str) -> (Duration, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("cleartokens.log");
    let start = Instant::now();
    let status = cleartokens_cmd(url, dir.path(), &log)
        .status()
        .expect("run cleartokens");
    let took = start.elapsed();
    assert!(
        status.success(),
        "cleartokens failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    (took, peak_mib(&log))
}

/// Tokens in the table: (expired as of now, all).
async fn count(url: &str) -> (i64, i64) {
    let expired = "SELECT COUNT(*) FROM oauth2_provider_accesstoken WHERE expires < $1";
    let all = "SELECT COUNT(*) FROM oauth2_provider_accesstoken";
    let now = now_micros();
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        let e = sqlx::query_scalar(expired)
            .bind(now)
            .fetch_one(&mut c)
            .await;
        let a = sqlx::query_scalar(all).fetch_one(&mut c).await;
        (e.expect("count"), a.expect("count"))
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        let e = sqlx::query_scalar(expired)
            .bind(now)
            .fetch_one(&mut c)
            .await;
        let a = sqlx::query_scalar(all).fetch_one(&mut c).await;
        (e.expect("count"), a.expect("count"))
    }
}

/// One window of token requests.
#[derive(Debug, Default)]
struct Window {
    secs: f64,
    ok: usize,
    errors: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Window {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

/// `concurrency` closed-loop keep-alive clients POST client_credentials token requests to
/// `url` until `stop` is set or `until`, whichever comes first. A success is a 200 with an
/// `access_token`.
async fn issue(
    url: &str,
    creds: &(String, String),
    concurrency: usize,
    until: Instant,
    stop: Arc<AtomicBool>,
) -> Window {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = reqwest::Client::new();
        let (url, creds, stop) = (url.to_string(), creds.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                let start = Instant::now();
                let r = client
                    .post(url.as_str())
                    .basic_auth(&creds.0, Some(&creds.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status() == 200 => r
                        .json::<serde_json::Value>()
                        .await
                        .is_ok_and(|v| v["access_token"].is_string()),
                    _ => false,
                };
                if ok {
                    lat.push(start.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Window {
        secs,
        ok: all.len(),
        errors,
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
    }
}

/// Issuance without and during cleanup on `url` (seeded): the two windows, the command's
/// wall time and peak memory beside the load, and what is left in the table.
struct Beside {
    alone: Window,
    during: Window,
    took: Duration,
    peak: f64,
    issued: usize,
    errors: usize,
    left: (i64, i64),
}

async fn beside_load(url: &str) -> Beside {
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let secs: f64 = env_or("BENCH_SECONDS", 5.0);
    let max_cleanup: f64 = env_or("BENCH_MAX_CLEANUP_SECONDS", 900.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cc = create_application(url, d, &["confidential", "client-credentials"]);
    let mut c = provider_cmd(url, d);
    c.args(["serve", "--bind", "127.0.0.1:0"]);
    let (server, base) = spawn_listening(c);
    let token_url = format!("{base}/o/token/");
    let never = Arc::new(AtomicBool::new(false));

    // Warm-up (connections, caches), then the baseline window.
    let warm = issue(
        &token_url,
        &cc,
        concurrency,
        Instant::now() + Duration::from_millis(500),
        never.clone(),
    )
    .await;
    let alone = issue(
        &token_url,
        &cc,
        concurrency,
        Instant::now() + Duration::from_secs_f64(secs),
        never,
    )
    .await;

    // The same load for as long as cleartokens runs.
    let log = d.join("cleartokens.log");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(max_cleanup);
    let mut child = cleartokens_cmd(url, d, &log)
        .spawn()
        .expect("spawn cleartokens");
    let load = tokio::spawn({
        let (token_url, cc, stop) = (token_url.clone(), cc.clone(), stop.clone());
        async move { issue(&token_url, &cc, concurrency, deadline, stop).await }
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cleartokens still running after {max_cleanup} s (BENCH_MAX_CLEANUP_SECONDS)");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = load.await.expect("load");
    assert!(
        status.success(),
        "cleartokens failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let peak = peak_mib(&log);
    drop(server);
    let left = count(url).await;
    Beside {
        issued: warm.ok + alone.ok + during.ok,
        errors: warm.errors + alone.errors + during.errors,
        alone,
        during,
        took,
        peak,
        left,
    }
}

fn window_row(backend: &str, n: i64, phase: &str, w: &Window) {
    println!(
        "| {backend:<8} | {n:>9} | {:>6} | {phase:<22} | {:>7.2} s | {:>7.0} | {:>9} | {:>10} | {:>10} | {:>6} |",
        batch_size(),
        w.secs,
        w.rps(),
        ms(w.p50),
        ms(w.p99),
        ms(w.max),
        w.errors,
    );
}

async fn run(backend: &str, fresh_url: impl Fn() -> String) -> bool {
    let n = rows();
    let ours_url = fresh_url();
    let base_url = fresh_url();
    let load_url = fresh_url();
    seed(&ours_url, n).await;
    seed(&base_url, n).await;
    seed(&load_url, n).await;

    // 1. Time and memory, nothing else running.
    let base = baseline(&base_url).await;
    let (ours, peak) = cleartokens(&ours_url);
    let (_, left) = count(&ours_url).await;
    assert_eq!(left, 0, "cleartokens left {left} expired tokens");
    println!(
        "{backend:<9} rows={n:>8}  cleartokens={:>7.2}s ({:>8.0} rows/s)  peak RSS={peak:>6.1} MiB  \
         baseline single DELETE={:>7.2}s  ratio ours/baseline time={:.2}",
        ours.as_secs_f64(),
        n as f64 / ours.as_secs_f64(),
        base.as_secs_f64(),
        ours.as_secs_f64() / base.as_secs_f64(),
    );

    // 2. Token issuance beside it.
    let b = beside_load(&load_url).await;
    println!(
        "| backend  |      rows |  batch | issuance               |  window  |   ops/s |       p50 |        p99 |        max | errors |"
    );
    println!(
        "|----------|----------:|-------:|------------------------|---------:|--------:|----------:|-----------:|-----------:|-------:|"
    );
    window_row(backend, n, "without cleanup", &b.alone);
    window_row(backend, n, "during cleartokens", &b.during);
    let (expired_left, all_left) = b.left;
    let ok = b.errors == 0 && expired_left == 0 && all_left == b.issued as i64;
    println!(
        "{backend:<9} p99 during ÷ p99 without = {:.2}; max during ÷ p99 without = {:.2}; \
         cleartokens beside the load {:.2} s (alone {:.2} s), peak RSS {:.1} MiB; \
         afterwards {expired_left} expired rows, {all_left} rows for {} tokens issued \
         ({} errors): {}",
        b.during.p99.as_secs_f64() / b.alone.p99.as_secs_f64(),
        b.during.max.as_secs_f64() / b.alone.p99.as_secs_f64(),
        b.took.as_secs_f64(),
        ours.as_secs_f64(),
        b.peak,
        b.issued,
        b.errors,
        if ok { "ok" } else { "FAILED" },
    );
    ok
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backends: String = env_or("BENCH_BACKENDS", "sqlite,postgres".to_string());
    println!(
        "cleartokens benchmark (batch size {}, batch interval {}; the baseline deletes everything \
         in one statement)",
        batch_size(),
        batch_interval().unwrap_or_else(|| "default".into()),
    );
    let mut ok = true;
    let dirs = std::sync::Mutex::new(Vec::new());
    if backends.contains("sqlite") {
        ok &= rt.block_on(run("sqlite", || {
            let (dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
            dirs.lock().expect("dirs").push(dir);
            url
        }));
    }
    if backends.contains("postgres") {
        match oauth_toolkit_testing::PgServer::start() {
            Ok(pg) => {
                ok &= rt.block_on(run("postgres", || {
                    pg.fresh_database_url().expect("database")
                }))
            }
            Err(e) => println!("postgres  skipped: {e}"),
        }
    }
    assert!(ok, "a check failed (see above)");
}
