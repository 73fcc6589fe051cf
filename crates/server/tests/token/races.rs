//! Refreshes and code exchanges raced across two `serve` processes.

use std::collections::HashSet;

use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

use crate::common::*;
use crate::support::*;

backends!(
    concurrent_refreshes_across_two_processes_no_grace,
    concurrent_refreshes_across_two_processes_with_grace,
    concurrent_code_exchanges_across_two_processes,
);

/// N parallel refreshes of one refresh token, spread over two `serve` processes sharing the
/// database. Without a grace period: exactly one succeeds, the rest get `invalid_grant`, no
/// 5xx, and exactly one live successor exists.
async fn concurrent_refreshes_across_two_processes_no_grace(env: Env) {
    let (id, secret) = password_setup(&env);
    let a = Server::start(&env, &[]);
    let b = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    for _round in 0..3 {
        let first = password_tokens(&a, &id, &secret).await;
        let rt = first["refresh_token"].as_str().unwrap().to_string();
        let results = race_refreshes(&a, &b, &auth, &rt, 16).await;
        let ok: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert!(
            results.iter().all(|(s, _)| *s == 200 || *s == 400),
            "{results:?}"
        );
        assert_eq!(ok.len(), 1, "exactly one winner: {results:?}");
        for (s, body) in &results {
            if *s == 400 {
                assert_eq!(body["error"], "invalid_grant");
            }
        }
        let store = env.db().await.store();
        let family = store
            .find_refresh_token(&token_checksum(&rt))
            .await
            .unwrap()
            .unwrap()
            .token_family;
        let winner = store
            .find_refresh_token(&token_checksum(ok[0]["refresh_token"].as_str().unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(winner.token_family, family);
        assert!(
            !winner.is_revoked(),
            "without reuse protection the winner survives"
        );
    }
}

/// With a grace period covering the race (and reuse protection on), every request gets the
/// same new tokens and the family is not revoked.
async fn concurrent_refreshes_across_two_processes_with_grace(env: Env) {
    let (id, secret) = password_setup(&env);
    let settings = [
        ("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "60"),
        ("OAUTH_TOOLKIT_REFRESH_TOKEN_REUSE_PROTECTION", "true"),
    ];
    let a = Server::start(&env, &settings);
    let b = Server::start(&env, &settings);
    let auth = basic(&id, &secret);
    let first = password_tokens(&a, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let results = race_refreshes(&a, &b, &auth, &rt, 16).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    // With OIDC on (the default scopes include openid), every racer gets an ID token.
    assert!(
        results.iter().all(|(_, b)| b["id_token"].is_string()),
        "{results:?}"
    );
    let tokens: HashSet<(String, String)> = results
        .iter()
        .map(|(_, b)| {
            (
                b["access_token"].to_string(),
                b["refresh_token"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "every racer got the same tokens: {tokens:?}"
    );
    let (_, body) = &results[0];
    let (s, next) = refresh(&a, &auth, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(s, 200, "the family is alive: {next}");
}

async fn race_refreshes(
    a: &Server,
    b: &Server,
    auth: &str,
    rt: &str,
    n: usize,
) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (auth, rt, barrier) = (auth.to_string(), rt.to_string(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let client = http();
            barrier.wait().await;
            let resp = client
                .post(format!("{base}/o/token/"))
                .header("Authorization", auth)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// One code, raced by 12 requests over two processes: one gets tokens, none gets a 5xx, and
/// (as a replay) the others revoke what the winner got.
async fn concurrent_code_exchanges_across_two_processes(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://localhost/cb";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", redirect],
    );
    let a = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let b = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let mut tasks = Vec::new();
    for i in 0..12 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (auth, code, barrier) = (basic(&id, &secret), code.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let client = http();
            barrier.wait().await;
            let resp = client
                .post(format!("{base}/o/token/"))
                .header("Authorization", auth)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect),
                ])
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}
