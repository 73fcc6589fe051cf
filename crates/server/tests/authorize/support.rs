//! DOT's baseline fixture, the browser's steps, and reading redirects.

use std::collections::BTreeMap;

use reqwest::Url;

use crate::common::http_browser::{client, encode, escape, Browser, Page};
use crate::common::*;

/// DOT's baseline fixture: the registered URIs of application A.
pub(crate) const URIS: &str = "http://localhost http://example.com http://example.org custom-scheme://example.com http://example.com?foo=bar http://example.org?foo=bar http://example.com?bar=baz&foo=bar";
pub(crate) const STATE: &str = "random_state_string";
pub(crate) const AUTHORIZE: &str = "/o/authorize/";
pub(crate) const SCHEMES_VAR: &str = "OAUTH_TOOLKIT_ALLOWED_REDIRECT_URI_SCHEMES";

/// DOT's baseline settings (plus OIDC off: OpenID Connect has its own tests).
pub(crate) fn settings(
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
        (SCHEMES_VAR, "http,custom-scheme"),
        ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read,write"),
        ("OAUTH_TOOLKIT_OIDC_ENABLED", "false"),
    ];
    v.extend_from_slice(extra);
    v
}

/// `createapplication` with the schemes of the fixture allowed.
pub(crate) fn create_app(
    env: &Env,
    client_type: &str,
    grant: &str,
    extra: &[&str],
) -> (String, String) {
    create_app_schemes(env, "http,custom-scheme", client_type, grant, extra)
}

pub(crate) fn create_app_schemes(
    env: &Env,
    schemes: &str,
    client_type: &str,
    grant: &str,
    extra: &[&str],
) -> (String, String) {
    let mut args = vec!["createapplication", client_type, grant, "--json"];
    args.extend_from_slice(extra);
    let o = env
        .cmd()
        .env(SCHEMES_VAR, schemes)
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "createapplication: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap_or("").to_string(),
    )
}

/// User `test_user`/`123456`, application A, and a running server.
pub(crate) fn fixture(
    env: &Env,
    extra: &[(&'static str, &'static str)],
) -> (Server, String, String) {
    env.create_user("test_user", "123456");
    let (id, secret) = create_app(
        env,
        "confidential",
        "authorization-code",
        &["--name", "App A", "--redirect-uris", URIS],
    );
    (Server::start(env, &settings(extra)), id, secret)
}

// ---------------------------------------------------------------------------------------------
// The browser is `common::http_browser`; what only these tests need:
// ---------------------------------------------------------------------------------------------

impl Page {
    pub(crate) fn assert_fatal(&self, description: &str) {
        assert_eq!(self.status, 400, "{}", self.body);
        assert!(self.location().is_none(), "a fatal error must not redirect");
        assert!(
            self.body.contains("Error: invalid_request"),
            "{}",
            self.body
        );
        assert!(
            self.body.contains(&escape(description)),
            "{description:?} not in {}",
            self.body
        );
        // The registered redirect URIs are never disclosed.
        assert!(!self.body.contains("example."), "{}", self.body);
    }
}

impl Browser {
    /// POST the consent form with `fields` plus this session's CSRF token.
    pub(crate) async fn consent(&self, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", &csrf)];
        form.extend_from_slice(fields);
        self.post(AUTHORIZE, &form).await
    }
}

/// `/o/authorize/?<pairs>`.
pub(crate) fn authorize_url(pairs: &[(&str, &str)]) -> String {
    format!("{AUTHORIZE}?{}", encode(pairs))
}

/// DOT's "authorize params" for `client_id`, with `extra` appended.
pub(crate) fn params<'a>(
    client_id: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("state", STATE),
        ("scope", "read write"),
        ("redirect_uri", "http://example.org"),
    ];
    for (k, val) in extra {
        v.retain(|(n, _)| n != k);
        v.push((k, val));
    }
    v
}

pub(crate) fn decode(s: &str) -> BTreeMap<String, String> {
    Url::parse(&format!("http://x/?{s}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Query parameters of a Location.
pub(crate) fn query_of(location: &str) -> BTreeMap<String, String> {
    let before_fragment = location.split('#').next().unwrap();
    decode(before_fragment.split_once('?').map(|x| x.1).unwrap_or(""))
}

/// Fragment parameters of a Location.
pub(crate) fn fragment_of(location: &str) -> BTreeMap<String, String> {
    decode(location.split_once('#').map(|x| x.1).unwrap_or(""))
}

/// The `next` of a redirect to the login page.
pub(crate) fn next_of(location: &str) -> String {
    assert!(
        location.starts_with("/accounts/login/?"),
        "not a login redirect: {location}"
    );
    query_of(location).remove("next").expect("next")
}

pub(crate) async fn grants(env: &Env) -> i64 {
    count_rows(&env.db().await, "oauth2_provider_grant").await
}

/// Obtain a code for `client_id` through the consent form.
pub(crate) async fn code_for(b: &Browser, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut form = params(client_id, extra);
    form.push(("allow", "Authorize"));
    let p = b.consent(&form).await;
    assert_eq!(p.status, 302, "{}", p.body);
    query_of(&p.loc())
        .remove("code")
        .unwrap_or_else(|| panic!("no code in {}", p.loc()))
}

/// POST /o/token/ with HTTP Basic client authentication.
pub(crate) async fn token(
    base: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let resp = client()
        .post(format!("{base}/o/token/"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// The `iss` parameter (RFC 9207) a server with the default issuer adds to its responses:
/// `http://<bind>/o`, percent-encoded.
pub(crate) fn iss(server: &Server) -> String {
    let issuer = format!("{}/o", server.base);
    encode(&[("iss", &issuer)])["iss=".len()..].to_string()
}
