//! Authorization server metadata (RFC 8414).

use reqwest::header;
use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

backends!(
    metadata_default_locations,
    metadata_custom_prefix_and_issuer,
    metadata_empty_prefix_and_gates,
);

fn expected_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize/"),
        "token_endpoint": format!("{issuer}/token/"),
        "device_authorization_endpoint": format!("{issuer}/device-authorization/"),
        // OpenID Connect is on (the default): its members are listed as in discovery.
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "userinfo_endpoint": format!("{issuer}/userinfo/"),
        "scopes_supported": ["dolphin", "introspection", "read", "write"],
        "response_types_supported": [
            "code", "token", "id_token", "id_token token", "code token", "code id_token",
            "code id_token token"
        ],
        "grant_types_supported": [
            "authorization_code", "implicit", "password", "client_credentials", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "revocation_endpoint": format!("{issuer}/revoke_token/"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "introspection_endpoint": format!("{issuer}/introspect/"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["plain", "S256"],
        // RFC 9207 `iss` in authorization responses is on by default (DOT: off).
        "authorization_response_iss_parameter_supported": true,
    })
}

async fn get_metadata(fx: &Fx, path: &str) -> Value {
    let r = fx.http.get(fx.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let h = r.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=3600");
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    r.json().await.unwrap()
}

/// RFC 8414 §3.1: the same document under the prefix and at the root location.
async fn metadata_default_locations(env: Env) {
    let fx = Fx::start(env, &[]);
    let expected = expected_metadata("http://localhost/o");
    assert_eq!(
        get_metadata(&fx, "/o/.well-known/oauth-authorization-server").await,
        expected
    );
    assert_eq!(
        get_metadata(&fx, "/.well-known/oauth-authorization-server/o").await,
        expected
    );
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/other",
    ] {
        let r = fx.http.get(fx.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = fx
        .http
        .post(fx.url("/o/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // The advertised endpoints answer where advertised.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = fx.http.get(fx.url("/o/introspect/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// A custom prefix and issuer; endpoints move with the prefix; introspection reports the
/// metadata's issuer.
async fn metadata_custom_prefix_and_issuer(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_URL_PREFIX", "/oauth"),
            ("OAUTH_TOOLKIT_ISSUER", "https://auth.example.com"),
        ],
    );
    let expected = expected_metadata("https://auth.example.com/oauth");
    assert_eq!(
        get_metadata(&fx, "/oauth/.well-known/oauth-authorization-server").await,
        expected
    );
    assert_eq!(
        get_metadata(&fx, "/.well-known/oauth-authorization-server/oauth").await,
        expected
    );
    for path in [
        "/o/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/o",
    ] {
        assert_eq!(
            fx.http.get(fx.url(path)).send().await.unwrap().status(),
            404
        );
    }
    // Endpoints moved with the prefix; introspection's `iss` is the metadata's issuer.
    let a = fx.app();
    let r = fx
        .http
        .post(fx.url("/oauth/token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = fx
        .http
        .post(fx.url("/oauth/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["iss"],
        "https://auth.example.com/oauth"
    );
    let r = fx
        .http
        .post(fx.url("/oauth/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_empty_200(r).await;
}

/// Empty prefix: the one well-known location is at the root; the compliance gates and
/// `oidc_iss_endpoint` change the document.
async fn metadata_empty_prefix_and_gates(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_URL_PREFIX", ""),
            (
                "OAUTH_TOOLKIT_OIDC_ISS_ENDPOINT",
                "https://id.example.com/tenant/",
            ),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT", "true"),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_PASSWORD_GRANT", "true"),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_PKCE_METHOD", "true"),
            (
                "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
                "true",
            ),
        ],
    );
    let doc = get_metadata(&fx, "/.well-known/oauth-authorization-server").await;
    assert_eq!(doc["issuer"], "https://id.example.com/tenant");
    assert_eq!(
        doc["token_endpoint"],
        "https://id.example.com/tenant/token/"
    );
    // Without the implicit ones (OIDC on: its hybrid types stay, as in discovery).
    assert_eq!(
        doc["response_types_supported"],
        json!(["code", "code token", "code id_token", "code id_token token"])
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let r = fx.http.get(fx.url("/introspect/")).send().await.unwrap();
    assert_eq!(r.status(), 401, "endpoints at the root");
}
