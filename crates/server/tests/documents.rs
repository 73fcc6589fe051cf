mod common;
use common::*;

// The JWKS / discovery / RFC 8414 documents cache (`oauth_toolkit_axum::documents`) against
// a real store on SQLite and PostgreSQL: a hit sends no statement (counted with
// `oauth_toolkit_store::stats::round_trips`, a process-wide counter: nextest runs each test
// in its own process, and nothing else in this binary touches a database meanwhile), an
// expired copy is refreshed with one statement, and a rotated key is published before it
// signs. The provider's routers are served on loopback, with a clock the test moves.

use std::sync::Arc;

use axum::http::header;
use oauth_toolkit_axum::Provider;
use oauth_toolkit_core::oidc::keys::{activation_delay, key_set, retire_key, rotate, KeyAlgorithm};
use oauth_toolkit_core::{Clock, FixedClock, Settings};
use oauth_toolkit_store::stats::round_trips;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

async fn json(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The provider's endpoints served on loopback, in this process (so that its statements are
/// counted here); the base URL.
async fn serve(provider: &Provider) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = provider.mount(axum::Router::new());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

struct Documents {
    base: String,
    http: reqwest::Client,
}

impl Documents {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/o/{path}", self.base))
            .send()
            .await
            .unwrap()
    }
    async fn jwks(&self) -> reqwest::Response {
        self.get(".well-known/jwks.json").await
    }
    async fn discovery(&self) -> reqwest::Response {
        self.get(".well-known/openid-configuration").await
    }
    async fn authorization_server(&self) -> reqwest::Response {
        self.get(".well-known/oauth-authorization-server").await
    }
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// The kid `state` signs `algorithm` with now.
async fn signer(state: &Provider, algorithm: Option<KeyAlgorithm>) -> String {
    let ctx = state.ctx();
    let set = key_set(&ctx).await.unwrap();
    set.signing_key(algorithm).unwrap().kid.clone()
}

async fn hits_send_no_statement_and_rotation_publishes_first(env: Env) {
    let db = env.db().await;
    db.migrate().await.unwrap();
    let clock = Arc::new(FixedClock::new(OffsetDateTime::now_utc()));
    let settings = {
        let mut built = Settings::default();
        built.server.issuer = Some("http://localhost:8000".into());
        built.oidc.oidc_jwks_cache_seconds = 10;
        built
    };
    let state = Provider::new(settings, db.store(), clock.clone(), vec![7; 64]).unwrap();
    let docs = Documents {
        base: serve(&state).await,
        http: reqwest::Client::new(),
    };

    // The first request fills the cache (and generates the deployment's first key).
    let first = json(docs.jwks().await).await;
    let first_kid = kids(&first);
    assert_eq!(first_kid.len(), 1);

    let before = round_trips();
    for _ in 0..50 {
        let r = docs.jwks().await;
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=3600, stale-while-revalidate=3600, stale-if-error=3600"
        );
        assert_eq!(json(r).await, first);
        let r = docs.discovery().await;
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let d = json(r).await;
        assert_eq!(
            d["jwks_uri"],
            "http://localhost:8000/o/.well-known/jwks.json"
        );
        let r = docs.authorization_server().await;
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(json(r).await["issuer"], "http://localhost:8000/o");
        clock.advance(Duration::milliseconds(100));
    }
    assert_eq!(
        round_trips(),
        before,
        "no statement while the copy is fresh"
    );

    // Another process adds a key; this one sees it once its copy expires, with one statement.
    let t0 = clock.now();
    let new = rotate(&state.ctx(), KeyAlgorithm::ES256).await.unwrap();
    let before = round_trips();
    assert_eq!(kids(&json(docs.jwks().await).await), first_kid);
    assert_eq!(round_trips(), before, "still the cached copy");
    clock.advance(Duration::seconds(5));
    let jwks = json(docs.jwks().await).await;
    assert_eq!(round_trips(), before + 1, "one read of the keys");
    assert_eq!(kids(&jwks), [new.kid.clone(), first_kid[0].clone()]);
    let d = json(docs.discovery().await).await;
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "HS256"])
    );
    assert_eq!(round_trips(), before + 1, "discovery shares the read");

    // Published now, but it signs only after twice the cache lifetime.
    assert_eq!(activation_delay(state.settings()), Duration::seconds(20));
    clock.set(t0 + Duration::seconds(19));
    assert_eq!(signer(&state, None).await, first_kid[0]);
    clock.set(t0 + Duration::seconds(20));
    assert_eq!(signer(&state, None).await, new.kid);

    // A newer RSA key: the old one still signs for RS256 clients until it is ready, so it
    // cannot be retired before.
    let t1 = clock.now();
    let rsa = rotate(&state.ctx(), KeyAlgorithm::RS256).await.unwrap();
    assert_eq!(
        signer(&state, Some(KeyAlgorithm::RS256)).await,
        first_kid[0]
    );
    assert!(retire_key(&state.ctx(), &first_kid[0]).await.is_err());
    clock.set(t1 + Duration::seconds(20));
    assert_eq!(signer(&state, Some(KeyAlgorithm::RS256)).await, rsa.kid);
    retire_key(&state.ctx(), &first_kid[0]).await.unwrap();
    db.close().await;
}

backends!(hits_send_no_statement_and_rotation_publishes_first);
