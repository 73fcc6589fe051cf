//! Basic OP plan: the code flow, discovery, userinfo, scopes, accepted parameters.

use serde_json::Value;

use crate::common::http_browser::{client, encode};
use crate::common::*;
use crate::plan;
use crate::support::*;

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
    oidcc_idtoken_signature,
    oidcc_idtoken_unsigned,
    oidcc_ensure_request_object_with_redirect_uri,
);

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
/// (403, DOT answers 401).
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

// ---------------------------------------------------------------------------------------------
// Basic OP plan modules shared with the other plans
// ---------------------------------------------------------------------------------------------

async fn oidcc_idtoken_signature(env: Env) {
    plan::oidcc_idtoken_signature(op(&env)).await;
}

async fn oidcc_ensure_request_object_with_redirect_uri(env: Env) {
    plan::oidcc_ensure_request_object_with_redirect_uri(op(&env)).await;
}

/// Skipped by the suite unless discovery lists `none`, which it does not.
async fn oidcc_idtoken_unsigned(env: Env) {
    let op = op(&env);
    let doc: Value = client()
        .get(format!("{}/.well-known/openid-configuration", op.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!algs.contains(&"none".into()), "{algs:?}");
    op.server.terminate();
}
