//! Exchanging authorization codes: DOT's rules, and a replayed code.

use oauth_toolkit_core::models::CodeChallengeMethod;
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

use crate::common::*;
use crate::support::*;

backends!(code_exchange_rules, replayed_code_revokes_its_tokens);

async fn code_exchange_rules(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://example.org?foo=bar";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--redirect-uris",
            "http://example.org?foo=bar http://localhost",
        ],
    );
    let (other_id, other_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", "http://localhost"],
    );
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let s256 = Some(CodeChallengeMethod::S256);
    let exchange = |code: String, redirect: &'static str, verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("redirect_uri", redirect.to_string()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_string()));
        }
        form
    };
    async fn post(server: &Server, auth: &str, form: Vec<(&str, String)>) -> (u16, Value) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, _, b) = token_post(server, Some(auth), &form).await;
        (s, b)
    }

    // Unknown code.
    let (s, b) = post(
        &server,
        &auth,
        exchange("BLAH".into(), redirect, Some(verifier)),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Expired.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, -1).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Another client's code.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &basic(&other_id, &other_secret),
        exchange(code, "http://localhost", Some(verifier)),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Redirect URI must match the one used, exactly.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &auth,
        exchange(code, "http://example.org?foo=baraa", Some(verifier)),
    )
    .await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Mismatching redirect URI."))
    );
    assert!(
        !b.to_string().contains("localhost"),
        "registered URIs are not disclosed"
    );
    // PKCE: missing verifier, wrong verifier, malformed verifier.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, None)).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Code verifier required."))
    );
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some("invalid"))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &auth,
        exchange(
            code,
            redirect,
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "one character off"
    );
    // Plain PKCE works.
    let code = make_code(
        &env,
        &id,
        "alice",
        redirect,
        verifier,
        Some(CodeChallengeMethod::Plain),
        60,
    )
    .await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!(s, 200, "{b}");
    // A code without a challenge while PKCE is required: "Code verifier required.".
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, None)).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Code verifier required."))
    );
    // The happy path: body has everything DOT's does.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["scope"], "read write");
    assert_eq!(b["expires_in"], 36000);
    assert!(b["access_token"].is_string() && b["refresh_token"].is_string());
}

async fn replayed_code_revokes_its_tokens(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://localhost/cb";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", redirect],
    );
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let auth = basic(&id, &secret);
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
    ];
    let (s, _, first) = token_post(&server, Some(&auth), &form).await;
    assert_eq!(s, 200);
    let (s, _, second) = token_post(&server, Some(&auth), &form).await;
    assert_eq!((s, second["error"].as_str()), (400, Some("invalid_grant")));
    // RFC 6749 §4.1.2: the tokens issued from the replayed code are revoked.
    let store = env.db().await.store();
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"].as_str().unwrap();
    assert!(store
        .find_access_token(&token_checksum(at))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&token_checksum(rt))
        .await
        .unwrap()
        .unwrap()
        .is_revoked());
    let (s, _, b) = token_post(
        &server,
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
}
