//! The staff admin at scale: every admin list page (and an access token's detail page) of
//! the release server (`serve`) on a SQLite database of `BENCH_ROWS` (1,000,000) access
//! tokens, against the target "p99 under 200 ms".
//!
//! 1. Seeding: a temp database migrated by the provider (`oauth-toolkit migrate`), a staff
//!    user made with the CLI (`createuser admin --password-stdin --staff`) and a signing key
//!    (`createsigningkey`); then, directly through rusqlite in one transaction of prepared
//!    INSERTs, 1,000 users, 100 applications, `BENCH_ROWS` access tokens (spread over users
//!    and applications, one in ten without a user as client_credentials tokens are; ids in
//!    issue order, the older half expired, the newer half live for at least two more hours),
//!    `BENCH_ROWS`/5 refresh tokens (half revoked), `BENCH_ROWS`/10 grants, `BENCH_ROWS`/10
//!    ID tokens and 1,000 device grants; then `ANALYZE`. The time each step took.
//! 2. Pages: sign in as the staff user through the real login form (CSRF token and cookie),
//!    then for each page `BENCH_REQUESTS` (200) GETs one after the other on one keep-alive
//!    connection, after 10 warm-up requests. Every answer must be a 200 holding a table row
//!    (the detail page: its fields). p50 / p99 / max and PASS/FAIL against the 200 ms p99.
//! 3. Baseline, same run: the bare statements the store runs for the access token first
//!    page, the deep page (`before=` the middle id) and the search by user, prepared once and
//!    stepped through rusqlite (every column read) on a read-only connection to the same
//!    file, the same number of times after the same warm-up; their p50 / p99 and the ratio
//!    page ÷ bare statement.
//! 4. `EXPLAIN QUERY PLAN` of the statements each page makes the store run (copied from
//!    `crates/store/src/sql/admin/pages.rs` and the point reads it uses), with the values the
//!    page binds; a `SCAN` of a big table (access/refresh tokens, grants, ID tokens) under a
//!    filter, or a temp B-tree sort, is flagged, since its cost grows with the table.
//!
//! Run: `cargo bench -p oauth-toolkit --bench admin_pages` (SQLite only; it builds and uses
//! the release binary). `BENCH_ROWS=N` changes the number of access tokens (the other token
//! tables scale with it), `BENCH_REQUESTS=N` the requests per page. The full size takes a few
//! minutes and about 1 GB of temporary disk.

#[path = "../common/mod.rs"]
mod common;

mod pages;
mod plans;
mod seed;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{env_or, provider_cmd, run_ok, spawn_listening};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use pages::{list_stmt, login, measure, pages, stmt, APP_BY_ID, USER_BY_ID};
use plans::{bare, plan};
use seed::seed;

pub(crate) const ADMIN: &str = "admin";
pub(crate) const ADMIN_PASSWORD: &str = "admin-bench-password-42";
pub(crate) const WARMUP: usize = 10;
const TARGET: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timing {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn timing(mut lat: Vec<Duration>) -> Timing {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Timing {
        p50: pct(0.50),
        p99: pct(0.99),
        max: lat.last().copied().unwrap_or_default(),
    }
}

fn msf(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let n: i64 = env_or("BENCH_ROWS", 1_000_000);
    let reps: usize = env_or("BENCH_REQUESTS", 200).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (dir, url) = oauth_toolkit_testing::fresh_sqlite_url();
    let path = dir.path().join("db.sqlite3");
    println!(
        "admin pages benchmark: SQLite, {n} access tokens, {reps} requests per page after \
         {WARMUP} warm-up, one keep-alive connection; target p99 < {} ms",
        TARGET.as_millis()
    );

    // 1. Seeding.
    println!("seeding {}", path.display());
    let cli_start = Instant::now();
    let mut c = provider_cmd(&url, dir.path());
    c.arg("migrate");
    run_ok(c);
    let mut c = provider_cmd(&url, dir.path());
    c.args(["createuser", ADMIN, "--password-stdin", "--staff"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("createuser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("createuser");
    assert!(
        out.status.success(),
        "createuser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = provider_cmd(&url, dir.path());
    c.args(["createsigningkey", "--json"]);
    run_ok(c);
    println!(
        "  {:<34} {:>9}       {:>7.2} s",
        "CLI: migrate, createuser, key",
        "",
        cli_start.elapsed().as_secs_f64()
    );
    let seeded = seed(&path, n);
    let pages = pages(&seeded);

    // 2. The pages, on the release server.
    let mut cmd = provider_cmd(&url, dir.path());
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
    let (server, base) = spawn_listening(cmd);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let results: Vec<Result<Timing, String>> = rt.block_on(async {
        let cookie = format!("sessionid={}", login(&http, &base).await);
        let mut out = Vec::new();
        for p in &pages {
            out.push(measure(&http, &base, &cookie, p, reps).await);
        }
        out
    });
    drop(server);

    // 3 and 4: bare statements and plans on a read-only connection to the same file.
    let ro = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("read-only connection");
    let plans: Vec<Vec<(Vec<String>, Vec<String>)>> = pages
        .iter()
        .map(|p| p.statements.iter().map(|s| plan(&ro, s)).collect())
        .collect();

    println!();
    println!(
        "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
        "page", "path", "p50 ms", "p99 ms", "max ms", "<200ms", "plan"
    );
    println!(
        "|{:-<36}|{:-<60}|{:->11}|{:->11}|{:->11}|{:-<8}|{:-<7}|",
        "", "", "", "", "", "", ""
    );
    let mut failed = Vec::new();
    for ((p, r), pl) in pages.iter().zip(&results).zip(&plans) {
        let plan_ok = pl.iter().all(|(_, problems)| problems.is_empty());
        match r {
            Ok(t) => {
                let pass = t.p99 < TARGET;
                if !pass {
                    failed.push(p.label);
                }
                println!(
                    "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
                    p.label,
                    p.path,
                    msf(t.p50),
                    msf(t.p99),
                    msf(t.max),
                    if pass { "PASS" } else { "FAIL" },
                    if plan_ok { "ok" } else { "FLAG" },
                );
            }
            Err(e) => {
                failed.push(p.label);
                println!(
                    "| {:<34} | {:<58} | {:>9} | {:>9} | {:>9} | {:<6} | {:<5} |",
                    p.label,
                    p.path,
                    "-",
                    "-",
                    "-",
                    "ERROR",
                    if plan_ok { "ok" } else { "FLAG" },
                );
                println!("    {e}");
            }
        }
    }

    // 3. Baseline.
    println!();
    println!(
        "baseline: the bare statement through rusqlite (read-only connection, prepared once, \
         every column read), {reps} runs after {WARMUP}"
    );
    println!(
        "| {:<34} | {:<86} | {:>4} | {:>9} | {:>9} | {:>11} | {:>11} |",
        "page", "bare statement", "rows", "p50 ms", "p99 ms", "p50 ours÷", "p99 ours÷"
    );
    println!(
        "|{:-<36}|{:-<88}|{:->6}|{:->11}|{:->11}|{:->13}|{:->13}|",
        "", "", "", "", "", "", ""
    );
    let at = "oauth2_provider_accesstoken";
    let baselines = [
        (0usize, list_stmt(at, &[], vec![])),
        (
            1,
            list_stmt(at, &["id < $1"], vec![Value::Integer(seeded.middle_id)]),
        ),
        (
            2,
            list_stmt(at, &["user_id = $1"], vec![Value::Integer(seeded.user_id)]),
        ),
    ];
    for (i, s) in &baselines {
        let (b, rows) = bare(&ro, s, reps);
        let ratio = |ours: Duration, bare: Duration| match results[*i] {
            Ok(_) => format!("{:.1}", ours.as_secs_f64() / bare.as_secs_f64().max(1e-9)),
            Err(_) => "-".into(),
        };
        let ours = results[*i].clone().unwrap_or_default();
        println!(
            "| {:<34} | {:<86} | {:>4} | {:>9} | {:>9} | {:>11} | {:>11} |",
            pages[*i].label,
            s.sql,
            rows,
            msf(b.p50),
            msf(b.p99),
            ratio(ours.p50, b.p50),
            ratio(ours.p99, b.p99),
        );
    }

    // 4. Plans.
    println!();
    println!("query plans (EXPLAIN QUERY PLAN, with the values each page binds):");
    let mut flagged = 0;
    for (p, pl) in pages.iter().zip(&plans) {
        println!("- {} ({})", p.label, p.path);
        for (s, (lines, problems)) in p.statements.iter().zip(pl) {
            let args: Vec<String> = s
                .args
                .iter()
                .map(|a| match a {
                    Value::Integer(v) => v.to_string(),
                    Value::Text(t) => format!("'{t}'"),
                    other => format!("{other:?}"),
                })
                .collect();
            println!("    {}   [{}]", s.sql, args.join(", "));
            for l in lines {
                println!("      {l}");
            }
            for pr in problems {
                flagged += 1;
                println!("      !! FLAG: {pr}");
            }
        }
    }
    println!("- every list page, per distinct user and application on it (names of the rows):");
    for sql in [USER_BY_ID, APP_BY_ID] {
        let s = stmt(sql, vec![Value::Integer(seeded.user_id)], false);
        let (lines, problems) = plan(&ro, &s);
        println!("    {sql}");
        for l in lines {
            println!("      {l}");
        }
        for pr in problems {
            flagged += 1;
            println!("      !! FLAG: {pr}");
        }
    }
    drop(ro);

    println!();
    println!(
        "{} of {} pages under {} ms at p99 on {} access tokens; {} plan flag(s){}",
        pages.len() - failed.len(),
        pages.len(),
        TARGET.as_millis(),
        seeded.rows,
        flagged,
        if failed.is_empty() {
            String::new()
        } else {
            format!("; missed: {}", failed.join(", "))
        }
    );
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "some pages did not answer as expected");
    drop(dir);
}
