//! `cleartokens` over 1,000,000 expired access tokens: wall time and the command's peak
//! memory, beside a baseline measured in the same run on an identical table — one unbatched
//! `DELETE … WHERE expires < now` issued directly — and the ratio of the two.
//!
//! Run: `cargo bench -p oauth-toolkit --bench cleartokens` (SQLite, and PostgreSQL when the
//! system binaries are there; `BENCH_ROWS=N` to change the size).

use std::process::Command;
use std::time::{Duration, Instant};

use oauth_toolkit_store::{Database, OpenOptions};
use sqlx::Connection;

fn rows() -> i64 {
    std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// `BENCH_BATCH` (default 10000, DOT's default batch size).
fn batch_size() -> u64 {
    std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
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

/// Run the real command; its peak memory is the `VmHWM` it logs itself when it finishes
/// (a parent's `wait4` figure would include the parent's own pages copied at fork).
fn cleartokens(url: &str) -> (Duration, f64) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"))
        .arg("cleartokens")
        .env("DATABASE_URL", url)
        .env("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "86400")
        .env(
            "OAUTH_TOOLKIT_CLEAR_EXPIRED_TOKENS_BATCH_SIZE",
            batch_size().to_string(),
        )
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cleartokens");
    let took = start.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cleartokens failed: {log}");
    let kib: f64 = log
        .split("peak_rss_kib=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("cleartokens logs its peak memory");
    (took, kib / 1024.0)
}

async fn count(url: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM oauth2_provider_accesstoken";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .expect("count")
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .expect("count")
    }
}

async fn run(backend: &str, fresh_url: impl Fn() -> String) {
    let n = rows();
    let ours_url = fresh_url();
    let base_url = fresh_url();
    seed(&ours_url, n).await;
    seed(&base_url, n).await;
    let base = baseline(&base_url).await;
    let (ours, peak) = cleartokens(&ours_url);
    let left = count(&ours_url).await;
    assert_eq!(left, 0, "cleartokens left {left} expired tokens");
    println!(
        "{backend:<9} rows={n:>8}  cleartokens={:>7.2}s ({:>8.0} rows/s)  peak RSS={peak:>6.1} MiB  \
         baseline single DELETE={:>7.2}s  ratio ours/baseline time={:.2}",
        ours.as_secs_f64(),
        n as f64 / ours.as_secs_f64(),
        base.as_secs_f64(),
        ours.as_secs_f64() / base.as_secs_f64(),
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "cleartokens benchmark (batch size {}; the baseline deletes everything in one statement)",
        batch_size()
    );
    let dirs = std::sync::Mutex::new(Vec::new());
    rt.block_on(run("sqlite", || {
        let (dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
        dirs.lock().unwrap().push(dir);
        url
    }));
    match oauth_toolkit_testing::PgServer::start() {
        Ok(pg) => rt.block_on(run("postgres", || {
            pg.fresh_database_url().expect("database")
        })),
        Err(e) => println!("postgres  skipped: {e}"),
    }
}
