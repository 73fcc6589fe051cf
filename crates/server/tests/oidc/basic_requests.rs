//! Basic OP plan: code reuse, bad requests, client authentication, request objects,
//! claims, refresh, PKCE.

use serde_json::Value;

use crate::common::http_browser::{client, encode};
use crate::common::*;
use crate::support::*;

backends!(
    oidcc_codereuse,
    oidcc_codereuse_30seconds,
    oidcc_ensure_registered_redirect_uri,
    oidcc_response_type_missing,
    oidcc_server_client_secret_post,
    oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    oidcc_claims_essential,
    oidcc_refresh_token,
    oidcc_ensure_request_with_valid_pkce_succeeds,
);

async fn oidcc_codereuse(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let code = op.code(&b, &[]).await;
    op.exchange(&code).await;
    let (status, body) = op
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    op.server.terminate();
}

/// Reuse after 30 s: refused, and the tokens issued from the code are revoked.
async fn oidcc_codereuse_30seconds(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let code = op.code(&b, &[]).await;
    let t = op.exchange(&code).await;
    // Time is not waited for: expiry does not matter, the code is consumed.
    let (status, body) = op
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = op.userinfo_get(t["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 401, "the first access token was revoked");
    op.server.terminate();
}

/// An unregistered redirect URI: an error page, no redirect.
async fn oidcc_ensure_registered_redirect_uri(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("redirect_uri", "https://attacker.example/cb")]))
        ))
        .await;
    assert_eq!(p.status, 400);
    assert!(p.location().is_none());
    op.server.terminate();
}

async fn oidcc_response_type_missing(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("response_type", "")]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = query_of(&p.loc());
    assert!(
        ["invalid_request", "unsupported_response_type"].contains(&q["error"].as_str()),
        "{q:?}"
    );
    op.server.terminate();
}

async fn oidcc_server_client_secret_post(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let code = op.code(&b, &[]).await;
    let r = client()
        .post(format!("{}/o/token/", op.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &op.client_id),
            ("client_secret", &op.secret),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}

async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("request_uri", "https://rp.example/request.jwt")]))
        ))
        .await;
    assert_eq!(query_of(&p.loc())["error"], "request_uri_not_supported");
    op.server.terminate();
}

async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("request", "eyJhbGciOiJub25lIn0.e30.")]))
        ))
        .await;
    assert_eq!(query_of(&p.loc())["error"], "request_not_supported");
    op.server.terminate();
}

/// `claims` asking for `name` as essential at userinfo, with only the openid scope.
async fn oidcc_claims_essential(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op
        .sign_in(
            &b,
            &[("claims", r#"{"userinfo":{"name":{"essential":true}}}"#)],
        )
        .await;
    let info: Value = op
        .userinfo_get(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Test User");
    assert!(info.get("email").is_none());
    op.server.terminate();
}

/// Refresh returns a new ID token for the same authentication (Core §12.2), bound to the
/// client.
async fn oidcc_refresh_token(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[("scope", "openid")]).await;
    let first = op.verify(t["id_token"].as_str().unwrap()).await;
    let (status, r) = op
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(status, 200, "{r}");
    let jwt = r["id_token"].as_str().expect("a new ID token");
    let second = op.verify(jwt).await;
    assert_eq!(second["sub"], first["sub"]);
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert_ne!(second["jti"], first["jti"]);
    assert_eq!(
        second["at_hash"].as_str().unwrap(),
        half_hash(r["access_token"].as_str().unwrap())
    );
    // Another client cannot use it.
    let (other, other_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", REDIRECT],
    );
    let resp = client()
        .post(format!("{}/o/token/", op.base()))
        .basic_auth(&other, Some(&other_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r["refresh_token"].as_str().unwrap()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    op.server.terminate();
}

async fn oidcc_ensure_request_with_valid_pkce_succeeds(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = oauth_toolkit_core::pkce::s256_challenge(verifier);
    let code = op
        .code(
            &b,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let (status, t) = op
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!(status, 200, "{t}");
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}
