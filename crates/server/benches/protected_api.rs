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

mod common;

use common::{
    env_or, example_binary, load, ms, provider_cmd, run_ok, spawn_listening, Proc, Stats,
};

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

    let (_example, ex_base) = common::spawn_example(&example, dir.path(), &base, &rs);
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
