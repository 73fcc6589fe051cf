//! CORS on the token endpoint.

use serde_json::Value;

use crate::common::*;
use crate::support::*;

backends!(cors_on_the_token_endpoint);

async fn cors_on_the_token_endpoint(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "https://example.org";
    let (id, _) = env.create_app(
        "public",
        "authorization-code",
        &[
            "--redirect-uris",
            redirect,
            "--allowed-origins",
            "https://example.org",
        ],
    );
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let exchange = |code: String, origin: Option<&'static str>| {
        let mut req = http().post(format!("{}/o/token/", server.base)).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", id.as_str()),
        ]);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    // Allowed origin, then the refresh with the same origin.
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let resp = exchange(code, Some("https://example.org")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    let body: Value = resp.json().await.unwrap();
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Origin", "https://example.org")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    // Other origins and none get no header.
    for origin in [
        Some("http://example.org"),
        Some("https://another_example.org"),
        None,
    ] {
        let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
        let resp = exchange(code, origin).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
    }
    // A preflight is answered (DOT has none).
    let resp = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/o/token/", server.base),
        )
        .header("Origin", "https://example.org")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    assert!(resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}
