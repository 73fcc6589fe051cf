mod common;
use common::*;

// OpenID Connect, black-box over real HTTP against `oauth-toolkit serve`, on SQLite and
// PostgreSQL. Tests named `oidcc_*` mirror the OpenID conformance suite's modules of the
// Basic, Implicit, Hybrid and Config OP plans (peers.md §5b), one test per module with the
// module's expectation; where a module needs a person to look at an error page, the page's
// status and the absence of a redirect are asserted.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::http_browser::{client, encode, Browser, Page};
use reqwest::Url;
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1/cb";
const AUTHORIZE: &str = "/o/authorize/";
const NONCE: &str = "n-0S6_WzA2Mj";
const STATE: &str = "af0ifjsldkj";

/// A running provider, a user `test_user` (with profile and email), and a confidential
/// authorization-code client.
struct Op {
    server: Server,
    client_id: String,
    secret: String,
}

fn settings(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        // The certification profiles send PKCE only in their PKCE module.
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
    ];
    v.extend_from_slice(extra);
    v
}

fn op_with(
    env: &Env,
    grant: &str,
    app_args: &[&str],
    extra: &[(&'static str, &'static str)],
) -> Op {
    let o = env.run(&[
        "createuser",
        "test_user",
        "--password",
        "123456",
        "--email",
        "test@example.org",
        "--first-name",
        "Test",
        "--last-name",
        "User",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = vec!["--redirect-uris", REDIRECT, "--name", "RP"];
    args.extend_from_slice(app_args);
    let (client_id, secret) = env.create_app("confidential", grant, &args);
    Op {
        server: Server::start(env, &settings(extra)),
        client_id,
        secret,
    }
}

fn op(env: &Env) -> Op {
    op_with(env, "authorization-code", &[], &[])
}

fn decode(s: &str) -> BTreeMap<String, String> {
    Url::parse(&format!("http://x/?{s}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_of(location: &str) -> BTreeMap<String, String> {
    let before = location.split('#').next().unwrap();
    decode(before.split_once('?').map(|x| x.1).unwrap_or(""))
}

fn fragment_of(location: &str) -> BTreeMap<String, String> {
    decode(location.split_once('#').map(|x| x.1).unwrap_or(""))
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

fn half_hash(v: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(v.as_bytes())[..16])
}

impl Op {
    fn base(&self) -> &str {
        &self.server.base
    }

    fn issuer(&self) -> String {
        format!("{}/o", self.server.base)
    }

    fn params<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = vec![
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", REDIRECT),
            ("state", STATE),
            ("nonce", NONCE),
        ];
        for (k, val) in extra {
            v.retain(|(n, _)| n != k);
            if !val.is_empty() {
                v.push((k, val));
            }
        }
        v
    }

    /// A logged-in browser.
    async fn browser(&self) -> Browser {
        let b = Browser::new(self.base());
        b.login().await;
        b
    }

    /// GET the authorization endpoint; approve the consent page when shown; the Location.
    async fn authorize(&self, b: &Browser, extra: &[(&str, &str)]) -> String {
        let p = b
            .get(&format!("{AUTHORIZE}?{}", encode(&self.params(extra))))
            .await;
        self.approve_page(b, p).await
    }

    async fn approve_page(&self, b: &Browser, p: Page) -> String {
        if p.status == 302 {
            return p.loc();
        }
        assert_eq!(p.status, 200, "{}", p.body);
        let fields = p.form_fields();
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("allow", "Authorize"));
        let r = b.post(AUTHORIZE, &form).await;
        assert_eq!(r.status, 302, "{}", r.body);
        r.loc()
    }

    async fn code(&self, b: &Browser, extra: &[(&str, &str)]) -> String {
        let loc = self.authorize(b, extra).await;
        let q = query_of(&loc);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(q.get("state").map(String::as_str), Some(STATE), "{loc}");
        q.get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {loc}"))
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = client()
            .post(format!("{}/o/token/", self.base()))
            .basic_auth(&self.client_id, Some(&self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn exchange(&self, code: &str) -> Value {
        let (status, body) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn jwks(&self) -> Value {
        client()
            .get(format!("{}/o/.well-known/jwks.json", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Verify an ID token as an RP would: signature by `kid` from the JWKS, iss, aud, exp.
    async fn verify(&self, jwt: &str) -> Value {
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(self.jwks().await).unwrap();
        let kid = header.kid.expect("kid");
        let jwk = jwks.find(&kid).expect("kid in the JWKS");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_audience(&[&self.client_id]);
        v.set_issuer(&[self.issuer()]);
        jsonwebtoken::decode::<Value>(jwt, &key, &v)
            .expect("valid ID token")
            .claims
    }

    async fn userinfo_get(&self, token: &str) -> reqwest::Response {
        client()
            .get(format!("{}/o/userinfo/", self.base()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Code flow, consent, exchange: the token response.
    async fn sign_in(&self, b: &Browser, extra: &[(&str, &str)]) -> Value {
        let code = self.code(b, extra).await;
        self.exchange(&code).await
    }
}

// ---------------------------------------------------------------------------------------------
// Basic OP plan
// ---------------------------------------------------------------------------------------------

/// Happy-path code flow: ID token signed RS256 with a published `kid`, iss/aud/exp/iat,
/// nonce, auth_time (the login's time), at_hash, sid, jti; the IDToken row is linked to the
/// access token.
async fn oidcc_server(env: Env) {
    let op = op(&env);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let jwt = t["id_token"].as_str().expect("id_token");
    let c = op.verify(jwt).await;
    assert_eq!(header_of(jwt)["alg"], "RS256");
    assert_eq!(header_of(jwt)["typ"], "JWT");
    assert_eq!(c["nonce"], NONCE);
    assert_eq!(c["iss"], op.issuer());
    assert_eq!(c["aud"], op.client_id.as_str());
    assert!(c["sub"].is_string());
    let auth_time = c["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time >= before - 1 && auth_time <= c["iat"].as_i64().unwrap());
    assert_eq!(
        c["at_hash"].as_str().unwrap(),
        half_hash(t["access_token"].as_str().unwrap())
    );
    assert!(c["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(c["jti"].is_string());
    assert!(c["exp"].as_i64().unwrap() > c["iat"].as_i64().unwrap());
    // The record, linked to the access token.
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    assert_eq!(
        count_rows(
            &db,
            "oauth2_provider_accesstoken WHERE id_token_id IS NOT NULL"
        )
        .await,
        1
    );
    op.server.terminate();
}

/// Discovery (Config OP plan): issuer, endpoints, keys, response and grant types, algs.
async fn oidcc_discovery_endpoint_verification(env: Env) {
    let op = op(&env);
    let url = format!("{}/o/.well-known/openid-configuration", op.base());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let doc: Value = r.json().await.unwrap();
    let slash: Value = client()
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, slash, "trailing slash: same document");
    let iss = op.issuer();
    assert_eq!(doc["issuer"], iss.as_str());
    assert_eq!(doc["authorization_endpoint"], format!("{iss}/authorize/"));
    assert_eq!(doc["token_endpoint"], format!("{iss}/token/"));
    assert_eq!(doc["userinfo_endpoint"], format!("{iss}/userinfo/"));
    assert_eq!(doc["jwks_uri"], format!("{iss}/.well-known/jwks.json"));
    assert_eq!(doc["revocation_endpoint"], format!("{iss}/revoke_token/"));
    assert_eq!(doc["introspection_endpoint"], format!("{iss}/introspect/"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["plain", "S256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&"RS256".into()));
    let types = doc["response_types_supported"].as_array().unwrap();
    for t in [
        "code",
        "id_token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
    ] {
        assert!(types.contains(&t.into()), "{t}");
    }
    assert!(doc["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&"openid".into()));
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"authorization_code".into()));
    // The JWKS: RFC 7638 kid, RS256, public members only; DOT's cache and CORS headers.
    let r = client()
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=3600, stale-while-revalidate=3600, stale-if-error=3600"
    );
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    assert!(keys[0].get("d").is_none());
    op.server.terminate();
}

async fn assert_userinfo(op: &Op, r: reqwest::Response) {
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let body: Value = r.json().await.unwrap();
    assert!(body["sub"].is_string(), "{body}");
    let _ = op;
}

async fn oidcc_userinfo_get(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let at = t["access_token"].as_str().unwrap();
    assert_userinfo(&op, op.userinfo_get(at).await).await;
    op.server.terminate();
}

async fn oidcc_userinfo_post_header(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let r = client()
        .post(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_userinfo(&op, r).await;
    op.server.terminate();
}

async fn oidcc_userinfo_post_body(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let r = client()
        .post(format!("{}/o/userinfo/", op.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[(
            "access_token",
            t["access_token"].as_str().unwrap(),
        )]))
        .send()
        .await
        .unwrap();
    assert_userinfo(&op, r).await;
    op.server.terminate();
}

/// Userinfo errors: RFC 6750 challenges; a token without `openid` is `insufficient_scope`
/// (403, DOT answers 401: §13 #7).
async fn userinfo_errors_carry_bearer_challenges(env: Env) {
    let op = op(&env);
    let r = client()
        .get(format!("{}/o/userinfo/", op.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let r = op.userinfo_get("not-a-real-token").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    let b = op.browser().await;
    let t = op.sign_in(&b, &[("scope", "read")]).await;
    assert!(t.get("id_token").is_none(), "no openid, no ID token");
    let r = op.userinfo_get(t["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    op.server.terminate();
}

async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[("nonce", "")]).await;
    let c = op.verify(t["id_token"].as_str().unwrap()).await;
    assert!(c.get("nonce").is_none());
    op.server.terminate();
}

async fn scope_case(env: Env, scope: &str, present: &[&str], absent: &[&str]) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[("scope", scope)]).await;
    let info: Value = op
        .userinfo_get(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    for c in present {
        assert!(info.get(*c).is_some(), "{c} in {info}");
    }
    for c in absent {
        assert!(info.get(*c).is_none(), "{c} not in {info}");
    }
    op.server.terminate();
}

async fn oidcc_scope_profile(env: Env) {
    scope_case(
        env,
        "openid profile",
        &[
            "sub",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
        ],
        &["email"],
    )
    .await;
}

async fn oidcc_scope_email(env: Env) {
    scope_case(env, "openid email", &["sub", "email"], &["name"]).await;
}

/// The user store has no address: the scope is accepted and the claim left out (Core §5.4).
async fn oidcc_scope_address(env: Env) {
    scope_case(env, "openid address", &["sub"], &["address", "email"]).await;
}

async fn oidcc_scope_phone(env: Env) {
    scope_case(env, "openid phone", &["sub"], &["phone_number", "email"]).await;
}

async fn oidcc_scope_all(env: Env) {
    scope_case(
        env,
        "openid profile email address phone",
        &["sub", "name", "email", "preferred_username"],
        &[],
    )
    .await;
}

async fn oidcc_alternate_happy_flow(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    // Reversed scope order, parameters in another order.
    let params = [
        ("nonce", NONCE),
        ("state", STATE),
        ("redirect_uri", REDIRECT),
        ("scope", "email profile openid"),
        ("response_type", "code"),
        ("client_id", op.client_id.as_str()),
    ];
    let p = b.get(&format!("{AUTHORIZE}?{}", encode(&params))).await;
    let loc = op.approve_page(&b, p).await;
    let t = op.exchange(&query_of(&loc)["code"]).await;
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}

async fn accepted_parameter(env: Env, name: &'static str, value: &'static str) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[(name, value)]).await;
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}

async fn oidcc_display_page(env: Env) {
    accepted_parameter(env, "display", "page").await;
}
async fn oidcc_display_popup(env: Env) {
    accepted_parameter(env, "display", "popup").await;
}
async fn oidcc_ensure_request_with_unknown_parameter_succeeds(env: Env) {
    accepted_parameter(env, "extra", "foobar").await;
}
async fn oidcc_login_hint(env: Env) {
    accepted_parameter(env, "login_hint", "test_user").await;
}
async fn oidcc_ui_locales(env: Env) {
    accepted_parameter(env, "ui_locales", "se").await;
}
async fn oidcc_claims_locales(env: Env) {
    accepted_parameter(env, "claims_locales", "se").await;
}
async fn oidcc_ensure_request_with_acr_values_succeeds(env: Env) {
    accepted_parameter(env, "acr_values", "1 2").await;
}

/// `prompt=login` with a session forces a new login; the new ID token has a later auth_time.
async fn oidcc_prompt_login(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("prompt", "login")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    let next = query_of(&login)["next"].clone();
    assert!(!next.contains("prompt"), "{next}");
    let r = b.login_next("test_user", "123456", &next).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let p = b.get(&r.loc()).await;
    let loc = op.approve_page(&b, p).await;
    let t = op.exchange(&query_of(&loc)["code"]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    op.server.terminate();
}

async fn oidcc_prompt_none_not_logged_in(env: Env) {
    let op = op(&env);
    let b = Browser::new(op.base());
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none")]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = query_of(&p.loc());
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], STATE);
    op.server.terminate();
}

/// A logged-in user who consented before is answered silently; one who did not gets
/// `consent_required` — never a page (DOT §13 #1, #2).
async fn oidcc_prompt_none_logged_in(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("prompt", "none")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    assert_eq!(query_of(&p.loc())["error"], "consent_required");
    op.sign_in(&b, &[]).await;
    let p = b.get(&url).await;
    assert_eq!(p.status, 302, "{}", p.body);
    let code = query_of(&p.loc())["code"].clone();
    let t = op.exchange(&code).await;
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}

/// `max_age=1` after more than a second: a new login is required (and `auth_time` moves).
async fn oidcc_max_age_1(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("max_age", "1")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    // prompt=none with an expired max_age: login_required, no page.
    let none = format!(
        "{AUTHORIZE}?{}",
        encode(&op.params(&[("max_age", "1"), ("prompt", "none")]))
    );
    assert_eq!(
        query_of(&b.get(&none).await.loc())["error"],
        "login_required"
    );
    let next = query_of(&login)["next"].clone();
    let r = b.login_next("test_user", "123456", &next).await;
    let p = b.get(&r.loc()).await;
    let loc = op.approve_page(&b, p).await;
    let t = op.exchange(&query_of(&loc)["code"]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    op.server.terminate();
}

async fn oidcc_max_age_10000(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    let t = op.sign_in(&b, &[("max_age", "10000")]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert_eq!(second["auth_time"], first["auth_time"], "no new login");
    op.server.terminate();
}

/// `prompt=none` with the `id_token_hint` of the first login succeeds silently.
async fn oidcc_id_token_hint(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let hint = t["id_token"].as_str().unwrap();
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none"), ("id_token_hint", hint)]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = query_of(&p.loc());
    assert!(q.contains_key("code"), "{q:?}");
    op.server.terminate();
}

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

// ---------------------------------------------------------------------------------------------
// Implicit and Hybrid OP plans
// ---------------------------------------------------------------------------------------------

async fn front_channel(op: &Op, b: &Browser, response_type: &str) -> BTreeMap<String, String> {
    let loc = op.authorize(b, &[("response_type", response_type)]).await;
    assert!(loc.starts_with(&format!("{REDIRECT}#")), "fragment: {loc}");
    let f = fragment_of(&loc);
    assert_eq!(f.get("state").map(String::as_str), Some(STATE), "{loc}");
    f
}

/// Implicit `id_token` and `id_token token`: nonce, at_hash only with an access token.
async fn oidcc_implicit_server(env: Env) {
    let op = op_with(&env, "implicit", &[], &[]);
    let b = op.browser().await;
    let f = front_channel(&op, &b, "id_token").await;
    assert!(!f.contains_key("access_token"));
    let c = op.verify(&f["id_token"]).await;
    assert_eq!(c["nonce"], NONCE);
    assert!(c.get("at_hash").is_none());
    let f = front_channel(&op, &b, "id_token token").await;
    let c = op.verify(&f["id_token"]).await;
    assert_eq!(
        c["at_hash"].as_str().unwrap(),
        half_hash(&f["access_token"])
    );
    assert!(!f.contains_key("refresh_token"));
    let r = op.userinfo_get(&f["access_token"]).await;
    assert_eq!(r.status(), 200);
    op.server.terminate();
}

/// Nonce is mandatory when an ID token comes from the authorization endpoint.
async fn oidcc_ensure_request_without_nonce_fails(env: Env) {
    let op = op_with(&env, "implicit", &[], &[]);
    let b = op.browser().await;
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("response_type", "id_token"), ("nonce", "")]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let f = fragment_of(&p.loc());
    assert_eq!(f["error"], "invalid_request");
    assert_eq!(
        f["error_description"],
        "Request is missing mandatory nonce parameter."
    );
    op.server.terminate();
}

/// Hybrid `code id_token`, `code token`, `code id_token token`: c_hash and at_hash; the code
/// exchanges for an ID token with the same nonce.
async fn oidcc_hybrid_server(env: Env) {
    let op = op_with(&env, "openid-hybrid", &[], &[]);
    let b = op.browser().await;
    let f = front_channel(&op, &b, "code id_token").await;
    let c = op.verify(&f["id_token"]).await;
    assert_eq!(c["c_hash"].as_str().unwrap(), half_hash(&f["code"]));
    assert!(c.get("at_hash").is_none());
    let t = op.exchange(&f["code"]).await;
    assert_eq!(
        op.verify(t["id_token"].as_str().unwrap()).await["nonce"],
        NONCE
    );

    let f = front_channel(&op, &b, "code token").await;
    assert!(
        f.contains_key("code") && f.contains_key("access_token") && !f.contains_key("id_token")
    );

    let f = front_channel(&op, &b, "code id_token token").await;
    let c = op.verify(&f["id_token"]).await;
    assert_eq!(c["c_hash"].as_str().unwrap(), half_hash(&f["code"]));
    assert_eq!(
        c["at_hash"].as_str().unwrap(),
        half_hash(&f["access_token"])
    );
    op.server.terminate();
}

// ---------------------------------------------------------------------------------------------
// Keys, tampering, a real relying party
// ---------------------------------------------------------------------------------------------

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// `id_token_hint`s that are not exactly what the provider signed are refused (fail closed):
/// a changed signature or payload, an unknown `kid`, `alg: none`, HS256 keyed with the RSA
/// public key, another issuer's audience.
async fn id_token_hint_tampering_is_rejected(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let good = t["id_token"].as_str().unwrap().to_string();
    let parts: Vec<&str> = good.split('.').collect();
    let header = header_of(&good);
    let claims = claims_of(&good);

    let mut flipped_sig = parts[2].to_string();
    let last = flipped_sig.pop().unwrap();
    flipped_sig.push(if last == 'A' { 'B' } else { 'A' });
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], flipped_sig);

    let mut other_claims = claims.clone();
    other_claims["sub"] = "999".into();
    let bad_payload = format!("{}.{}.{}", parts[0], b64(&other_claims), parts[2]);

    let mut h = header.clone();
    h["kid"] = "not-a-kid".into();
    let bad_kid = format!("{}.{}.{}", b64(&h), parts[1], parts[2]);

    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );

    // HS256 with the RSA public key (as JWK JSON and as its modulus) as the HMAC secret.
    let jwks = op.jwks().await;
    let jwk = &jwks["keys"][0];
    let mut hs_tokens = Vec::new();
    for secret in [
        serde_json::to_string(jwk).unwrap(),
        jwk["n"].as_str().unwrap().to_string(),
    ] {
        let mut hh = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hh.kid = header["kid"].as_str().map(str::to_owned);
        hs_tokens.push(
            jsonwebtoken::encode(
                &hh,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap(),
        );
    }

    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = "https://evil.example".into();
    let wrong_iss = format!("{}.{}.{}", parts[0], b64(&wrong_iss), parts[2]);

    let mut cases = vec![
        ("signature", bad_signature),
        ("payload", bad_payload),
        ("kid", bad_kid),
        ("alg none", none),
        ("iss", wrong_iss),
        ("garbage", "111".to_string()),
    ];
    for (i, t) in hs_tokens.into_iter().enumerate() {
        cases.push((if i == 0 { "HS256 jwk" } else { "HS256 n" }, t));
    }
    for (what, hint) in cases {
        let p = b
            .get(&format!(
                "{AUTHORIZE}?{}",
                encode(&op.params(&[("prompt", "none"), ("id_token_hint", &hint)]))
            ))
            .await;
        assert_eq!(p.status, 302, "{what}");
        let q = query_of(&p.loc());
        assert!(!q.contains_key("code"), "{what}: accepted a tampered hint");
        assert_eq!(q["error"], "invalid_request", "{what}");
    }
    // The untouched hint still works.
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none"), ("id_token_hint", &good)]))
        ))
        .await;
    assert!(query_of(&p.loc()).contains_key("code"));
    op.server.terminate();
}

/// Every process of a deployment signs with the one key generated on first start.
async fn processes_share_the_signing_key(env: Env) {
    let op = op(&env);
    let other = Server::start(&env, &settings(&[]));
    let a = op.jwks().await;
    let b: Value = client()
        .get(format!("{}/o/.well-known/jwks.json", other.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        count_rows(&env.db().await, "oauth_toolkit_signingkey").await,
        1
    );
    other.terminate();
    op.server.terminate();
}

/// OIDC off: discovery, JWKS and userinfo are 404, no ID token is issued.
async fn oidc_disabled_is_plain_oauth(env: Env) {
    let op = op_with(
        &env,
        "authorization-code",
        &[],
        &[("OAUTH_TOOLKIT_OIDC_ENABLED", "false")],
    );
    for path in [
        "/o/.well-known/openid-configuration",
        "/o/.well-known/jwks.json",
        "/o/userinfo/",
        "/o/logout/",
    ] {
        let r = client()
            .get(format!("{}{path}", op.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    op.server.terminate();
}

/// HS256 applications (DOT §5.7): the ID token is an HMAC with the plaintext client secret.
async fn hs256_applications_sign_with_their_secret(env: Env) {
    let op = op_with(
        &env,
        "authorization-code",
        &["--algorithm", "HS256", "--no-hash-client-secret"],
        &[],
    );
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let jwt = t["id_token"].as_str().unwrap();
    assert_eq!(header_of(jwt)["alg"], "HS256");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[&op.client_id]);
    jsonwebtoken::decode::<Value>(
        jwt,
        &jsonwebtoken::DecodingKey::from_secret(op.secret.as_bytes()),
        &v,
    )
    .expect("HMAC with the client secret");
    op.server.terminate();
}

/// A standard relying party (the `openidconnect` crate): discovery → code flow with PKCE →
/// ID token verification against the JWKS (signature, iss, aud, nonce, at_hash) → userinfo
/// → refresh with a new ID token. No special casing.
async fn openidconnect_relying_party_signs_in(env: Env) {
    use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
    use openidconnect::{
        AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
        IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
        TokenResponse,
    };
    let op = op(&env);
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(op.issuer()).unwrap(), &http)
            .await
            .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(op.client_id.clone()),
        Some(ClientSecret::new(op.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let b = op.browser().await;
    let path = &url.as_str()[op.base().len()..];
    let p = b.get(path).await;
    let loc = op.approve_page(&b, p).await;
    let q = query_of(&loc);
    assert_eq!(&q["state"], csrf.secret());
    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("verified ID token");
    let hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&hash));
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.email().map(|e| e.as_str()), Some("test@example.org"));
    let info: openidconnect::core::CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some("test_user")
    );
    let refreshed = rp
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_id = refreshed.id_token().expect("a new ID token on refresh");
    let new_claims = new_id
        .claims(&verifier, |n: Option<&Nonce>| {
            n.map_or(Ok(()), |_| Err("no nonce expected on refresh".to_string()))
        })
        .expect("verified refreshed ID token");
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
    op.server.terminate();
}

backends!(
    oidcc_server,
    oidcc_discovery_endpoint_verification,
    oidcc_userinfo_get,
    oidcc_userinfo_post_header,
    oidcc_userinfo_post_body,
    userinfo_errors_carry_bearer_challenges,
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    oidcc_scope_profile,
    oidcc_scope_email,
    oidcc_scope_address,
    oidcc_scope_phone,
    oidcc_scope_all,
    oidcc_alternate_happy_flow,
    oidcc_display_page,
    oidcc_display_popup,
    oidcc_ensure_request_with_unknown_parameter_succeeds,
    oidcc_login_hint,
    oidcc_ui_locales,
    oidcc_claims_locales,
    oidcc_ensure_request_with_acr_values_succeeds,
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_id_token_hint,
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
    oidcc_implicit_server,
    oidcc_ensure_request_without_nonce_fails,
    oidcc_hybrid_server,
    id_token_hint_tampering_is_rejected,
    processes_share_the_signing_key,
    oidc_disabled_is_plain_oauth,
    hs256_applications_sign_with_their_secret,
    openidconnect_relying_party_signs_in,
);
