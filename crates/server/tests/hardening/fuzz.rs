//! Fuzz: thousands of random hostile requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::common::*;
use crate::fuzz_input::*;
use crate::support::*;

backends!(fuzzed_requests_never_get_a_server_error);

/// Thousands of random hostile requests at every endpoint; none may get a 5xx or go
/// unanswered, and the server must still work afterwards.
async fn fuzzed_requests_never_get_a_server_error(env: Env) {
    let _heavy = HEAVY.lock().await;
    let (cc_id, cc_secret) = env.create_app("confidential", "client-credentials", &[]);
    let (pw_id, pw_secret) = env.create_app("confidential", "password", &[]);
    let (code_id, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", "https://example.com/cb"],
    );
    env.create_user("fuzzer", "fuzz-password");
    let server = Server::start(&env, &[]);
    let addr = addr(&server);

    let seed = std::env::var("HARDENING_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(FUZZ_SEED);
    println!("fuzz seed: {seed:#x} (set HARDENING_FUZZ_SEED to replay another)");

    let (pw_id2, pw_secret2, addr2) = (pw_id.clone(), pw_secret.clone(), addr.clone());
    let tokens = tokio::task::spawn_blocking(move || {
        let body = b"grant_type=password&username=fuzzer&password=fuzz-password";
        let r = exchange(
            &addr2,
            &request(
                "POST",
                "/o/token/",
                &[
                    ("Authorization", &basic(&pw_id2, &pw_secret2)),
                    ("Content-Type", FORM),
                ],
                body,
            ),
        )
        .unwrap();
        assert_token(&r);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        (
            v["access_token"].as_str().unwrap_or("").to_string(),
            v["refresh_token"].as_str().unwrap_or("").to_string(),
        )
    })
    .await
    .unwrap();
    let known = Arc::new(Known {
        values: vec![
            cc_id.clone(),
            cc_secret.clone(),
            pw_id.clone(),
            pw_secret.clone(),
            code_id.clone(),
            "fuzzer".into(),
            "fuzz-password".into(),
            tokens.0.clone(),
            tokens.1.clone(),
            "https://example.com/cb".into(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            "dBjftJeZ4CVP-mJ92K1z3-k1W2mYAa0ZsQDCsh5hEKw".into(),
        ],
        clients: vec![
            (cc_id.clone(), cc_secret.clone()),
            (pw_id.clone(), pw_secret.clone()),
        ],
        code_client_id: code_id.clone(),
        access_token: tokens.0,
        refresh_token: tokens.1,
    });

    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..FUZZ_WORKERS {
        let known = known.clone();
        let addr = addr.clone();
        workers.push(tokio::task::spawn_blocking(move || {
            let mut rng = Rng(seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut hist: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
            let mut failures = Vec::new();
            for i in 0..FUZZ_REQUESTS / FUZZ_WORKERS {
                let target = rng.pick(TARGETS);
                let (method, req) = fuzz_request(&mut rng, target, &known);
                let shown = || {
                    let cut = &req[..req.len().min(400)];
                    format!(
                        "worker {w} #{i} {method} {}: {:?}",
                        target.path,
                        String::from_utf8_lossy(cut)
                    )
                };
                match exchange(&addr, &req) {
                    Ok(r) => {
                        *hist.entry((target.path, r.status)).or_default() += 1;
                        if r.status >= 500 {
                            failures.push(format!(
                                "{} for {}\n  {}",
                                r.status,
                                shown(),
                                r.body_text()
                            ));
                        } else if let Some(problem) = not_an_rfc_error(target.path, &r) {
                            failures.push(format!("{problem} for {}", shown()));
                        }
                    }
                    Err(e) => failures.push(format!("{e} for {}", shown())),
                }
            }
            (hist, failures)
        }));
    }
    let mut hist: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for w in workers {
        let (h, f) = w.await.unwrap();
        for (k, n) in h {
            *hist.entry(k).or_default() += n;
        }
        failures.extend(f);
    }
    let took = started.elapsed();

    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for ((_, status), n) in &hist {
        *by_status.entry(*status).or_default() += n;
    }
    println!(
        "fuzz ({}): {} requests in {took:?}; statuses {by_status:?}",
        backend(&env),
        hist.values().sum::<usize>()
    );
    let mut per_path: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((path, status), n) in &hist {
        per_path
            .entry(path)
            .or_default()
            .push(format!("{status}×{n}"));
    }
    for (path, counts) in per_path {
        println!("  {path:45} {}", counts.join(" "));
    }
    assert!(
        failures.is_empty(),
        "{} of {FUZZ_REQUESTS} fuzzed requests failed (seed {seed:#x}):\n{}\n\
         --- server log (tail) ---\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        log_tail(&server)
    );
    assert_eq!(
        hist.values().sum::<usize>(),
        FUZZ_REQUESTS / FUZZ_WORKERS * FUZZ_WORKERS
    );
    assert!(
        !log_of(&server).contains("panicked"),
        "{}",
        log_tail(&server)
    );

    // Still healthy, and still issuing tokens.
    let server = tokio::task::spawn_blocking(move || {
        assert_healthy(&server);
        assert_token(&exchange(&addr, &client_credentials_request(&cc_id, &cc_secret)).unwrap());
        server
    })
    .await
    .unwrap();
    assert!(server.terminate().success());
}

/// Errors of the token endpoint (RFC 6749 §5.2) are JSON with a known `error` code.
/// Bodiless 400s come from the HTTP layer (a malformed request line or header, before any
/// endpoint), 405/413/414 are not protocol errors.
fn not_an_rfc_error(path: &str, r: &Raw) -> Option<String> {
    const CODES: &[&str] = &[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ];
    if path != "/o/token/" || !matches!(r.status, 400 | 401 | 415) || r.body.is_empty() {
        return None;
    }
    let v: serde_json::Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(_) => {
            return Some(format!(
                "{} without a JSON error: {}",
                r.status,
                r.body_text()
            ))
        }
    };
    match v["error"].as_str() {
        Some(code) if CODES.contains(&code) => None,
        _ => Some(format!("{} with a non-RFC error body: {v}", r.status)),
    }
}
