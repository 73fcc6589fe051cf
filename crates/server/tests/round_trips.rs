//! Database round trips per request, counted by the server itself (`serve --debug-stats`,
//! `GET /debug/stats`): the performance issue's "at most 1 round trip for introspection and
//! protected GETs, at most 2 for client_credentials", asserted as exact statement counts on
//! both backends — deterministic figures, not timings. (With the client cache off, each
//! client authentication also reads its throttle count.)

mod common;

use common::*;
use serde_json::Value;

backends!(
    hot_paths_cost_the_promised_statements,
    a_rotating_refresh_costs_four_statements_and_its_transaction,
    without_the_client_cache_authentication_costs_a_read,
);

const N: u64 = 20;

async fn statements(http: &reqwest::Client, server: &Server) -> u64 {
    let v: Value = http
        .get(format!("{}/debug/stats", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["db_statements"].as_u64().expect("db_statements")
}

async fn client_credentials(http: &reqwest::Client, server: &Server, auth: &str) -> String {
    let v: Value = http
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", auth)
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn introspect(http: &reqwest::Client, server: &Server, auth: &str, token: &str) {
    let v: Value = http
        .post(format!("{}/o/introspect/", server.base))
        .header("Authorization", auth)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["active"], true, "{v}");
}

/// Statements per request of `f`, run `N` times one after the other.
macro_rules! per_request {
    ($http:expr, $server:expr, $body:expr) => {{
        let before = statements($http, $server).await;
        for _ in 0..N {
            $body;
        }
        let after = statements($http, $server).await;
        (after - before) as f64 / N as f64
    }};
}

async fn hot_paths_cost_the_promised_statements(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start_with_args(&env, &[], &["--demo-api", "--debug-stats"]);
    let http = reqwest::Client::new();
    let auth = basic(&id, &secret);
    // The first request authenticates in full and fills the cache.
    let token = client_credentials(&http, &server, &auth).await;

    let cc = per_request!(
        &http,
        &server,
        client_credentials(&http, &server, &auth).await
    );
    assert!(cc <= 2.0, "client_credentials: {cc} statements per request");
    assert_eq!(cc, 1.0, "a remembered client and one INSERT");

    let intro = per_request!(
        &http,
        &server,
        introspect(&http, &server, &auth, &token).await
    );
    assert_eq!(intro, 1.0, "introspection: the joined token read only");

    let get = per_request!(&http, &server, {
        let r = http
            .get(format!("{}/api/hello", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });
    assert_eq!(get, 1.0, "protected GET: the joined token read only");
}

async fn without_the_client_cache_authentication_costs_a_read(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start_with_args(
        &env,
        &[("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "0")],
        &["--debug-stats"],
    );
    let http = reqwest::Client::new();
    let auth = basic(&id, &secret);
    let token = client_credentials(&http, &server, &auth).await;
    let cc = per_request!(
        &http,
        &server,
        client_credentials(&http, &server, &auth).await
    );
    assert_eq!(
        cc, 3.0,
        "the application read, the client-authentication throttle read and one INSERT"
    );
    let intro = per_request!(
        &http,
        &server,
        introspect(&http, &server, &auth, &token).await
    );
    assert_eq!(
        intro, 3.0,
        "client authentication (application and throttle reads) and the token read"
    );
}

async fn refresh(http: &reqwest::Client, server: &Server, auth: &str, token: &str) -> String {
    let v: Value = http
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", auth)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token: {v}"))
        .to_string()
}

async fn a_rotating_refresh_costs_four_statements_and_its_transaction(env: Env) {
    env.create_user("alice", "correct horse battery");
    let (id, secret) = env.create_app("confidential", "password", &[]);
    let server = Server::start_with_args(&env, &[], &["--debug-stats"]);
    let http = reqwest::Client::new();
    let auth = basic(&id, &secret);
    let v: Value = http
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", &auth)
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse battery"),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut token = v["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();
    token = refresh(&http, &server, &auth, &token).await;
    let per = per_request!(&http, &server, {
        token = refresh(&http, &server, &auth, &token).await;
    });
    // The refresh token read with its access token and user; the claim; the access token
    // row taken over; the new refresh token. Alone, the writer wraps the last three in
    // BEGIN/COMMIT (under load SQLite's group commit shares those between many).
    assert_eq!(
        per, 6.0,
        "4 statements + BEGIN/COMMIT per sequential refresh"
    );
}
