//! The fixture, requests to the endpoints, the stored grants, the browser's steps.

use oauth_toolkit_core::models::DeviceGrant;
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

use crate::common::http_browser::{client, encode, Browser, Page};
use crate::common::*;

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const DEVICE_AUTHORIZATION: &str = "/o/device-authorization/";
pub(crate) const TOKEN: &str = "/o/token/";
pub(crate) const DEVICE_PAGE: &str = "/o/device/";

/// The default scopes of DOT's fixture, OIDC off (only `read` and `write` configured).
pub(crate) fn settings(
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read,write"),
        ("OAUTH_TOOLKIT_OIDC_ENABLED", "false"),
    ];
    v.extend_from_slice(extra);
    v
}

/// User `test_user`/`123456`, a public device application "Smart TV", a running server.
pub(crate) fn fixture(env: &Env, extra: &[(&'static str, &'static str)]) -> (Server, String) {
    env.create_user("test_user", "123456");
    let (id, _) = env.create_app("public", GRANT, &["--name", "Smart TV"]);
    (Server::start(env, &settings(extra)), id)
}

pub(crate) struct Json {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn post_form(
    server: &Server,
    path: &str,
    body: String,
    content_type: &str,
) -> Json {
    let resp = client()
        .post(format!("{}{path}", server.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert!(status < 500, "{path}: server error {status}: {text}");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Json {
        status,
        headers,
        body,
    }
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// `POST device-authorization/` with `form`.
pub(crate) async fn device_authorize(server: &Server, form: &[(&str, &str)]) -> Json {
    post_form(server, DEVICE_AUTHORIZATION, encode(form), FORM).await
}

/// A device authorization of `client_id` that must succeed: (device_code, user_code).
pub(crate) async fn start(
    server: &Server,
    client_id: &str,
    scope: Option<&str>,
) -> (String, String) {
    let mut form = vec![("client_id", client_id)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = device_authorize(server, &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["device_code"].as_str().unwrap().to_string(),
        r.body["user_code"].as_str().unwrap().to_string(),
    )
}

/// Poll the token endpoint as a public device client.
pub(crate) async fn poll(server: &Server, client_id: &str, device_code: &str) -> Json {
    let form = [
        ("grant_type", GRANT),
        ("device_code", device_code),
        ("client_id", client_id),
    ];
    post_form(server, TOKEN, encode(&form), FORM).await
}

/// An RFC 6749 §5.2 error: status 400, JSON, not cached, with `code`.
pub(crate) fn assert_error(r: &Json, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], code, "{}", r.body);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers["cache-control"], "no-store");
}

pub(crate) async fn stored(env: &Env, device_code: &str) -> Option<DeviceGrant> {
    env.db()
        .await
        .store()
        .find_device_grant(&token_checksum(device_code))
        .await
        .unwrap()
}

pub(crate) async fn user_id(env: &Env, name: &str) -> i64 {
    env.db()
        .await
        .store()
        .find_user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Run one SQL statement (test-only time travel: the store has no such methods).
pub(crate) async fn execute(env: &Env, sql: &str) {
    use sqlx::Connection;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

/// The stored form of a displayed user code.
pub(crate) fn stored_code(user_code: &str) -> String {
    user_code.replace('-', "")
}

/// Move a grant's `expires` into the past.
pub(crate) async fn expire_now(env: &Env, user_code: &str) {
    execute(
        env,
        &format!(
            "UPDATE oauth2_provider_devicegrant SET expires = expires - 3600000000000 \
             WHERE user_code = '{}'",
            stored_code(user_code)
        ),
    )
    .await;
}

/// Pretend the last poll was long ago.
pub(crate) async fn forget_last_poll(env: &Env, user_code: &str) {
    execute(
        env,
        &format!(
            "UPDATE oauth2_provider_devicegrant SET last_checked = last_checked - 3600000000 \
             WHERE user_code = '{}'",
            stored_code(user_code)
        ),
    )
    .await;
}

pub(crate) fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The query parameter `next` of a redirect to the login page.
pub(crate) fn next_of(location: &str) -> String {
    assert!(
        location.starts_with("/accounts/login/?"),
        "not a login redirect: {location}"
    );
    reqwest::Url::parse(&format!("http://x{location}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("next")
}

impl Browser {
    /// Enter `user_code` on the device page (with this session's CSRF token).
    pub(crate) async fn enter(&self, user_code: &str) -> Page {
        let form = self.get(DEVICE_PAGE).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            DEVICE_PAGE,
            &[("csrfmiddlewaretoken", &csrf), ("user_code", user_code)],
        )
        .await
    }

    /// POST the confirmation form at `confirm` with `action`.
    pub(crate) async fn decide(&self, confirm: &str, action: &str) -> Page {
        let csrf = self.csrf().await;
        self.post(
            confirm,
            &[("csrfmiddlewaretoken", &csrf), ("action", action)],
        )
        .await
    }

    /// Enter the code, look at the confirmation page, decide; returns the status URL.
    pub(crate) async fn approve(&self, user_code: &str, action: &str) -> String {
        let entered = self.enter(user_code).await;
        assert_eq!(entered.status, 302, "{}", entered.body);
        let confirm = entered.loc();
        let page = self.get(&confirm).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let decided = self.decide(&confirm, action).await;
        assert_eq!(decided.status, 302, "{}", decided.body);
        decided.loc()
    }
}

/// A logged-in browser for `test_user`.
pub(crate) async fn logged_in(server: &Server) -> Browser {
    let b = Browser::new(&server.base);
    b.login().await;
    b
}
