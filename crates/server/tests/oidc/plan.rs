//! One implementation per conformance module, for any response type ([`Op::variant`]).

use serde_json::Value;

use crate::common::http_browser::{client, encode, Browser};
use crate::support::*;

pub async fn oidcc_server(op: Op) {
    let b = op.browser().await;
    let s = op.flow(&b, &[]).await;
    assert_eq!(s.claims["nonce"], NONCE);
    assert!(s.claims["auth_time"].is_i64());
    assert!(s.claims["sid"].is_string());
    op.server.terminate();
}

pub async fn oidcc_idtoken_signature(op: Op) {
    let b = op.browser().await;
    let s = op.flow(&b, &[]).await;
    let header = header_of(s.id_token());
    assert_eq!(header["alg"], "RS256");
    let kids: Vec<Value> = op.jwks().await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(kids.contains(&header["kid"]), "{header}");
    op.server.terminate();
}

/// An ID token from the authorization endpoint needs a nonce.
pub async fn oidcc_ensure_request_without_nonce_fails(op: Op) {
    let b = op.browser().await;
    let p = op.get_authorize(&b, &[("nonce", "")]).await;
    assert_eq!(op.error_of(&p), "invalid_request");
    op.server.terminate();
}

pub async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(op: Op) {
    let b = op.browser().await;
    let s = op.flow(&b, &[("nonce", "")]).await;
    assert!(s.claims.get("nonce").is_none());
    op.server.terminate();
}

async fn scope(op: Op, scope: &str, present: &[&str], absent: &[&str]) {
    let b = op.browser().await;
    let s = op.flow(&b, &[("scope", scope)]).await;
    let claims = op.user_claims(&s).await;
    for c in present {
        assert!(claims.get(*c).is_some(), "{c} in {claims}");
    }
    for c in absent {
        assert!(claims.get(*c).is_none(), "{c} not in {claims}");
    }
    op.server.terminate();
}

pub async fn oidcc_scope_profile(op: Op) {
    let profile = ["name", "given_name", "family_name", "preferred_username"];
    scope(op, "openid profile", &profile, &["email"]).await;
}

pub async fn oidcc_scope_email(op: Op) {
    scope(op, "openid email", &["sub", "email"], &["name"]).await;
}

pub async fn oidcc_scope_address(op: Op) {
    scope(op, "openid address", &["sub"], &["address", "name"]).await;
}

pub async fn oidcc_scope_phone(op: Op) {
    scope(op, "openid phone", &["sub"], &["phone_number", "name"]).await;
}

pub async fn oidcc_scope_all(op: Op) {
    let all = "openid profile email address phone";
    scope(
        op,
        all,
        &["sub", "name", "email", "preferred_username"],
        &[],
    )
    .await;
}

/// Reversed scope order, parameters in reverse order.
pub async fn oidcc_alternate_happy_flow(op: Op) {
    let b = op.browser().await;
    let mut params = op.params(&[("scope", "email profile openid")]);
    params.reverse();
    let p = b.get(&format!("{AUTHORIZE}?{}", encode(&params))).await;
    let loc = op.approve_page(&b, p).await;
    let s = op.complete(&loc).await;
    assert!(op.user_claims(&s).await["email"].is_string());
    op.server.terminate();
}

/// A parameter the provider accepts (and ignores): the flow succeeds.
async fn accepted(op: Op, name: &str, value: &str) {
    let b = op.browser().await;
    let s = op.flow(&b, &[(name, value)]).await;
    assert_eq!(s.claims["nonce"], NONCE);
    op.server.terminate();
}

pub async fn oidcc_display_page(op: Op) {
    accepted(op, "display", "page").await;
}
pub async fn oidcc_display_popup(op: Op) {
    accepted(op, "display", "popup").await;
}
pub async fn oidcc_ensure_request_with_unknown_parameter_succeeds(op: Op) {
    accepted(op, "extra", "foobar").await;
}
pub async fn oidcc_login_hint(op: Op) {
    let user = op.user.clone();
    accepted(op, "login_hint", &user).await;
}
pub async fn oidcc_ui_locales(op: Op) {
    accepted(op, "ui_locales", "se").await;
}
pub async fn oidcc_claims_locales(op: Op) {
    accepted(op, "claims_locales", "se").await;
}
pub async fn oidcc_ensure_request_with_acr_values_succeeds(op: Op) {
    accepted(op, "acr_values", "1 2").await;
}

/// A second authorization with `extra` must log in again: the login page, then the flow
/// continues; the new ID token has a later `auth_time`.
async fn relogin(op: Op, wait: i64, extra: &[(&str, &str)]) {
    let b = op.browser().await;
    let first = op.flow(&b, &[]).await.claims;
    sleep_until(first["auth_time"].as_i64().unwrap(), wait).await;
    let p = op.get_authorize(&b, extra).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    let next = query_of(&login)["next"].clone();
    assert!(!next.contains("prompt"), "{next}");
    let r = b.login_next(&op.user, "123456", &next).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let p = b.get(&r.loc()).await;
    let loc = op.approve_page(&b, p).await;
    let second = op.complete(&loc).await.claims;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    op.server.terminate();
}

pub async fn oidcc_prompt_login(op: Op) {
    relogin(op, 1, &[("prompt", "login")]).await;
}

pub async fn oidcc_max_age_1(op: Op) {
    relogin(op, 2, &[("max_age", "1")]).await;
}

pub async fn oidcc_max_age_10000(op: Op) {
    let b = op.browser().await;
    let first = op.flow(&b, &[]).await.claims;
    let second = op.flow(&b, &[("max_age", "10000")]).await.claims;
    assert_eq!(second["auth_time"], first["auth_time"], "no new login");
    op.server.terminate();
}

pub async fn oidcc_prompt_none_not_logged_in(op: Op) {
    let b = Browser::new(op.base());
    let p = op.get_authorize(&b, &[("prompt", "none")]).await;
    assert_eq!(op.error_of(&p), "login_required");
    op.server.terminate();
}

/// Without consent `consent_required`; after it, the response silently.
pub async fn oidcc_prompt_none_logged_in(op: Op) {
    let b = op.browser().await;
    let p = op.get_authorize(&b, &[("prompt", "none")]).await;
    assert_eq!(op.error_of(&p), "consent_required");
    op.flow(&b, &[]).await;
    let p = op.get_authorize(&b, &[("prompt", "none")]).await;
    assert_eq!(p.status, 302, "{}", p.body);
    op.complete(&p.loc()).await;
    op.server.terminate();
}

/// `prompt=none` with the ID token of the first login as the hint succeeds silently.
pub async fn oidcc_id_token_hint(op: Op) {
    let b = op.browser().await;
    let first = op.flow(&b, &[]).await;
    let hint = first.id_token().to_string();
    let p = op
        .get_authorize(&b, &[("prompt", "none"), ("id_token_hint", &hint)])
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
    let s = op.complete(&p.loc()).await;
    assert_eq!(s.claims["sub"], first.claims["sub"]);
    op.server.terminate();
}

/// An unregistered redirect URI: an error page, no redirect.
pub async fn oidcc_ensure_registered_redirect_uri(op: Op) {
    let b = op.browser().await;
    let p = op
        .get_authorize(&b, &[("redirect_uri", "https://attacker.example/cb")])
        .await;
    assert_eq!(p.status, 400);
    assert!(p.location().is_none());
    op.server.terminate();
}

pub async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(op: Op) {
    let b = op.browser().await;
    let uri = [("request_uri", "https://rp.example/request.jwt")];
    let p = op.get_authorize(&b, &uri).await;
    assert_eq!(op.error_of(&p), "request_uri_not_supported");
    op.server.terminate();
}

/// An unsigned request object with the request's own parameters.
fn request_object(op: &Op, redirect_uri: &str) -> String {
    let mut claims = serde_json::Map::new();
    for (k, v) in op.params(&[("redirect_uri", redirect_uri)]) {
        claims.insert(k.into(), v.into());
    }
    let header = b64(&serde_json::json!({"alg": "none"}));
    format!("{header}.{}.", b64(&Value::Object(claims)))
}

pub async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(op: Op) {
    let b = op.browser().await;
    let request = request_object(&op, REDIRECT);
    let p = op.get_authorize(&b, &[("request", &request)]).await;
    assert_eq!(op.error_of(&p), "request_not_supported");
    op.server.terminate();
}

/// Request objects are rejected (design.md: `request_not_supported`), also when the
/// object carries its own redirect URI: the error goes to the registered one of the
/// request, never to the object's.
pub async fn oidcc_ensure_request_object_with_redirect_uri(op: Op) {
    let b = op.browser().await;
    let request = request_object(&op, "https://rp.example/other-cb");
    let p = op.get_authorize(&b, &[("request", &request)]).await;
    assert_eq!(op.error_of(&p), "request_not_supported");
    op.server.terminate();
}

/// `name` asked for as essential with only the `openid` scope: released at userinfo (in
/// the ID token when no access token is issued).
pub async fn oidcc_claims_essential(op: Op) {
    let target = if op.has("token") || op.has("code") {
        "userinfo"
    } else {
        "id_token"
    };
    let claims = format!(r#"{{"{target}":{{"name":{{"essential":true}}}}}}"#);
    let b = op.browser().await;
    let s = op.flow(&b, &[("claims", &claims)]).await;
    let released = op.user_claims(&s).await;
    assert_eq!(released["name"], "Test User", "{released}");
    assert!(released.get("email").is_none());
    op.server.terminate();
}

/// Userinfo with the access token, by `method`, in the `Authorization` header or the
/// form body; the same `sub` as the ID token.
async fn userinfo(op: Op, method: reqwest::Method, in_body: bool) {
    let b = op.browser().await;
    let s = op.flow(&b, &[]).await;
    let at = s.access_token().unwrap();
    let r = client().request(method, format!("{}/o/userinfo/", op.base()));
    let r = if in_body {
        r.header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[("access_token", at)]))
    } else {
        r.bearer_auth(at)
    };
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["sub"], s.claims["sub"]);
    op.server.terminate();
}

pub async fn oidcc_userinfo_get(op: Op) {
    userinfo(op, reqwest::Method::GET, false).await;
}
pub async fn oidcc_userinfo_post_header(op: Op) {
    userinfo(op, reqwest::Method::POST, false).await;
}
pub async fn oidcc_userinfo_post_body(op: Op) {
    userinfo(op, reqwest::Method::POST, true).await;
}

/// No `response_type`: an error for the client (query or fragment), never a response.
pub async fn oidcc_response_type_missing(op: Op) {
    let b = op.browser().await;
    let p = op.get_authorize(&b, &[("response_type", "")]).await;
    assert_eq!(p.status, 302, "{}", p.body);
    let loc = p.loc();
    let mut r = query_of(&loc);
    r.extend(fragment_of(&loc));
    assert!(
        ["invalid_request", "unsupported_response_type"].contains(&r["error"].as_str()),
        "{loc}"
    );
    assert!(!r.contains_key("code") && !r.contains_key("id_token"));
    op.server.terminate();
}

/// The code of the response, exchanged once (by the flow), then again: `invalid_grant`.
/// Returns the first exchange's token response.
async fn reuse_code(op: &Op) -> Value {
    let b = op.browser().await;
    let s = op.flow(&b, &[]).await;
    let (status, body) = op
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &s.front["code"]),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    s.back.unwrap()
}

pub async fn oidcc_codereuse(op: Op) {
    reuse_code(&op).await;
    op.server.terminate();
}

/// Also: the tokens issued from the reused code are revoked.
pub async fn oidcc_codereuse_30seconds(op: Op) {
    let t = reuse_code(&op).await;
    let r = op.userinfo_get(t["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 401, "the first access token was revoked");
    op.server.terminate();
}

pub async fn oidcc_server_client_secret_post(op: Op) {
    let b = op.browser().await;
    let front = op.front(&op.authorize(&b, &[]).await).await;
    let r = client()
        .post(format!("{}/o/token/", op.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "authorization_code"),
            ("code", &front["code"]),
            ("redirect_uri", REDIRECT),
            ("client_id", &op.client_id),
            ("client_secret", &op.secret),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    op.signed(front, Some(r.json().await.unwrap())).await;
    op.server.terminate();
}

pub async fn oidcc_ensure_request_with_valid_pkce_succeeds(op: Op) {
    let b = op.browser().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = oauth_toolkit_core::pkce::s256_challenge(verifier);
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let front = op.front(&op.authorize(&b, &pkce).await).await;
    let (status, t) = op
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &front["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!(status, 200, "{t}");
    op.signed(front, Some(t)).await;
    op.server.terminate();
}

/// A refresh gives a new ID token for the same authentication, bound to the client.
pub async fn oidcc_refresh_token(op: Op) {
    let b = op.browser().await;
    let s = op.flow(&b, &[]).await;
    let rt = s.back.as_ref().unwrap()["refresh_token"].as_str().unwrap();
    let (status, r) = op
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!(status, 200, "{r}");
    let second = op.verify(r["id_token"].as_str().unwrap()).await;
    assert_eq!(second["sub"], s.claims["sub"]);
    assert_eq!(second["auth_time"], s.claims["auth_time"]);
    assert_eq!(
        second["at_hash"].as_str(),
        Some(half_hash(r["access_token"].as_str().unwrap()).as_str())
    );
    let (other, other_secret) = op.other_client.clone().expect("another client");
    let r = client()
        .post(format!("{}/o/token/", op.base()))
        .basic_auth(&other, Some(&other_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "another client cannot use it");
    op.server.terminate();
}
