//! `/metrics` (settings `metrics_enabled`, `metrics_bind`): Prometheus text with requests by
//! route and status, latency histograms, tokens issued by grant type, failed client
//! authentications, failed logins and the store's commit batches. Off by default. Black-box,
//! on SQLite and PostgreSQL.

mod common;

use common::*;

backends!(
    metrics_count_what_happened,
    metrics_are_off_unless_asked,
    metrics_can_have_a_listener_of_their_own,
);

async fn text(url: &str) -> (u16, String) {
    let r = common::http_browser::client()
        .get(url)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of the sample line starting with `series` (name and labels), if any.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_count_what_happened(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    env.create_user("mia", "mia-password-123");
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_METRICS_ENABLED", "true")]);
    let http = common::http_browser::client();
    let token = |secret: String| {
        let (http, base, id) = (http.clone(), server.base.clone(), id.clone());
        async move {
            http.post(format!("{base}/o/token/"))
                .basic_auth(&id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(token(secret.clone()).await, 200);
    assert_eq!(token(secret.clone()).await, 200);
    assert_eq!(token("wrong".into()).await, 401);
    assert_eq!(text(&format!("{}/no/such/page", server.base)).await.0, 404);
    let browser = common::http_browser::Browser::new(&server.base);
    let failed = browser.login_next("mia", "not-her-password", "/").await;
    assert_eq!(failed.status, 200, "the form again");

    let (status, body) = text(&format!("{}/metrics", server.base)).await;
    assert_eq!(status, 200);
    let at =
        |series: &str| sample(&body, series).unwrap_or_else(|| panic!("no {series} in\n{body}"));
    assert_eq!(
        at(r#"oauth_tokens_issued_total{grant_type="client_credentials"}"#),
        2.0
    );
    assert_eq!(
        at(r#"http_requests_total{route="/o/token/",method="POST",status="200"}"#),
        2.0
    );
    assert_eq!(
        at(r#"http_requests_total{route="/o/token/",method="POST",status="401"}"#),
        1.0
    );
    assert_eq!(
        at(r#"http_requests_total{route="unmatched",method="GET",status="404"}"#),
        1.0
    );
    assert_eq!(at("oauth_client_authentication_failures_total"), 1.0);
    assert_eq!(at("oauth_login_failures_total"), 1.0);
    assert_eq!(
        at(r#"http_request_duration_seconds_count{route="/o/token/"}"#),
        3.0
    );
    assert!(
        body.contains(r#"http_request_duration_seconds_bucket{route="/o/token/",le="0.005"}"#),
        "{body}"
    );
    // Paths never become labels: only the routes' patterns.
    assert!(!body.contains("/no/such/page"), "{body}");
    if env._sqlite_dir.is_some() {
        assert!(at("oauth_store_commit_batch_size_count") >= 2.0, "{body}");
    }
}

async fn metrics_are_off_unless_asked(env: Env) {
    let server = Server::start(&env, &[]);
    assert_eq!(text(&format!("{}/metrics", server.base)).await.0, 404);
}

async fn metrics_can_have_a_listener_of_their_own(env: Env) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let server = Server::start(
        &env,
        &[
            ("OAUTH_TOOLKIT_METRICS_ENABLED", "true"),
            ("OAUTH_TOOLKIT_METRICS_BIND", &bind),
        ],
    );
    assert_eq!(text(&format!("{}/health", server.base)).await.0, 200);
    assert_eq!(
        text(&format!("{}/metrics", server.base)).await.0,
        404,
        "not on the public listener"
    );
    let (status, body) = text(&format!("http://{bind}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"http_requests_total{route="/health",method="GET",status="200"}"#),
        "{body}"
    );
}
