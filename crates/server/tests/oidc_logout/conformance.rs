//! The conformance suite's RP-Initiated Logout OP plan.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::common::http_browser::client;
use crate::common::*;
use crate::support::*;

backends!(
    oidcc_rp_initiated_logout_discovery,
    oidcc_rp_initiated_logout,
    oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_modified_id_token_hint,
    oidcc_rp_initiated_logout_no_id_token_hint,
    oidcc_rp_initiated_logout_no_params,
    oidcc_rp_initiated_logout_no_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_no_state,
    oidcc_rp_initiated_logout_only_state,
    oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_bad_id_token_hint,
);

/// The DER inside a PEM.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Discovery advertises `end_session_endpoint` (the plan's first check); it is routed.
async fn oidcc_rp_initiated_logout_discovery(env: Env) {
    let op = op_with(&env, &[]);
    let doc: Value = client()
        .get(format!("{}/o/.well-known/openid-configuration", op.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let end = doc["end_session_endpoint"].as_str().expect("advertised");
    assert_eq!(end, "http://op.test/o/logout/");
    let r = client()
        .get(format!("{}/o/logout/", op.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "routed: the no-params confirmation");
    op.server.terminate();
}

/// Hint + registered `post_logout_redirect_uri` + `state`: (the user confirms, as always by
/// default) logged out, redirected to the URI with `state`.
async fn oidcc_rp_initiated_logout(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://rp.example/bye"),
                ("state", "xyz 123"),
            ],
        )
        .await;
    assert_confirm_page(&p);
    assert!(p.body.contains("Relying Party A"), "names the client");
    let p = answer(&b, &p, true).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), "https://rp.example/bye?state=xyz+123");
    assert!(p.set_cookie_cleared());
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// An unregistered `post_logout_redirect_uri`: an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.example/bye"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A hint whose signature was changed: an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_modified_id_token_hint(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let (head, sig) = hint.rsplit_once('.').unwrap();
    let mut sig = sig.to_string();
    let last = sig.pop().unwrap();
    sig.push(if last == 'A' { 'B' } else { 'A' });
    let modified = format!("{head}.{sig}");
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &modified),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, INVALID_HINT);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// No hint, but `client_id` + registered URI + `state`: the user is asked (no hint, so the
/// OP cannot know the RP speaks for this user), then redirected.
async fn oidcc_rp_initiated_logout_no_id_token_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op
        .logout(
            &b,
            &[
                ("client_id", &op.a),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "987654321"),
            ],
        )
        .await;
    assert_confirm_page(&p);
    assert!(
        logged_in(&b).await,
        "nothing happens before the user confirms"
    );
    let p = answer(&b, &p, true).await;
    assert_eq!(p.loc(), "http://example.org?state=987654321");
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// No parameters at all: the user confirms, then sees the "logged out" page (no redirect).
async fn oidcc_rp_initiated_logout_no_params(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[]).await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A hint but no `post_logout_redirect_uri`: logged out, the "logged out" page.
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("state", "s")])
        .await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(p.body.contains("Relying Party A"));
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A hint and a URI but no `state`: redirected to exactly the URI.
async fn oidcc_rp_initiated_logout_no_state(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    let p = confirmed(&b, p).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), "http://example.org");
    op.server.terminate();
}

/// Only `state`: logged out after confirmation, no redirect (nowhere to send `state`).
async fn oidcc_rp_initiated_logout_only_state(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[("state", "only")]).await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(!p.body.contains("only"));
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A registered URI with a query added: not registered, an error page, no redirect.
async fn oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://rp.example/bye?foo=bar"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// Hints that are not ID tokens of this provider (a changed payload, another key, `alg:
/// none`, garbage): an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_bad_id_token_hint(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let parts: Vec<&str> = hint.split('.').collect();
    let mut claims = claims_of(&hint);
    claims["sub"] = "999".into();
    let changed_payload = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    // Signed with a key that is not ours, under our kid.
    let foreign = oauth_toolkit_core::oidc::keys::generate(
        oauth_toolkit_core::oidc::keys::KeyAlgorithm::ES256,
    )
    .unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = header["kid"].as_str().map(str::to_owned);
    let foreign = jsonwebtoken::encode(
        &h,
        &claims_of(&hint),
        &jsonwebtoken::EncodingKey::from_ec_der(&pem_der(&foreign.private_key)),
    )
    .unwrap();
    for (what, bad) in [
        ("payload", changed_payload),
        ("alg none", none),
        ("foreign key", foreign),
        ("garbage", "111".to_string()),
    ] {
        let p = op
            .logout(
                &b,
                &[
                    ("id_token_hint", &bad),
                    ("post_logout_redirect_uri", "http://example.org"),
                    ("state", "s"),
                ],
            )
            .await;
        assert_eq!(p.status, 400, "{what}");
        assert_refused(&p, INVALID_HINT);
    }
    assert!(logged_in(&b).await);
    op.server.terminate();
}
