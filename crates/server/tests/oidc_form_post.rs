mod common;
use common::*;

// OAuth 2.0 Form Post Response Mode (the conformance suite's "Form Post OP" plans run the
// Basic/Hybrid modules with `response_mode=form_post`), black-box against `oauth-toolkit
// serve`, on SQLite and PostgreSQL: the response is an HTML form POSTing the parameters to
// the redirect URI, for success and error responses, never a URL carrying them.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::http_browser::{client, encode, unescape, Browser, Page};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1/cb";
const STATE: &str = "af0ifjsldkj";
const NONCE: &str = "n-0S6_WzA2Mj";

struct Op {
    server: Server,
    client_id: String,
    secret: String,
}

fn op(env: &Env, grant: &str) -> Op {
    env.create_user("test_user", "123456");
    let (client_id, secret) = env.create_app(
        "confidential",
        grant,
        &["--redirect-uris", REDIRECT, "--name", "Form Post RP"],
    );
    Op {
        server: Server::start(env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]),
        client_id,
        secret,
    }
}

/// The form of a form_post page: its action and hidden fields.
fn form_of(p: &Page) -> (String, BTreeMap<String, String>) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.location().is_none(), "form_post never redirects");
    let action_at = p.body.find("action=\"").expect("a form") + "action=\"".len();
    let action = &p.body[action_at..];
    let action = unescape(&action[..action.find('"').unwrap()]);
    let mut fields = BTreeMap::new();
    let mut rest = p.body.as_str();
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        let v = &rest[rest.find("value=\"").unwrap() + "value=\"".len()..];
        let value = &v[..v.find('"').unwrap()];
        fields.insert(unescape(name), unescape(value));
    }
    (action, fields)
}

/// The headers of a form_post page: not cached, only the nonced script may run.
fn assert_form_post_headers(p: &Page) {
    assert!(p
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert_eq!(p.header("cache-control"), Some("no-store"));
    let csp = p.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a script nonce");
    assert!(nonce.len() >= 22, "a random nonce");
    assert!(
        p.body.contains(&format!(
            "<script nonce=\"{nonce}\">document.forms[0].submit();</script>"
        )),
        "the auto-submit script carries the CSP nonce: {}",
        p.body
    );
    assert!(p.body.contains("<noscript>"), "works without JavaScript");
    assert!(p.body.contains("method=\"post\""));
}

impl Op {
    fn base(&self) -> &str {
        &self.server.base
    }

    /// GET authorize/ (logged in), then the consent POST with `allow` or not.
    async fn consent(&self, b: &Browser, params: &[(&str, &str)], allow: bool) -> Page {
        let p = b.get(&format!("/o/authorize/?{}", encode(params))).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert_eq!(p.hidden("response_mode").as_deref(), Some("form_post"));
        let mut form = p.form_fields();
        if allow {
            form.push(("allow".into(), "Authorize".into()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        b.post("/o/authorize/", &form).await
    }

    async fn exchange(&self, code: &str) -> Value {
        let r = client()
            .post(format!("{}/o/token/", self.base()))
            .basic_auth(&self.client_id, Some(&self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

fn half_hash(v: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(v.as_bytes())[..16])
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `oidcc-server` with `response_mode=form_post`: the code and state arrive in the form, and
/// the code is exchanged as usual.
async fn oidcc_server_form_post(env: Env) {
    let op = op(&env, "authorization-code");
    let b = Browser::new(op.base());
    b.login().await;
    let params = [
        ("client_id", op.client_id.as_str()),
        ("response_type", "code"),
        ("response_mode", "form_post"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("state", STATE),
        ("nonce", NONCE),
    ];
    let p = op.consent(&b, &params, true).await;
    assert_form_post_headers(&p);
    let (action, fields) = form_of(&p);
    assert_eq!(action, REDIRECT);
    assert_eq!(fields["state"], STATE);
    assert!(!fields.contains_key("access_token"));
    let t = op.exchange(&fields["code"]).await;
    assert_eq!(claims_of(t["id_token"].as_str().unwrap())["nonce"], NONCE);
    // Denied: the error travels the same way.
    let p = op.consent(&b, &params, false).await;
    assert_form_post_headers(&p);
    let (action, fields) = form_of(&p);
    assert_eq!(action, REDIRECT);
    assert_eq!(fields["error"], "access_denied");
    assert_eq!(fields["state"], STATE);
    assert!(!fields.contains_key("code"));
    op.server.terminate();
}

/// Errors found while validating the GET (here an unsupported PKCE method) are sent as a
/// form too, with `state`.
async fn form_post_errors_are_forms(env: Env) {
    let op = op(&env, "authorization-code");
    let b = Browser::new(op.base());
    b.login().await;
    let p = b
        .get(&format!(
            "/o/authorize/?{}",
            encode(&[
                ("client_id", op.client_id.as_str()),
                ("response_type", "code"),
                ("response_mode", "form_post"),
                ("scope", "openid"),
                ("redirect_uri", REDIRECT),
                ("state", STATE),
                ("code_challenge", "x"),
                ("code_challenge_method", "S512"),
            ])
        ))
        .await;
    assert_form_post_headers(&p);
    let (action, fields) = form_of(&p);
    assert_eq!(action, REDIRECT);
    assert_eq!(fields["error"], "invalid_request");
    assert_eq!(fields["state"], STATE);
    op.server.terminate();
}

/// `oidcc-hybrid` `code id_token` with `response_mode=form_post`: code, ID token (with
/// `c_hash`) and state in the form; with `response_mode=query` the ID token is never put
/// in the query (the fragment is used).
async fn oidcc_hybrid_server_form_post(env: Env) {
    let op = op(&env, "openid-hybrid");
    let b = Browser::new(op.base());
    b.login().await;
    let mut params = vec![
        ("client_id", op.client_id.as_str()),
        ("response_type", "code id_token"),
        ("response_mode", "form_post"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("state", STATE),
        ("nonce", NONCE),
    ];
    let p = op.consent(&b, &params, true).await;
    assert_form_post_headers(&p);
    let (action, fields) = form_of(&p);
    assert_eq!(action, REDIRECT);
    assert_eq!(fields["state"], STATE);
    let c = claims_of(&fields["id_token"]);
    assert_eq!(c["nonce"], NONCE);
    assert_eq!(c["c_hash"], half_hash(&fields["code"]).as_str());
    op.exchange(&fields["code"]).await;

    // response_mode=query: tokens never in a query.
    params[2] = ("response_mode", "query");
    let p = b.get(&format!("/o/authorize/?{}", encode(&params))).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.hidden("response_mode").as_deref(), Some("fragment"));
    let mut form = p.form_fields();
    form.push(("allow".into(), "Authorize".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let loc = b.post("/o/authorize/", &form).await.loc();
    let (before, fragment) = loc.split_once('#').expect("a fragment");
    assert_eq!(before, REDIRECT, "nothing in the query: {loc}");
    assert!(fragment.contains("id_token="));
    op.server.terminate();
}

backends!(
    oidcc_server_form_post,
    form_post_errors_are_forms,
    oidcc_hybrid_server_form_post,
);
