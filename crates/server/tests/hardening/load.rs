//! Sustained mixed load.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

backends!(sustained_mixed_load_has_no_failures);

const LOAD_CLIENTS: usize = 8;
const LOAD_SECONDS: u64 = 5;
const LOAD_MAX_PER_CLIENT: usize = 400;

#[derive(Default)]
struct LoadReport {
    counts: BTreeMap<&'static str, usize>,
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

/// POST to introspection; Ok only for 200 with `"active": true`.
async fn introspect_active(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    token: &str,
) -> Result<serde_json::Value, String> {
    let resp = http
        .post(url)
        .header("Authorization", auth)
        .form(&[("token", token)])
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| format!("body: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{status}, not JSON ({e}): {text}"))?;
    if status != 200 || v["active"] != serde_json::Value::Bool(true) {
        return Err(format!("{status}: {text}"));
    }
    Ok(v)
}

async fn post_token(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
    form: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let resp = http
        .post(url)
        .header("Authorization", auth)
        .form(form)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| format!("body: {e}"))?;
    if status != 200 {
        return Err(format!("{status}: {text}"));
    }
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))?;
    if v["access_token"].as_str().is_none_or(str::is_empty) {
        return Err(format!("no access_token: {text}"));
    }
    Ok(v)
}

/// 8 clients for ~5 s against one server: client_credentials tokens, password-grant tokens
/// and refreshes along each client's own refresh chain. Every single request must succeed.
async fn sustained_mixed_load_has_no_failures(env: Env) {
    let _heavy = HEAVY.lock().await;
    let (cc_id, cc_secret) = env.create_app("confidential", "client-credentials", &[]);
    let (pw_id, pw_secret) = env.create_app("confidential", "password", &[]);
    env.create_user("loaduser", "load-password");
    let server = Server::start(&env, &[]);
    let url = format!("{}/o/token/", server.base);
    let introspect_url = format!("{}/o/introspect/", server.base);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let cc_auth = basic(&cc_id, &cc_secret);
    let pw_auth = basic(&pw_id, &pw_secret);
    let password_form = [
        ("grant_type", "password"),
        ("username", "loaduser"),
        ("password", "load-password"),
    ];

    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECONDS);
    let mut clients = Vec::new();
    for c in 0..LOAD_CLIENTS {
        let (http, url, cc_auth, pw_auth) =
            (http.clone(), url.clone(), cc_auth.clone(), pw_auth.clone());
        let introspect_url = introspect_url.clone();
        clients.push(tokio::spawn(async move {
            let mut report = LoadReport::default();
            let mut refresh: Option<String> = None;
            let mut last_access: Option<String> = None;
            for i in 0..LOAD_MAX_PER_CLIENT {
                if Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let (kind, result) = match (i + c) % 4 {
                    // Introspect the last client_credentials token: it must be active.
                    3 if last_access.is_some() => {
                        let token = last_access.clone().unwrap_or_default();
                        let r = introspect_active(&http, &introspect_url, &cc_auth, &token).await;
                        ("introspect", r)
                    }
                    0 => (
                        "client_credentials",
                        post_token(
                            &http,
                            &url,
                            &cc_auth,
                            &[("grant_type", "client_credentials")],
                        )
                        .await,
                    ),
                    1 if refresh.is_some() => {
                        let token = refresh.clone().unwrap_or_default();
                        let r = post_token(
                            &http,
                            &url,
                            &pw_auth,
                            &[("grant_type", "refresh_token"), ("refresh_token", &token)],
                        )
                        .await;
                        ("refresh_token", r)
                    }
                    _ => (
                        "password",
                        post_token(&http, &url, &pw_auth, &password_form).await,
                    ),
                };
                report.latencies.push(t.elapsed());
                *report.counts.entry(kind).or_default() += 1;
                match result {
                    Ok(v) => {
                        if kind == "client_credentials" {
                            last_access = v["access_token"].as_str().map(str::to_string);
                        } else if kind != "introspect" {
                            match v["refresh_token"].as_str() {
                                // The next refresh uses the token this one returned.
                                Some(r) if !r.is_empty() => refresh = Some(r.to_string()),
                                _ => report
                                    .failures
                                    .push(format!("client {c} #{i} {kind}: no refresh_token: {v}")),
                            }
                        }
                    }
                    Err(e) => report.failures.push(format!("client {c} #{i} {kind}: {e}")),
                }
            }
            report
        }));
    }
    let mut total = LoadReport::default();
    for c in clients {
        let r = c.await.unwrap();
        for (k, n) in r.counts {
            *total.counts.entry(k).or_default() += n;
        }
        total.latencies.extend(r.latencies);
        total.failures.extend(r.failures);
    }
    let took = started.elapsed();
    let n = total.latencies.len();
    total.latencies.sort();
    let pct = |p: usize| {
        total
            .latencies
            .get((n * p / 100).min(n.saturating_sub(1)))
            .copied()
    };
    println!(
        "mixed load ({}): {n} requests from {LOAD_CLIENTS} clients in {took:?} ({:.0}/s): {:?}; \
         latency p50 {:?} p99 {:?} max {:?}; failures {}",
        backend(&env),
        n as f64 / took.as_secs_f64(),
        total.counts,
        pct(50),
        pct(99),
        total.latencies.last(),
        total.failures.len()
    );
    assert!(
        total.failures.is_empty(),
        "{} failures:\n{}\n--- server log (tail) ---\n{}",
        total.failures.len(),
        total
            .failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        log_tail(&server)
    );
    for kind in ["client_credentials", "password", "refresh_token"] {
        assert!(
            total.counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} request: {:?}",
            total.counts
        );
    }
    assert!(server.terminate().success());
}
