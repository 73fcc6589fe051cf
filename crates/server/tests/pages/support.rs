//! Users, clients, flows, database reads and page parsing shared by the page tests.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::Url;
use serde_json::Value;

use crate::common::http_browser::{client, encode, unescape, Browser, Page};
use crate::common::*;

/// Every user's password.
pub(crate) const PW: &str = "correct-horse-battery-9";
pub(crate) const REDIRECT: &str = "https://client.example/cb";
pub(crate) const APPS: &str = "/o/applications/";
pub(crate) const TOKENS: &str = "/o/authorized_tokens/";
pub(crate) const CSRF: &str = "csrfmiddlewaretoken";
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// `createuser NAME --password-stdin [--staff]`, password [`PW`].
pub(crate) fn user(env: &Env, name: &str, staff: bool) {
    let mut cmd = env.cmd();
    cmd.args(["createuser", name, "--password-stdin"]);
    if staff {
        cmd.arg("--staff");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PW}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "createuser {name}: {}", stderr(&o));
}

/// A browser signed in as `name` through the login form.
pub(crate) async fn signed_in(server: &Server, name: &str) -> Browser {
    let b = Browser::new(&server.base);
    b.login_as(name, PW).await;
    b
}

/// The body with HTML escapes undone (minijinja escapes `/` too).
pub(crate) fn text(p: &Page) -> String {
    unescape(&p.body)
}

/// Every `href` of a page, unescaped.
pub(crate) fn hrefs(p: &Page) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = p.body.as_str();
    while let Some(i) = rest.find("href=\"") {
        rest = &rest[i + 6..];
        let end = rest.find('"').unwrap();
        out.push(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

/// The inner HTML of the element whose opening tag contains `id="<id>"`, unescaped.
pub(crate) fn element(p: &Page, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = p.body.find(&marker)?;
    let open_end = p.body[start..].find('>')? + start + 1;
    let tag_start = p.body[..start].rfind('<')?;
    let tag: String = p.body[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = p.body[open_end..].find(&format!("</{tag}>"))? + open_end;
    Some(unescape(&p.body[open_end..close]))
}

/// The secret a page shows once (registration, rotation), if any.
pub(crate) fn secret_shown(p: &Page) -> Option<String> {
    element(p, "client-secret").map(|s| s.trim().to_string())
}

/// A `302` to the login page whose `next` is `path`.
pub(crate) fn assert_login_redirect(p: &Page, path: &str) {
    assert_eq!(p.status, 302, "{path}: {}", p.body);
    let loc = p.loc();
    let (login, query) = loc.split_once('?').unwrap_or((&loc, ""));
    assert_eq!(login, "/accounts/login/", "{path}: {loc}");
    let next = query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v);
    assert_eq!(next.as_deref(), Some(path), "{path}: {loc}");
}

pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The error page of `status` (HTML, with its heading).
pub(crate) fn assert_error_page(p: &Page, status: u16, what: &str) {
    assert_eq!(p.status, status, "{what}: {}", p.body);
    assert!(
        p.body.contains("<h1"),
        "{what}: not an HTML page: {}",
        p.body
    );
}

// ---------------------------------------------------------------------------------------------
// The token and introspection endpoints.
// ---------------------------------------------------------------------------------------------

pub(crate) async fn token(
    server: &Server,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/o/token/", server.base))
        .header("authorization", basic(id, secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The password grant for `user` (scope `read write`): (access token, refresh token).
pub(crate) async fn password_grant(
    server: &Server,
    id: &str,
    secret: &str,
    user: &str,
) -> (String, String) {
    let (s, b) = token(
        server,
        id,
        secret,
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", PW),
            ("scope", "read write"),
        ],
    )
    .await;
    assert_eq!(s, 200, "password grant: {b}");
    (
        b["access_token"].as_str().unwrap().to_string(),
        b["refresh_token"].as_str().unwrap().to_string(),
    )
}

/// `POST /o/token/` with `grant_type=refresh_token`.
pub(crate) async fn refresh(server: &Server, id: &str, secret: &str, rt: &str) -> (u16, Value) {
    token(
        server,
        id,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// Does introspection (authenticated as the client) say the token is active?
pub(crate) async fn active(server: &Server, id: &str, secret: &str, tok: &str) -> bool {
    let resp = client()
        .post(format!("{}/o/introspect/", server.base))
        .header("authorization", basic(id, secret))
        .form(&[("token", tok)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "introspection: {body}");
    match body["active"] {
        Value::Bool(b) => b,
        _ => panic!("introspection without active: {body}"),
    }
}

/// The authorization code flow through the consent page, up to the code (PKCE S256 with
/// [`VERIFIER`]).
pub(crate) async fn code_flow(b: &Browser, client_id: &str, scope: &str) -> String {
    let challenge = oauth_toolkit_core::pkce::s256_challenge(VERIFIER);
    let q = encode(&[
        ("client_id", client_id),
        ("response_type", "code"),
        ("scope", scope),
        ("redirect_uri", REDIRECT),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let p = b.get(&format!("/o/authorize/?{q}")).await;
    let loc = if p.status == 302 {
        // Consent remembered.
        p.loc()
    } else {
        assert_eq!(p.status, 200, "consent page: {}", p.body);
        let fields = p.form_fields();
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("allow", "Authorize"));
        let r = b.post("/o/authorize/", &form).await;
        assert_eq!(r.status, 302, "consent: {}", r.body);
        r.loc()
    };
    assert!(loc.starts_with(REDIRECT), "{loc}");
    query_pairs(loc.split_once('?').unwrap().1)
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no code in {loc}"))
}

/// Redeem a code of [`code_flow`]: the token response.
pub(crate) async fn redeem(server: &Server, id: &str, secret: &str, code: &str) -> Value {
    let (s, b) = token(
        server,
        id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(s, 200, "code exchange: {b}");
    b
}

// ---------------------------------------------------------------------------------------------
// The database, read directly.
// ---------------------------------------------------------------------------------------------

/// The first column of every row of `sql` (text).
pub(crate) async fn strings(env: &Env, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    }
}

/// The first column of every row of `sql` (integers).
pub(crate) async fn ints(env: &Env, sql: &str) -> Vec<i64> {
    use sqlx::Connection;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    }
}

pub(crate) async fn count(env: &Env, table_and_where: &str) -> i64 {
    count_rows(&env.db().await, table_and_where).await
}

pub(crate) async fn app_of(env: &Env, client_id: &str) -> Option<Application> {
    env.db()
        .await
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
}

pub(crate) async fn user_id(env: &Env, name: &str) -> i64 {
    let store = env.db().await.store();
    store.find_user_by_username(name).await.unwrap().unwrap().id
}

pub(crate) async fn is_active(env: &Env, name: &str) -> bool {
    let store = env.db().await.store();
    store
        .find_user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .is_active
}

/// The row id of an access token (by its value).
pub(crate) async fn at_id(env: &Env, at: &str) -> i64 {
    let store = env.db().await.store();
    store
        .find_access_token(&token_checksum(at))
        .await
        .unwrap()
        .expect("access token row")
        .id
}

pub(crate) async fn rt_id(env: &Env, rt: &str) -> i64 {
    let store = env.db().await.store();
    store
        .find_refresh_token(&token_checksum(rt))
        .await
        .unwrap()
        .expect("refresh token row")
        .id
}

pub(crate) async fn grant_id(env: &Env, code: &str) -> Option<i64> {
    let store = env.db().await.store();
    store
        .find_grant(&token_checksum(code))
        .await
        .unwrap()
        .map(|g| g.id)
}

/// What the admin or a page could change, as text: compared before and after requests
/// that must change nothing.
pub(crate) async fn snapshot(env: &Env) -> Vec<String> {
    let queries = [
        "SELECT name || '|' || client_id || '|' || client_secret || '|' || redirect_uris FROM oauth2_provider_application ORDER BY id",
        "SELECT username || '|' || password || '|' || CAST(is_active AS TEXT) || '|' || CAST(is_staff AS TEXT) FROM oauth_toolkit_user ORDER BY id",
        "SELECT token_checksum || '|' || CAST(expires AS TEXT) FROM oauth2_provider_accesstoken ORDER BY id",
        "SELECT token_checksum || '|' || COALESCE(CAST(revoked AS TEXT), '-') FROM oauth2_provider_refreshtoken ORDER BY id",
        "SELECT code_checksum || '|' || COALESCE(CAST(consumed AS TEXT), '-') FROM oauth2_provider_grant ORDER BY id",
        "SELECT CAST(jti AS TEXT) FROM oauth2_provider_idtoken ORDER BY id",
        "SELECT device_code_checksum || '|' || status FROM oauth2_provider_devicegrant ORDER BY id",
        "SELECT kid FROM oauth_toolkit_signingkey ORDER BY id",
        "SELECT sid_checksum FROM oauth_toolkit_session ORDER BY id",
    ];
    let mut out = Vec::new();
    for q in queries {
        out.push(format!("-- {q}"));
        out.extend(strings(env, q).await);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The management pages.
// ---------------------------------------------------------------------------------------------

/// The registration form's fields with `overrides` applied (an empty value drops a field).
pub(crate) fn app_form<'a>(overrides: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    let mut v = vec![
        ("name", "My App"),
        ("client_type", "confidential"),
        ("authorization_grant_type", "authorization-code"),
        ("redirect_uris", REDIRECT),
        ("post_logout_redirect_uris", ""),
        ("allowed_origins", ""),
        ("algorithm", ""),
        ("hash_client_secret", "on"),
    ];
    for (k, val) in overrides {
        v.retain(|(n, _)| n != k);
        v.push((k, val));
    }
    v
}

/// Open the registration page (which generates a client id) and submit it with `fields`.
pub(crate) async fn register(b: &Browser, fields: &[(&str, &str)]) -> Page {
    let form = b.get(&format!("{APPS}register/")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let generated = form.input_value("client_id");
    let mut body: Vec<(&str, &str)> = vec![(CSRF, &csrf)];
    if !fields.iter().any(|(k, _)| *k == "client_id") {
        body.push(("client_id", &generated));
    }
    body.extend_from_slice(fields);
    b.post(&format!("{APPS}register/"), &body).await
}

/// The pk of an application page from its links (`/o/applications/<pk>/update/`).
pub(crate) fn pk_of(p: &Page) -> i64 {
    hrefs(p)
        .iter()
        .find_map(|h| h.strip_prefix(APPS)?.strip_suffix("/update/")?.parse().ok())
        .unwrap_or_else(|| panic!("no update link in {}", p.body))
}

pub(crate) trait Inputs {
    /// The value of the input `name` (as rendered, unescaped).
    fn input_value(&self, name: &str) -> String;
}

impl Inputs for Page {
    fn input_value(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name}"))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        unescape(&self.body[start..end])
    }
}

// ---------------------------------------------------------------------------------------------
// The log.
// ---------------------------------------------------------------------------------------------

/// Wait (polling, at most 10 s) for a log line containing every one of `parts`.
pub(crate) async fn logged(server: &Server, parts: &[&str]) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = server
            .log
            .lock()
            .unwrap()
            .lines()
            .find(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_string);
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
