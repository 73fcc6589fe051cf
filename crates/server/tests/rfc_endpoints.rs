//! RFC-exact behaviour of the introspection, metadata, userinfo and form-reading endpoints,
//! against the real binary on SQLite and PostgreSQL: introspection callers that fail
//! authentication get 401 (RFC 7662 §2.3), an empty POST is an empty form, RFC 8414 lists the
//! OpenID members, userinfo follows the token transport settings, and no setting value makes
//! a request panic. Code exchange: `rfc_exact.rs`.

mod common;

use std::sync::Arc;

use common::grants::*;
use common::http_browser::client as http;
use common::*;
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;
use time::OffsetDateTime;

backends!(
    introspection_authentication_failures_are_401,
    empty_post_is_an_empty_form,
    rfc8414_lists_the_openid_members,
    userinfo_follows_the_token_transport_settings,
    settings_cannot_make_a_request_panic,
);

/// Settings of one server.
type Vars<'a> = &'a [(&'a str, &'a str)];

const CB: &str = "http://localhost/cb";
const NO_PKCE: (&str, &str) = ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false");
const SCOPES: (&str, &str) = (
    "OAUTH_TOOLKIT_SCOPES",
    r#"{ read = "Read", write = "Write", openid = "OpenID", introspection = "Introspect" }"#,
);

async fn client_credentials_token(base: &str, auth: &str, scope: &str) -> String {
    let r = post_form(
        base,
        "/o/token/",
        Some(auth),
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1["access_token"].as_str().unwrap().to_string()
}

/// RFC 7662 §2.3 / RFC 6749 §5.2 / RFC 6750 §3.
async fn introspection_authentication_failures_are_401(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[SCOPES]);
    let auth = basic(&id, &secret);
    let token = client_credentials_token(&server.base, &auth, "read").await;
    let rs = client_credentials_token(&server.base, &auth, "introspection").await;
    let url = format!("{}/o/introspect/", server.base);
    let form = [("token", token.as_str())];
    let cases = [
        (
            "no credentials",
            http().post(&url).form(&form),
            401,
            "invalid_client",
            "Basic",
        ),
        (
            "GET, no credentials",
            http().get(format!("{url}?token={token}")),
            401,
            "invalid_client",
            "Basic",
        ),
        (
            "wrong secret",
            http().post(&url).basic_auth(&id, Some("wrong")).form(&form),
            401,
            "invalid_client",
            "Basic",
        ),
        (
            "unknown client",
            http()
                .post(&url)
                .basic_auth("nobody", Some("x"))
                .form(&form),
            401,
            "invalid_client",
            "Basic",
        ),
        (
            "body secret wrong",
            http().post(&url).form(&[
                ("client_id", id.as_str()),
                ("client_secret", "x"),
                ("token", &token),
            ]),
            401,
            "invalid_client",
            "Basic",
        ),
        (
            "bad bearer",
            http()
                .post(&url)
                .bearer_auth("not-a-token-of-ours")
                .form(&form),
            401,
            "invalid_token",
            "Bearer",
        ),
        (
            "bearer without the scope",
            http().post(&url).bearer_auth(&token).form(&form),
            403,
            "insufficient_scope",
            "Bearer",
        ),
    ];
    for (what, req, status, error, scheme) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        let challenges: Vec<String> = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(
            challenges.iter().any(|c| c.starts_with(scheme)),
            "{what}: {challenges:?}"
        );
        if error == "invalid_token" {
            assert!(
                challenges
                    .iter()
                    .any(|c| c.contains("error=\"invalid_token\"")),
                "{what}: {challenges:?}"
            );
        }
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{what}");
    }
    for req in [
        http().post(&url).basic_auth(&id, Some(&secret)).form(&form),
        http().post(&url).bearer_auth(&rs).form(&form),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["active"], true);
    }
}

/// A POST without body and Content-Type is an empty form; a non-form body is 415.
async fn empty_post_is_an_empty_form(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let cases = [
        ("/o/token/", Some(auth.as_str()), "grant_type"),
        ("/o/introspect/", Some(auth.as_str()), "Token parameter"),
        ("/o/revoke_token/", Some(auth.as_str()), "token"),
        ("/o/device-authorization/", None, "client_id"),
    ];
    for (path, auth, missing) in cases {
        let mut req = http().post(format!("{}{path}", server.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains(missing),
            "{path}: {body}"
        );
        let r = http()
            .post(format!("{}{path}", server.base))
            .header("Content-Type", "text/plain")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{path}");
    }
}

/// RFC 8414 lists what discovery lists while OIDC is on; nothing of it while off.
async fn rfc8414_lists_the_openid_members(env: Env) {
    let server = Server::start(&env, &[]);
    let get = |path: &str| http().get(format!("{}{path}", server.base)).send();
    let meta: Value = get("/o/.well-known/oauth-authorization-server")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let disc: Value = get("/o/.well-known/openid-configuration")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meta["jwks_uri"]
            .as_str()
            .unwrap()
            .ends_with("/o/.well-known/jwks.json"),
        "{meta}"
    );
    assert!(
        meta["userinfo_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/o/userinfo/"),
        "{meta}"
    );
    let types = meta["response_types_supported"].as_array().unwrap();
    for t in [
        "code",
        "id_token",
        "code id_token",
        "id_token token",
        "code id_token token",
    ] {
        assert!(types.iter().any(|v| v == t), "{t} in {types:?}");
    }
    assert!(meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "none"));
    for member in [
        "issuer",
        "jwks_uri",
        "userinfo_endpoint",
        "response_types_supported",
        "token_endpoint_auth_methods_supported",
        "grant_types_supported",
    ] {
        assert_eq!(meta[member], disc[member], "{member}");
    }
    let jwks = get("/o/.well-known/jwks.json").await.unwrap();
    assert_eq!(jwks.status(), 200);
    drop(server);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_OIDC_ENABLED", "false")]);
    let meta: Value = http()
        .get(format!(
            "{}/o/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meta.get("jwks_uri").is_none() && meta.get("userinfo_endpoint").is_none(),
        "{meta}"
    );
    assert_eq!(
        meta["response_types_supported"],
        serde_json::json!(["code", "token"])
    );
}

/// An `openid` access token of alice, through a code exchange.
async fn openid_token(env: &Env, base: &str, id: &str, secret: &str) -> String {
    let code = make_code(env, id, "alice", CB, "openid read").await;
    let r = post_form(
        base,
        "/o/token/",
        Some(&basic(id, secret)),
        &exchange(&code, Some(CB)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1["access_token"].as_str().unwrap().to_string()
}

/// Userinfo takes tokens where the protected resources do, and refuses them where
/// they refuse them (a refused query token: 400; a body token where bodies are not read:
/// not looked at, so no token: 401).
async fn userinfo_follows_the_token_transport_settings(env: Env) {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", CB],
    );
    // (settings, status of a query token, status of a body token)
    let configs: [(Vars, u16, u16); 3] = [
        (&[NO_PKCE], 400, 401),
        (
            &[
                NO_PKCE,
                (
                    "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
                    "header,query,body",
                ),
            ],
            200,
            200,
        ),
        (
            &[
                NO_PKCE,
                (
                    "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
                    "header,query,body",
                ),
                (
                    "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
                    "true",
                ),
            ],
            400,
            200,
        ),
    ];
    for (vars, query_status, body_status) in configs {
        let server = Server::start(&env, vars);
        let token = openid_token(&env, &server.base, &id, &secret).await;
        let url = format!("{}/o/userinfo/", server.base);
        let r = http().get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{vars:?}");
        let r = http()
            .get(format!("{url}?access_token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), query_status, "query, {vars:?}");
        if query_status == 400 {
            assert!(r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_request"));
            assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
        }
        let r = http()
            .post(&url)
            .form(&[("access_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), body_status, "body, {vars:?}");
    }
}

/// `Provider::new` validates like `Settings::load`; time arithmetic saturates even
/// for values nobody validated; the largest accepted lifetimes issue tokens without a 5xx.
async fn settings_cannot_make_a_request_panic(env: Env) {
    use oauth_toolkit_core::settings::{Settings, MAX_DURATION_SECONDS};
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let db = env.db().await;
    let absurd = {
        let mut built = Settings::default();
        built.provider.access_token_expire_seconds = u64::MAX;
        built
    };
    let clock = Arc::new(oauth_toolkit_core::SystemClock);
    let state = oauth_toolkit_axum::Provider::new(absurd.clone(), db.store(), clock, vec![7; 64]);
    assert!(
        matches!(state, Err(oauth_toolkit_axum::Error::Settings(ref e)) if e.key == "access_token_expire_seconds"),
        "{:?}",
        state.err()
    );
    // The protocol core used directly with unvalidated settings: a token, not a panic.
    let absurd = {
        let mut built = absurd;
        built.provider.refresh_token_expire_seconds = Some(u64::MAX);
        built.provider.refresh_token_grace_period_seconds = u64::MAX;
        built
    };
    let store = db.store();
    let ctx = oauth_toolkit_core::context::Ctx::new(&absurd, &*store, OffsetDateTime::now_utc());
    let params = Params::new(vec![("grant_type".into(), "client_credentials".into())]);
    let grants = oauth_toolkit_core::grants::default_grants();
    let outcome = oauth_toolkit_core::grants::token_request(
        &ctx,
        &grants,
        Some(&basic(&id, &secret)),
        &params,
    )
    .await
    .unwrap();
    let stored = store
        .find_access_token(&token_checksum(&outcome.response.access_token))
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.expires.year() >= 9999,
        "saturated: {}",
        stored.expires
    );

    // Black-box: the largest values the validator accepts.
    let max = MAX_DURATION_SECONDS.to_string();
    let vars: Vec<(&str, &str)> = [
        "OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS",
        "OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS",
        "OAUTH_TOOLKIT_ID_TOKEN_EXPIRE_SECONDS",
        "OAUTH_TOOLKIT_AUTHORIZATION_CODE_EXPIRE_SECONDS",
        "OAUTH_TOOLKIT_DEVICE_CODE_EXPIRE_SECONDS",
    ]
    .into_iter()
    .map(|k| (k, max.as_str()))
    .collect();
    let server = Server::start(&env, &vars);
    let auth = basic(&id, &secret);
    let r = post_form(
        &server.base,
        "/o/token/",
        Some(&auth),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["expires_in"].as_u64(), Some(MAX_DURATION_SECONDS));
    let token = r.1["access_token"].as_str().unwrap();
    let r = post_form(
        &server.base,
        "/o/introspect/",
        Some(&auth),
        &[("token", token)],
    )
    .await;
    assert_eq!((r.0, &r.1["active"]), (200, &Value::Bool(true)), "{}", r.1);
}
