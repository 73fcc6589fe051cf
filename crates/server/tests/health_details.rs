//! `GET /health/details`: the health report for staff sessions and for bearer tokens with
//! `health_details_scope`; 401 for anyone else, 403 for the signed-in non-staff and for a
//! token without the scope. `GET /health` stays anonymous. Both backends.

mod common;

use std::process::Stdio;

use common::http_browser::Browser;
use common::*;
use serde_json::Value;

backends!(health_details_for_staff_and_scoped_tokens);

const SCOPES: &str = r#"{ read = "Read", health = "Read the health report" }"#;

fn staff(env: &Env, name: &str, password: &str) {
    let mut child = env
        .cmd()
        .args(["createuser", name, "--password-stdin", "--staff"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

async fn token(server: &Server, id: &str, secret: &str, scope: &str) -> String {
    let v: Value = http_browser::client()
        .post(format!("{}/o/token/", server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

async fn get(url: &str, bearer: Option<&str>) -> (u16, String, Value) {
    let mut req = http_browser::client().get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, www, r.json().await.unwrap_or(Value::Null))
}

async fn health_details_for_staff_and_scoped_tokens(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    env.create_user("pat", "pat-password-123");
    staff(&env, "sam", "sam-password-123");
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_SCOPES", SCOPES)]);
    let url = format!("{}/health/details", server.base);

    let (status, www, _) = get(&url, None).await;
    assert_eq!(status, 401);
    assert!(www.starts_with("Bearer"), "{www}");
    assert_eq!(
        get(&format!("{}/health", server.base), None).await.0,
        200,
        "liveness stays open"
    );

    let scoped = token(&server, &id, &secret, "health").await;
    let (status, _, report) = get(&url, Some(&scoped)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "healthy");
    assert_eq!(report["database"], "ok");
    assert_eq!(report["applications"], 1);
    assert_eq!(report["live_access_tokens"], 1);
    assert_eq!(report["access_tokens_last_hour"], 1);

    let unscoped = token(&server, &id, &secret, "read").await;
    let (status, www, _) = get(&url, Some(&unscoped)).await;
    assert_eq!(status, 403);
    assert!(www.contains("insufficient_scope"), "{www}");
    assert_eq!(get(&url, Some("no-such-token")).await.0, 401);

    let pat = Browser::new(&server.base);
    pat.login_as("pat", "pat-password-123").await;
    assert_eq!(
        pat.get("/health/details").await.status,
        403,
        "signed in, not staff"
    );
    let sam = Browser::new(&server.base);
    sam.login_as("sam", "sam-password-123").await;
    let page = sam.get("/health/details").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let report: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(report["status"], "healthy");
    assert_eq!(report["live_access_tokens"], 2);
}
