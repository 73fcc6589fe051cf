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

#[path = "../common/mod.rs"]
mod common;

mod baseline;
mod http;
mod measure;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{create_application, create_user, drive, env_or, provider_cmd, spawn_listening};

use http::*;
use measure::*;

pub(crate) const PASSWORD: &str = "alice-pw-123";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:8080/cb";

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

    // (7) the same flow for users already signed in: consent page, consent POST, code
    // exchange (one session per client, signed in before the window).
    let jars: Arc<Vec<Mutex<Jar>>> = Arc::new({
        let c = client();
        let mut v = Vec::new();
        for _ in 0..s.concurrency {
            v.push(Mutex::new(sign_in(&c, &base).await.expect("sign in")));
        }
        v
    });
    let ours = measure(s, &probe, |secs| {
        let (b, ac, jars) = (base.clone(), ac.clone(), jars.clone());
        drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, i| {
            let (b, ac, jars) = (b.clone(), ac.clone(), jars.clone());
            async move {
                let mut jar = match jars[i].lock() {
                    Ok(j) => j.clone(),
                    Err(_) => return false,
                };
                let ok = signed_in_code_flow(&c, &b, &ac, &mut jar).await.is_some();
                if let Ok(mut j) = jars[i].lock() {
                    *j = jar;
                }
                ok
            }
        })
    })
    .await;
    row(
        name,
        "authorization code + PKCE, signed in (flows/s)",
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
