//! RFC-exact code exchange, against the real binary on SQLite and PostgreSQL: codes are not
//! spent by the wrong caller and a raced replay revokes all or nothing (RFC 6749 §4.1.2),
//! `redirect_uri` is repeated exactly (§4.1.3), a verifier without a challenge is refused
//! (RFC 9700 §2.1.1). The other endpoints' RFC-exact behaviour: `rfc_endpoints.rs`.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::grants::*;
use common::http_browser::Browser;
use common::*;
use serde_json::Value;

backends!(
    another_clients_code_is_not_spent,
    raced_replays_revoke_all_of_the_winner_or_nothing,
    redirect_uri_is_repeated_exactly,
    verifier_without_challenge_is_refused,
);

const CB: &str = "http://localhost/cb";
const NO_PKCE: (&str, &str) = ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false");

/// Another client presenting a code gets `invalid_grant`, and the code still works
/// for its own client (it used to be consumed before the client check).
async fn another_clients_code_is_not_spent(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let (other, other_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let server = Server::start(&env, &[NO_PKCE]);
    let code = make_code(&env, &id, "alice", CB, "read").await;
    let r = post_form(
        &server.base,
        "/o/token/",
        Some(&basic(&other, &other_secret)),
        &exchange(&code, Some(CB)),
    )
    .await;
    assert_eq!(err(&r), (400, Some("invalid_grant")), "{}", r.1);
    let r = post_form(
        &server.base,
        "/o/token/",
        Some(&basic(&id, &secret)),
        &exchange(&code, Some(CB)),
    )
    .await;
    assert_eq!(r.0, 200, "the code's own client still redeems it: {}", r.1);
}

/// The `jti` of an ID token (its payload, unverified).
fn jti(id_token: &str) -> uuid::Uuid {
    let payload = id_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["jti"].as_str().unwrap().parse().unwrap()
}

/// Rounds of 12 concurrent exchanges of one code over two processes. Exactly one
/// wins; every loser is a replay. Afterwards the winner's ID token record, access token and
/// refresh token are either all dead or all alive, never some of each.
async fn raced_replays_revoke_all_of_the_winner_or_nothing(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let a = Server::start(&env, &[NO_PKCE]);
    let b = Server::start(&env, &[NO_PKCE]);
    let auth = basic(&id, &secret);
    let store = env.db().await.store();
    for round in 0..4 {
        let code = make_code(&env, &id, "alice", CB, "openid read").await;
        let barrier = Arc::new(tokio::sync::Barrier::new(12));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let base = if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            let (auth, code, barrier) = (auth.clone(), code.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                post_form(&base, "/o/token/", Some(&auth), &exchange(&code, Some(CB))).await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let winners: Vec<&Value> = results
            .iter()
            .filter(|r| r.0 == 200)
            .map(|r| &r.1)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.0 == 200 || err(r) == (400, Some("invalid_grant"))),
            "{results:?}"
        );
        let w = winners[0];
        let (at, rt) = (
            w["access_token"].as_str().unwrap(),
            w["refresh_token"].as_str().unwrap(),
        );
        let id_row = store
            .find_id_token_by_jti(jti(w["id_token"].as_str().unwrap()))
            .await
            .unwrap();
        let introspected =
            post_form(&a.base, "/o/introspect/", Some(&auth), &[("token", at)]).await;
        let access_alive = introspected.1["active"] == true;
        let refreshed = post_form(
            &b.base,
            "/o/token/",
            Some(&auth),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
        let refresh_alive = refreshed.0 == 200;
        assert_eq!(
            (id_row.is_some(), access_alive, refresh_alive),
            (access_alive, access_alive, access_alive),
            "round {round}: ID token record, access token, refresh token"
        );
        // Every loser replayed the code after the winner committed: all of it is revoked.
        assert!(
            !access_alive,
            "round {round}: the replays revoked the winner's tokens"
        );
    }
}

/// The code `authorize/` answers for `extra` (a logged-in browser, an app that skips consent).
async fn authorize_code(b: &Browser, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("scope", "read"),
        ("state", "s"),
    ];
    q.extend_from_slice(extra);
    let page = b
        .get(&format!("/o/authorize/?{}", http_browser::encode(&q)))
        .await;
    let loc = reqwest::Url::parse(&page.loc()).unwrap();
    let code = loc.query_pairs().find(|(k, _)| k == "code");
    code.unwrap_or_else(|| panic!("no code in {loc}"))
        .1
        .into_owned()
}

/// RFC 6749 §4.1.3 and §5.2.
async fn redirect_uri_is_repeated_exactly(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB, "--skip-authorization"],
    );
    let (consent_id, consent_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let server = Server::start(&env, &[NO_PKCE]);
    let auth = basic(&id, &secret);
    let b = Browser::new(&server.base);
    b.login_as("alice", "wonderland").await;
    let token = |code: String, r: Option<&'static str>| {
        let (base, auth) = (server.base.clone(), auth.clone());
        async move { post_form(&base, "/o/token/", Some(&auth), &exchange(&code, r)).await }
    };

    // The request carried it: omitted → invalid_request, different → invalid_grant, and
    // neither spends the code; the identical value → tokens.
    let code = authorize_code(&b, &id, &[("redirect_uri", CB)]).await;
    assert_eq!(
        err(&token(code.clone(), None).await),
        (400, Some("invalid_request"))
    );
    assert_eq!(
        err(&token(code.clone(), Some("http://localhost/cb/")).await),
        (400, Some("invalid_grant"))
    );
    let r = token(code.clone(), Some(CB)).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // It did not: the token request may omit it, or send the registered URI used.
    let code = authorize_code(&b, &id, &[]).await;
    let r = token(code.clone(), None).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let code = authorize_code(&b, &id, &[]).await;
    assert_eq!(
        err(&token(code.clone(), Some("http://localhost/other")).await),
        (400, Some("invalid_grant"))
    );
    let r = token(code.clone(), Some(CB)).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Through the consent form: omitted at authorize stays omitted.
    let q = [
        ("response_type", "code"),
        ("client_id", consent_id.as_str()),
        ("scope", "read"),
    ];
    let page = b
        .get(&format!("/o/authorize/?{}", http_browser::encode(&q)))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = page.form_fields();
    form.push(("allow".into(), "Authorize".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let loc = reqwest::Url::parse(&b.post("/o/authorize/", &form).await.loc()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = post_form(
        &server.base,
        "/o/token/",
        Some(&basic(&consent_id, &consent_secret)),
        &exchange(&code, None),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
}

/// RFC 9700 §2.1.1. The refusal does not spend the code.
async fn verifier_without_challenge_is_refused(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    let server = Server::start(&env, &[NO_PKCE]);
    let auth = basic(&id, &secret);
    let code = make_code(&env, &id, "alice", CB, "read").await;
    let mut form = exchange(&code, Some(CB));
    form.push((
        "code_verifier",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ));
    let r = post_form(&server.base, "/o/token/", Some(&auth), &form).await;
    assert_eq!(err(&r), (400, Some("invalid_grant")), "{}", r.1);
    let r = post_form(
        &server.base,
        "/o/token/",
        Some(&auth),
        &exchange(&code, Some(CB)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
}
