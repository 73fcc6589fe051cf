//! The load harness (docs/performance.md): the real release binary on loopback with a fresh
//! database, its own users and applications made with the CLI, driven from this process by
//! `BENCH_CONCURRENCY` (32) closed-loop clients for `BENCH_SECONDS` (5) per scenario (at most
//! `BENCH_MAX_OPS` operations, 200000), on SQLite and on PostgreSQL (when the system binaries
//! are there; `BENCH_BACKENDS=sqlite` to skip it). `BENCH_RUNS` (1) runs per scenario; the
//! table shows the run with the median throughput.
//!
//! Beside each scenario, in the same run, a baseline: this bench binary re-executed as a bare
//! axum server (`LOAD_BENCH_BASELINE=<database url>`) on a database of the same schema and
//! kind, whose handlers parse the same form or header, do one INSERT (token) or one SELECT
//! by checksum (introspection, protected GET), or nothing (static JSON), and answer JSON of the
//! same size as ours.
//!
//! Columns: successful operations/s, p50 and p99 latency, errors, database statements per
//! operation (the provider's own count, `serve --debug-stats`), server CPU time per operation
//! (`/proc/<pid>/stat` utime+stime), the server's peak RSS during the scenario (`VmHWM`, reset
//! through `/proc/<pid>/clear_refs` before it), and ours ÷ baseline for throughput and p99.
//!
//! Run: `cargo bench -p oauth-toolkit --bench load --features debug-stats` (the statement
//! counter behind `serve --debug-stats`).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine;
use common::{
    create_application, create_user, drive, env_or, ms, provider_cmd, spawn_listening, Stats,
};
use sha2::Digest;

const PASSWORD: &str = "alice-pw-123";
const REDIRECT_URI: &str = "http://127.0.0.1:8080/cb";

fn main() {
    if let Ok(url) = std::env::var("LOAD_BENCH_BASELINE") {
        baseline::main(&url);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

struct Settings {
    concurrency: usize,
    secs: f64,
    max_ops: usize,
    runs: usize,
}

/// Counters of a server process read around a scenario.
struct Probe {
    pid: u32,
    stats_url: Option<String>,
}

struct Snapshot {
    statements: Option<u64>,
    cpu_ticks: u64,
}

impl Probe {
    async fn snapshot(&self) -> Snapshot {
        let statements = match &self.stats_url {
            None => None,
            Some(url) => {
                let v: serde_json::Value = reqwest::get(url)
                    .await
                    .expect("stats")
                    .json()
                    .await
                    .expect("stats json");
                v["db_statements"].as_u64()
            }
        };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime is the 14th field.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Snapshot {
            statements,
            cpu_ticks: ticks(11) + ticks(12),
        }
    }

    /// Reset the peak RSS (Linux ≥ 4.0).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    fn peak_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    }
}

struct Measured {
    stats: Stats,
    statements_per_op: Option<f64>,
    cpu_ms_per_op: f64,
    peak_mib: f64,
}

/// Run `scenario` `runs` times against the server behind `probe`; keep the median run.
async fn measure<F, Fut>(s: &Settings, probe: &Probe, scenario: F) -> Measured
where
    F: Fn(f64) -> Fut,
    Fut: std::future::Future<Output = Stats>,
{
    let tick_ms = 1000.0 / clock_ticks_per_second();
    let mut runs = Vec::new();
    for _ in 0..s.runs.max(1) {
        // Warm-up (connections, caches, statement caches), then the measured window.
        scenario(0.5).await;
        probe.reset_peak();
        let before = probe.snapshot().await;
        let stats = scenario(s.secs).await;
        let after = probe.snapshot().await;
        let ops = stats.ops.max(1) as f64;
        // Only the measured window is counted; the stats GET itself sends no statement.
        let statements_per_op = match (before.statements, after.statements) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / ops),
            _ => None,
        };
        runs.push(Measured {
            stats,
            statements_per_op,
            cpu_ms_per_op: (after.cpu_ticks - before.cpu_ticks) as f64 * tick_ms / ops,
            peak_mib: probe.peak_mib(),
        });
    }
    runs.sort_by(|a, b| a.stats.rps.total_cmp(&b.stats.rps));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn header() {
    println!(
        "| {:<8} | {:<44} | {:>9} | {:>9} | {:>9} | {:>6} | {:>9} | {:>8} | {:>8} | {:>11} | {:>9} |",
        "backend",
        "scenario",
        "ops/s",
        "p50",
        "p99",
        "errors",
        "db st/op",
        "CPU ms/op",
        "peak RSS",
        "÷ baseline",
        "p99 ÷ base"
    );
    println!(
        "|{:-<10}|{:-<46}|{:->11}|{:->11}|{:->11}|{:->8}|{:->11}|{:->10}|{:->10}|{:->13}|{:->11}|",
        "", "", "", "", "", "", "", "", "", "", ""
    );
}

fn row(backend: &str, name: &str, m: &Measured, base: Option<&Measured>) {
    let st = m
        .statements_per_op
        .map(|v| format!("{v:.2}"))
        .unwrap_or_else(|| "–".into());
    let (ratio, p99) = match base {
        Some(b) => (
            format!("{:.2}", m.stats.rps / b.stats.rps),
            format!(
                "{:.2}",
                m.stats.p99.as_secs_f64() / b.stats.p99.as_secs_f64()
            ),
        ),
        None => ("–".into(), "–".into()),
    };
    println!(
        "| {backend:<8} | {name:<44} | {:>9.0} | {:>9} | {:>9} | {:>6} | {st:>9} | {:>8.3} | {:>5.1} MiB | {ratio:>11} | {p99:>9} |",
        m.stats.rps,
        ms(m.stats.p50),
        ms(m.stats.p99),
        m.stats.errors,
        m.cpu_ms_per_op,
        m.peak_mib,
    );
}

/// A keep-alive client that does not follow redirects (the flow reads them).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POST a form, with HTTP Basic credentials; the JSON answer if 200.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    basic: &(String, String),
    form: &[(&str, &str)],
) -> Option<serde_json::Value> {
    let r = client
        .post(url)
        .basic_auth(&basic.0, Some(&basic.1))
        .form(form)
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.json().await.ok()
}

async fn get_ok(client: &reqwest::Client, url: &str, bearer: Option<&str>) -> Option<usize> {
    let mut req = client.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.ok()?;
    if r.status() != 200 {
        return None;
    }
    r.bytes().await.ok().map(|b| b.len())
}

async fn password_grant(base: &str, app: &(String, String)) -> serde_json::Value {
    post_form(
        &client(),
        &format!("{base}/o/token/"),
        app,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("scope", "read write"),
        ],
    )
    .await
    .expect("password grant")
}

/// The browser's side of a session: cookies by name.
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn store(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            if let Some((name, value)) = v
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|c| c.split_once('='))
            {
                self.0.insert(name.trim().into(), value.trim().into());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// One whole authorization-code + PKCE flow: login page, login POST, consent page, consent
/// POST, code exchange. `None` at the first step that fails.
async fn code_flow(client: &reqwest::Client, base: &str, app: &(String, String)) -> Option<()> {
    let mut jar = Jar::default();
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    let login = format!("{base}/accounts/login/");
    let r = client.get(&login).send().await.ok()?;
    jar.store(&r);
    let token = csrf(&r.text().await.ok()?)?;
    let r = client
        .post(&login)
        .header("cookie", jar.header())
        .form(&[
            ("csrfmiddlewaretoken", token.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .ok()?;
    if r.status() != 302 {
        return None;
    }
    jar.store(&r);
    let query = [
        ("response_type", "code"),
        ("client_id", app.0.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let authorize = format!("{base}/o/authorize/");
    let r = client
        .get(&authorize)
        .query(&query)
        .header("cookie", jar.header())
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    jar.store(&r);
    let token = csrf(&r.text().await.ok()?)?;
    let mut form = query.to_vec();
    form.push(("csrfmiddlewaretoken", token.as_str()));
    form.push(("allow", "Authorize"));
    let r = client
        .post(&authorize)
        .header("cookie", jar.header())
        .form(&form)
        .send()
        .await
        .ok()?;
    let location = r.headers().get("location")?.to_str().ok()?;
    let code = reqwest::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")?
        .1
        .into_owned();
    post_form(
        client,
        &format!("{base}/o/token/"),
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await?
    .get("access_token")?;
    Some(())
}

async fn bench() {
    let s = Settings {
        concurrency: env_or("BENCH_CONCURRENCY", 32),
        secs: env_or("BENCH_SECONDS", 5.0),
        max_ops: env_or("BENCH_MAX_OPS", 200_000),
        runs: env_or("BENCH_RUNS", 1),
    };
    let backends: String = env_or("BENCH_BACKENDS", "sqlite,postgres".to_string());
    let example = common::example_binary();
    println!(
        "load benchmark: {} concurrent clients, {} s per scenario (≤ {} operations), {} run(s), \
         {} CPU(s)",
        s.concurrency,
        s.secs,
        s.max_ops,
        s.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    header();
    if backends.contains("sqlite") {
        let (_dir, ours) = oauth_toolkit_testing::fresh_sqlite_url();
        let (_dir2, base) = oauth_toolkit_testing::fresh_sqlite_url();
        backend(&s, "SQLite", &ours, &base, &example).await;
    }
    if backends.contains("postgres") {
        match oauth_toolkit_testing::PgServer::start() {
            Ok(pg) => {
                let ours = pg.fresh_database_url().expect("database");
                let base = pg.fresh_database_url().expect("database");
                backend(&s, "Postgres", &ours, &base, &example).await;
            }
            Err(e) => println!("PostgreSQL skipped: {e}"),
        }
    }
    println!(
        "db st/op: statements the provider sent per operation; CPU and peak RSS: the server \
         process of that row; ÷ baseline: ops/s ours / the bare axum baseline of the next row"
    );
}

/// Every scenario on one backend: our provider on `url`, the baseline on `base_url`.
async fn backend(s: &Settings, name: &str, url: &str, base_url: &str, example: &Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    create_user(url, d, "alice", PASSWORD);
    let cc = create_application(url, d, &["confidential", "client-credentials"]);
    let pw = create_application(url, d, &["confidential", "password"]);
    let ac = create_application(
        url,
        d,
        &[
            "confidential",
            "authorization-code",
            "--redirect-uris",
            REDIRECT_URI,
        ],
    );
    let mut c = provider_cmd(url, d);
    c.args([
        "serve",
        "--demo-api",
        "--debug-stats",
        "--bind",
        "127.0.0.1:0",
    ]);
    let (server, base) = spawn_listening(c);
    let probe = Probe {
        pid: server.pid(),
        stats_url: Some(format!("{base}/debug/stats")),
    };

    // Sizes of our answers, for the baseline's.
    let http = client();
    let live = password_grant(&base, &pw).await;
    let token = live["access_token"].as_str().expect("token").to_string();
    let cc_size = serde_json::to_vec(
        &post_form(
            &http,
            &format!("{base}/o/token/"),
            &cc,
            &[("grant_type", "client_credentials")],
        )
        .await
        .expect("cc"),
    )
    .expect("json")
    .len();
    let introspect_size = serde_json::to_vec(
        &post_form(
            &http,
            &format!("{base}/o/introspect/"),
            &cc,
            &[("token", token.as_str())],
        )
        .await
        .expect("introspect"),
    )
    .expect("json")
    .len();
    let hello_size = get_ok(&http, &format!("{base}/api/hello"), Some(&token))
        .await
        .expect("hello");
    let jwks_size = get_ok(&http, &format!("{base}/o/.well-known/jwks.json"), None)
        .await
        .expect("jwks");
    let disco_size = get_ok(
        &http,
        &format!("{base}/o/.well-known/openid-configuration"),
        None,
    )
    .await
    .expect("discovery");

    // The baseline: this binary as a bare axum server, on a migrated database of its own.
    let mut c = provider_cmd(base_url, d);
    c.arg("migrate");
    common::run_ok(c);
    create_application(base_url, d, &["confidential", "client-credentials"]);
    let mut c = Command::new(std::env::current_exe().expect("exe"));
    c.env("LOAD_BENCH_BASELINE", base_url).env(
        "LOAD_BENCH_SIZES",
        format!("{cc_size},{introspect_size},{hello_size},{jwks_size},{disco_size}"),
    );
    let (baseline, bbase) = spawn_listening(c);
    let bprobe = Probe {
        pid: baseline.pid(),
        stats_url: None,
    };
    let btoken = post_form(
        &http,
        &format!("{bbase}/token"),
        &cc,
        &[("grant_type", "client_credentials")],
    )
    .await
    .expect("baseline token")["access_token"]
        .as_str()
        .expect("token")
        .to_string();

    // (1) client_credentials, HTTP Basic, hashed secret.
    let ours = measure(s, &probe, |secs| {
        form_load(secs, s, format!("{base}/o/token/"), cc.clone(), |_| {
            vec![("grant_type".into(), "client_credentials".into())]
        })
    })
    .await;
    let bare = measure(s, &bprobe, |secs| {
        form_load(secs, s, format!("{bbase}/token"), cc.clone(), |_| {
            vec![("grant_type".into(), "client_credentials".into())]
        })
    })
    .await;
    row(
        name,
        "client_credentials (Basic, hashed secret)",
        &ours,
        Some(&bare),
    );
    row(name, "  baseline: form + 1 INSERT + JSON", &bare, None);

    // (2) introspection of a live token.
    let t = token.clone();
    let ours = measure(s, &probe, |secs| {
        let t = t.clone();
        form_load(
            secs,
            s,
            format!("{base}/o/introspect/"),
            cc.clone(),
            move |_| vec![("token".into(), t.clone())],
        )
    })
    .await;
    let bt = btoken.clone();
    let bare_select = measure(s, &bprobe, |secs| {
        let bt = bt.clone();
        form_load(
            secs,
            s,
            format!("{bbase}/introspect"),
            cc.clone(),
            move |_| vec![("token".into(), bt.clone())],
        )
    })
    .await;
    row(
        name,
        "introspect/ (live token, Basic)",
        &ours,
        Some(&bare_select),
    );
    row(
        name,
        "  baseline: form + 1 SELECT + JSON",
        &bare_select,
        None,
    );

    // (3) bearer-protected GET, local validation.
    let ours = measure(s, &probe, |secs| {
        get_load(secs, s, format!("{base}/api/hello"), Some(token.clone()))
    })
    .await;
    let bare = measure(s, &bprobe, |secs| {
        get_load(secs, s, format!("{bbase}/hello"), Some(btoken.clone()))
    })
    .await;
    row(name, "GET /api/hello (Bearer, local)", &ours, Some(&bare));
    row(name, "  baseline: header + 1 SELECT + JSON", &bare, None);

    // (4) the same behind remote introspection with caching (the example app).
    {
        let (ex, ex_base) = common::spawn_example(example, d, &base, &cc);
        let ex_probe = Probe {
            pid: ex.pid(),
            stats_url: None,
        };
        let before = probe.snapshot().await;
        let ours = measure(s, &ex_probe, |secs| {
            get_load(secs, s, format!("{ex_base}/api/hello"), Some(token.clone()))
        })
        .await;
        let after = probe.snapshot().await;
        let open = measure(s, &ex_probe, |secs| {
            get_load(secs, s, format!("{ex_base}/api/public"), None)
        })
        .await;
        let mut ours = ours;
        ours.statements_per_op = match (before.statements, after.statements) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / ours.stats.ops.max(1) as f64),
            _ => None,
        };
        row(
            name,
            "example: GET /api/hello (remote + cache)",
            &ours,
            Some(&open),
        );
        row(name, "  baseline: the example's /api/public", &open, None);
    }

    // (5) refresh_token with rotation: one chain per client.
    let chains: Arc<Vec<Mutex<String>>> = Arc::new({
        let mut v = Vec::new();
        for _ in 0..s.concurrency {
            let t = password_grant(&base, &pw).await;
            v.push(Mutex::new(
                t["refresh_token"].as_str().expect("refresh").to_string(),
            ));
        }
        v
    });
    let ours = measure(s, &probe, |secs| {
        let (chains, url, pw) = (chains.clone(), format!("{base}/o/token/"), pw.clone());
        drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, i| {
            let (chains, url, pw) = (chains.clone(), url.clone(), pw.clone());
            async move {
                let current = chains[i].lock().map(|t| t.clone()).unwrap_or_default();
                let answer = post_form(
                    &c,
                    &url,
                    &pw,
                    &[("grant_type", "refresh_token"), ("refresh_token", &current)],
                )
                .await;
                match answer.and_then(|a| a["refresh_token"].as_str().map(String::from)) {
                    Some(next) => {
                        if let Ok(mut t) = chains[i].lock() {
                            *t = next;
                        }
                        true
                    }
                    None => false,
                }
            }
        })
    })
    .await;
    row(name, "refresh_token (rotation)", &ours, None);

    // (6) authorization code + PKCE, login and consent included: flows/s.
    let ours = measure(s, &probe, |secs| {
        let (b, ac) = (base.clone(), ac.clone());
        drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, _| {
            let (b, ac) = (b.clone(), ac.clone());
            async move { code_flow(&c, &b, &ac).await.is_some() }
        })
    })
    .await;
    row(
        name,
        "authorization code + PKCE flow (flows/s)",
        &ours,
        None,
    );

    // (8) JWKS and discovery, against a static JSON handler of the same size.
    let ours = measure(s, &probe, |secs| {
        get_load(secs, s, format!("{base}/o/.well-known/jwks.json"), None)
    })
    .await;
    let bare = measure(s, &bprobe, |secs| {
        get_load(secs, s, format!("{bbase}/static/3"), None)
    })
    .await;
    row(name, "GET jwks.json", &ours, Some(&bare));
    row(name, "  baseline: static JSON, same size", &bare, None);
    let ours = measure(s, &probe, |secs| {
        get_load(
            secs,
            s,
            format!("{base}/o/.well-known/openid-configuration"),
            None,
        )
    })
    .await;
    let bare = measure(s, &bprobe, |secs| {
        get_load(secs, s, format!("{bbase}/static/4"), None)
    })
    .await;
    row(name, "GET openid-configuration", &ours, Some(&bare));
    row(name, "  baseline: static JSON, same size", &bare, None);
    drop(baseline);
    drop(server);
}

/// POST the form `form(i)` with HTTP Basic `creds` to `url`; success is a 200.
async fn form_load<F>(
    secs: f64,
    s: &Settings,
    url: String,
    creds: (String, String),
    form: F,
) -> Stats
where
    F: Fn(usize) -> Vec<(String, String)> + Clone + Send + Sync + 'static,
{
    let (url, creds) = (Arc::new(url), Arc::new(creds));
    drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, i| {
        let (url, creds, body) = (url.clone(), creds.clone(), form(i));
        async move {
            match c
                .post(url.as_str())
                .basic_auth(&creds.0, Some(&creds.1))
                .form(&body)
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
}

async fn get_load(secs: f64, s: &Settings, url: String, bearer: Option<String>) -> Stats {
    let (url, bearer) = (Arc::new(url), Arc::new(bearer));
    drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, _| {
        let (url, bearer) = (url.clone(), bearer.clone());
        async move { get_ok(&c, &url, bearer.as_deref()).await.is_some() }
    })
    .await
}

/// The bare axum server: same stack (axum, tokio, sqlx), no OAuth.
mod baseline {
    use std::str::FromStr;
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Bytes;
    use axum::extract::{Form, Path, State};
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use axum::Router;
    use base64::Engine;
    use sha2::Digest;
    use sqlx::postgres::PgPoolOptions;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };

    enum Db {
        /// As the provider's store: WAL, synchronous=FULL, one writer connection.
        Sqlite {
            read: sqlx::SqlitePool,
            write: sqlx::SqlitePool,
        },
        Pg(sqlx::PgPool),
    }

    struct App {
        db: Db,
        application_id: i64,
        /// JSON bodies of our answers' sizes: token, introspection, hello, jwks, discovery.
        sizes: Vec<usize>,
        statics: Vec<Bytes>,
    }

    /// `{"k":"…","pad":"xxx"}` grown to `size` bytes.
    fn padded(mut v: serde_json::Value, size: usize) -> Vec<u8> {
        let len = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
        let pad = size.saturating_sub(len + 10);
        v["pad"] = "x".repeat(pad).into();
        serde_json::to_vec(&v).unwrap_or_default()
    }

    fn checksum(token: &str) -> String {
        hex(&sha2::Sha256::digest(token.as_bytes()))
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The Basic credentials, decoded (the bare server does not check them).
    fn basic(headers: &HeaderMap) -> Option<(String, String)> {
        let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.strip_prefix("Basic ")?)
            .ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (id, secret) = s.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }

    fn json(body: Vec<u8>) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    fn now_micros() -> i64 {
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
    }

    async fn token(
        State(app): State<Arc<App>>,
        headers: HeaderMap,
        Form(form): Form<Vec<(String, String)>>,
    ) -> Response {
        if basic(&headers).is_none()
            || !form
                .iter()
                .any(|(k, v)| k == "grant_type" && v == "client_credentials")
        {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let sql = "INSERT INTO oauth2_provider_accesstoken (token, token_checksum, \
                   application_id, expires, scope, created, updated) \
                   VALUES ($1, $2, $3, $4, $5, $6, $6)";
        let now = now_micros();
        let done = match &app.db {
            Db::Sqlite { write, .. } => sqlx::query(sql)
                .bind(&token)
                .bind(checksum(&token))
                .bind(app.application_id)
                .bind(now + 36_000_000_000)
                .bind("read write")
                .bind(now)
                .execute(write)
                .await
                .is_ok(),
            Db::Pg(pool) => sqlx::query(sql)
                .bind(&token)
                .bind(checksum(&token))
                .bind(app.application_id)
                .bind(now + 36_000_000_000)
                .bind("read write")
                .bind(now)
                .execute(pool)
                .await
                .is_ok(),
        };
        if !done {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        json(padded(
            serde_json::json!({"access_token": token, "expires_in": 36000,
                "token_type": "Bearer", "scope": "read write"}),
            app.sizes[0],
        ))
    }

    /// The one SELECT: the token row by checksum → (scope, expires).
    async fn select(app: &App, token: &str) -> Option<(String, i64)> {
        let sql =
            "SELECT scope, expires FROM oauth2_provider_accesstoken WHERE token_checksum = $1";
        let c = checksum(token);
        match &app.db {
            Db::Sqlite { read, .. } => sqlx::query_as(sql)
                .bind(c)
                .fetch_optional(read)
                .await
                .ok()?,
            Db::Pg(pool) => sqlx::query_as(sql)
                .bind(c)
                .fetch_optional(pool)
                .await
                .ok()?,
        }
    }

    async fn introspect(
        State(app): State<Arc<App>>,
        headers: HeaderMap,
        Form(form): Form<Vec<(String, String)>>,
    ) -> Response {
        if basic(&headers).is_none() {
            return StatusCode::FORBIDDEN.into_response();
        }
        let Some((_, token)) = form.iter().find(|(k, _)| k == "token") else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let body = match select(&app, token).await {
            Some((scope, exp)) => serde_json::json!({"active": true, "scope": scope,
                "exp": exp / 1_000_000, "token_type": "Bearer"}),
            None => serde_json::json!({"active": false}),
        };
        json(padded(body, app.sizes[1]))
    }

    async fn hello(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        match select(&app, token).await {
            Some(_) => json(padded(
                serde_json::json!({"message": "hello"}),
                app.sizes[2],
            )),
            None => StatusCode::UNAUTHORIZED.into_response(),
        }
    }

    async fn static_json(State(app): State<Arc<App>>, Path(i): Path<usize>) -> Response {
        match app.statics.get(i) {
            Some(b) => ([(header::CONTENT_TYPE, "application/json")], b.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }

    pub fn main(url: &str) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(serve(url));
    }

    async fn serve(url: &str) {
        let db = if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .expect("url")
                .busy_timeout(Duration::from_secs(30))
                .synchronous(SqliteSynchronous::Full)
                .journal_mode(SqliteJournalMode::Wal);
            Db::Sqlite {
                write: SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(base.clone())
                    .await
                    .expect("write pool"),
                read: SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(base)
                    .await
                    .expect("read pool"),
            }
        } else {
            Db::Pg(
                PgPoolOptions::new()
                    .max_connections(8)
                    .connect(url)
                    .await
                    .expect("pool"),
            )
        };
        let sql = "SELECT id FROM oauth2_provider_application";
        let application_id: i64 = match &db {
            Db::Sqlite { read, .. } => sqlx::query_scalar(sql).fetch_one(read).await,
            Db::Pg(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .expect("application");
        let sizes: Vec<usize> = std::env::var("LOAD_BENCH_SIZES")
            .unwrap_or_default()
            .split(',')
            .filter_map(|v| v.parse().ok())
            .collect();
        assert_eq!(sizes.len(), 5, "LOAD_BENCH_SIZES");
        let statics = sizes
            .iter()
            .map(|&n| Bytes::from(padded(serde_json::json!({"keys": []}), n)))
            .collect();
        let app = Arc::new(App {
            db,
            application_id,
            sizes,
            statics,
        });
        let router = Router::new()
            .route("/token", post(token))
            .route("/introspect", post(introspect))
            .route("/hello", get(hello))
            .route("/static/{i}", get(static_json))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        eprintln!("baseline listening on http://{addr}");
        axum::serve(listener, router).await.expect("serve");
    }
}
