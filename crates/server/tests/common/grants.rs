//! Token-endpoint helpers shared by the RFC-exact and inactive-user tests: form posts, and
//! authorization codes written straight into the store (as `authorize/` writes them).

use oauth_toolkit_core::models::NewGrant;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::http_browser::client as http;
use super::Env;

pub async fn post_form(
    base: &str,
    path: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = http().post(format!("{base}{path}")).form(form);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub fn err(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"].as_str())
}

/// A code row as `authorize/` writes it, for `user`, with `redirect_uri` as recorded.
pub async fn make_code(
    env: &Env,
    client_id: &str,
    user: &str,
    redirect_uri: &str,
    scope: &str,
) -> String {
    let store = env.db().await.store();
    let code = oauth_toolkit_core::generators::generate_token();
    let user_id = store.find_user_by_username(user).await.unwrap().unwrap().id;
    let app = store
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap();
    store
        .create_grant(
            NewGrant {
                resource: String::new(),
                user_id,
                code: code.clone(),
                application_id: app.id,
                expires: OffsetDateTime::now_utc() + Duration::seconds(60),
                redirect_uri: redirect_uri.into(),
                scope: scope.into(),
                code_challenge: String::new(),
                code_challenge_method: None,
                nonce: "n-0S6_WzA2Mj".into(),
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

pub fn exchange<'a>(code: &'a str, redirect: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("grant_type", "authorization_code"), ("code", code)];
    if let Some(r) = redirect {
        f.push(("redirect_uri", r));
    }
    f
}
