//! RFC 9728: a client that only knows the API's URL finds the authorization server from a
//! refusal (`resource_metadata`), reads the protected resource metadata, then the RFC 8414
//! metadata of the server it names, gets a token there and calls the API with it.

use reqwest::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use serde_json::Value;

use crate::common::*;
use crate::support::*;

backends!(
    a_client_finds_the_authorization_server_from_a_401,
    challenges_stay_drf_shaped_unless_asked,
    the_identifier_setting_moves_the_document,
);

const ADVERTISE: (&str, &str) = (
    "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_ADVERTISE_METADATA",
    "true",
);

/// The `resource_metadata` value of a challenge.
fn resource_metadata(www: &str) -> Option<String> {
    let start = www.find("resource_metadata=\"")? + "resource_metadata=\"".len();
    let end = www[start..].find('"')? + start;
    Some(www[start..end].to_string())
}

async fn get_json(api: &Api, url: &str) -> (u16, Value, Option<String>) {
    let r = api.http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let cors = r
        .headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::Null),
        cors,
    )
}

async fn a_client_finds_the_authorization_server_from_a_401(env: Env) {
    let fx = Fx::start(env, &[ADVERTISE]);
    let base = fx.server.base.clone();
    let r = fx.api.call("GET", "/api/scoped", None).await;
    assert_eq!(r.status, 401);
    let url =
        resource_metadata(&r.www()).unwrap_or_else(|| panic!("no resource_metadata: {}", r.www()));
    assert_eq!(url, format!("{base}/.well-known/oauth-protected-resource"));

    let (status, doc, cors) = get_json(&fx.api, &url).await;
    assert_eq!(status, 200);
    assert_eq!(cors.as_deref(), Some("*"));
    // RFC 9728 §3.3: the resource is the URL the client started from (its origin here).
    assert_eq!(doc["resource"], base.as_str());
    let servers = doc["authorization_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let issuer = servers[0].as_str().unwrap().to_string();
    assert_eq!(issuer, format!("{base}/o"));
    let scopes: Vec<&str> = doc["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut sorted = scopes.clone();
    sorted.sort();
    assert_eq!(scopes, sorted);
    assert!(
        scopes.contains(&"read") && scopes.contains(&"music:read"),
        "{scopes:?}"
    );
    assert_eq!(
        doc["bearer_methods_supported"],
        serde_json::json!(["header"])
    );

    // RFC 8414 §3.1: the well-known path goes between the host and the issuer's path.
    let (origin, path) = issuer.split_at(base.len());
    let (status, as_meta, _) = get_json(
        &fx.api,
        &format!("{origin}/.well-known/oauth-authorization-server{path}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(as_meta["issuer"], issuer.as_str());
    let token_endpoint = as_meta["token_endpoint"].as_str().unwrap().to_string();

    let token = fx
        .api
        .http
        .post(&token_endpoint)
        .basic_auth(&fx.app.id, Some(&fx.app.secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PW),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = fx.api.call("GET", "/api/scoped", Some(&token)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Every refusal names the document: a bad token, and a token without the scope.
    let bad = fx.api.call("GET", "/api/scoped", Some("not-a-token")).await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.www().contains("error=\"invalid_token\""),
        "{}",
        bad.www()
    );
    assert_eq!(resource_metadata(&bad.www()).as_deref(), Some(url.as_str()));
    let write_only = fx.token("write").await;
    let scant = fx.api.call("GET", "/api/scoped", Some(&write_only)).await;
    assert_eq!(scant.status, 403);
    assert!(
        scant.www().contains("error=\"insufficient_scope\""),
        "{}",
        scant.www()
    );
    assert_eq!(
        resource_metadata(&scant.www()).as_deref(),
        Some(url.as_str())
    );
}

/// Off by default: DRF's bare challenge, as before; the document is served all the same, at
/// the RFC 9728 place and at DOT's (under the prefix).
async fn challenges_stay_drf_shaped_unless_asked(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx.api.call("GET", "/api/scoped", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.www(), REALM_API);
    let base = fx.server.base.clone();
    let (s1, root, _) = get_json(
        &fx.api,
        &format!("{base}/.well-known/oauth-protected-resource"),
    )
    .await;
    let (s2, dot, _) = get_json(
        &fx.api,
        &format!("{base}/o/.well-known/oauth-protected-resource"),
    )
    .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(root, dot);
    assert!(
        root.get("resource_name").is_none(),
        "empty members are left out: {root}"
    );
}

/// An identifier with a path moves the document under the well-known path (§3.1); the
/// optional members and the configured servers are shown; the challenge names that URL.
async fn the_identifier_setting_moves_the_document(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ADVERTISE,
            (
                "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_IDENTIFIER",
                "http://api.example.test/v2",
            ),
            (
                "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS",
                "https://sso.example.test",
            ),
            ("OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_NAME", "Demo API"),
            (
                "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_POLICY_URI",
                "https://example.test/policy",
            ),
        ],
    );
    let base = fx.server.base.clone();
    let (status, doc, _) = get_json(
        &fx.api,
        &format!("{base}/.well-known/oauth-protected-resource/v2"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], "http://api.example.test/v2");
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!(["https://sso.example.test"])
    );
    assert_eq!(doc["resource_name"], "Demo API");
    assert_eq!(doc["resource_policy_uri"], "https://example.test/policy");
    let r = fx.api.call("GET", "/api/scoped", None).await;
    assert_eq!(
        resource_metadata(&r.www()).as_deref(),
        Some("http://api.example.test/.well-known/oauth-protected-resource/v2")
    );
    // The root document is this identifier's no more.
    let root = fx
        .api
        .http
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status().as_u16(), 404);
}
