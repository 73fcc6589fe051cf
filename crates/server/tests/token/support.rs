//! Requests to the token endpoint and fixtures shared by the modules.

use oauth_toolkit_core::models::{CodeChallengeMethod, NewGrant};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::common::*;

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POST a form to the token endpoint; returns (status, headers, json body).
pub(crate) async fn token_post(
    server: &Server,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http().post(format!("{}/o/token/", server.base)).form(form);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
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

pub(crate) async fn app_id(env: &Env, client_id: &str) -> i64 {
    env.db()
        .await
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A password-grant app and a user; returns (client_id, secret).
pub(crate) fn password_setup(env: &Env) -> (String, String) {
    env.create_user("alice", "wonderland");
    env.create_app("confidential", "password", &[])
}

pub(crate) async fn password_tokens(server: &Server, id: &str, secret: &str) -> Value {
    let (status, _, body) = token_post(
        server,
        Some(&basic(id, secret)),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A grant row as the authorization endpoint makes it (the endpoint itself is tested in
/// the `authorize` tests); returns the plaintext code.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn make_code(
    env: &Env,
    client_id: &str,
    user: &str,
    redirect_uri: &str,
    challenge: &str,
    method: Option<CodeChallengeMethod>,
    expires_in: i64,
) -> String {
    let code = oauth_toolkit_core::generators::generate_token();
    let store = env.db().await.store();
    store
        .create_grant(
            NewGrant {
                resource: String::new(),
                user_id: user_id(env, user).await,
                code: code.clone(),
                application_id: app_id(env, client_id).await,
                expires: OffsetDateTime::now_utc() + Duration::seconds(expires_in),
                redirect_uri: redirect_uri.into(),
                scope: "read write".into(),
                code_challenge: challenge.into(),
                code_challenge_method: method,
                nonce: String::new(),
                claims: "{}".into(),
                token_family: uuid::Uuid::new_v4(),
                auth_time: None,
                sid: String::new(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    code
}

pub(crate) async fn refresh(
    server: &Server,
    auth: &str,
    rt: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (s, _, b) = token_post(server, Some(auth), &form).await;
    (s, b)
}
