//! The fixture (a provider, a user, clients A and P), the browser's steps, the pages.

use reqwest::Url;
use serde_json::Value;

use crate::common::http_browser::{client, encode, unescape, Browser, Page};
use crate::common::*;

pub(crate) const REDIRECT: &str = "http://127.0.0.1/cb";
pub(crate) const LOGOUT: &str = "/o/logout/";
/// A's post-logout redirect URIs (DOT's fixture, plus an https one).
pub(crate) const A_LOGOUT_URIS: &str = "http://example.org https://rp.example/bye";
pub(crate) const P_LOGOUT_URI: &str = "http://other.org";

/// `serve` with a fixed issuer: every process of a test has the same one (else it is derived
/// from each one's address, and a second process would refuse the first one's ID tokens).
pub(crate) fn start(env: &Env, extra: &[(&str, &str)]) -> Server {
    let mut settings = vec![
        ("OAUTH_TOOLKIT_ISSUER", "http://op.test"),
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
    ];
    settings.extend_from_slice(extra);
    Server::start(env, &settings)
}

/// A provider, `test_user`, a confidential client A and a public client P.
pub(crate) struct Op {
    pub(crate) server: Server,
    pub(crate) a: String,
    pub(crate) a_secret: String,
    pub(crate) p: String,
}

pub(crate) fn op_with(env: &Env, extra: &[(&str, &str)]) -> Op {
    env.create_user("test_user", "123456");
    env.create_user("other_user", "123456");
    let (a, a_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--redirect-uris",
            REDIRECT,
            "--post-logout-redirect-uris",
            A_LOGOUT_URIS,
            "--name",
            "Relying Party A",
        ],
    );
    let (p, _) = env.create_app(
        "public",
        "authorization-code",
        &[
            "--redirect-uris",
            REDIRECT,
            "--post-logout-redirect-uris",
            P_LOGOUT_URI,
            "--name",
            "Public P",
        ],
    );
    let mut settings = vec![("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")];
    settings.extend_from_slice(extra);
    Op {
        server: start(env, &settings),
        a,
        a_secret,
        p,
    }
}

/// DOT's fixture: `ALWAYS_PROMPT=False`.
pub(crate) fn dot_op(env: &Env, extra: &[(&str, &str)]) -> Op {
    let mut s = vec![(
        "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
        "false",
    )];
    s.extend_from_slice(extra);
    op_with(env, &s)
}

pub(crate) fn query_of(location: &str) -> Vec<(String, String)> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Op {
    pub(crate) fn base(&self) -> &str {
        &self.server.base
    }

    pub(crate) async fn browser(&self) -> Browser {
        let b = Browser::new(self.base());
        b.login().await;
        b
    }

    /// Code flow for `client_id` (A with its secret, P public): the token response.
    pub(crate) async fn sign_in(&self, b: &Browser, client_id: &str) -> Value {
        let q = encode(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
            ("nonce", "n"),
        ]);
        let p = b.get(&format!("/o/authorize/?{q}")).await;
        let loc = if p.status == 302 {
            p.loc()
        } else {
            assert_eq!(p.status, 200, "{}", p.body);
            let mut form: Vec<(String, String)> = p.form_fields();
            form.push(("allow".into(), "Authorize".into()));
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            b.post("/o/authorize/", &form).await.loc()
        };
        let code = query_of(&loc)
            .into_iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no code: {loc}"));
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let req = client()
            .post(format!("{}/o/token/", self.base()))
            .header("content-type", "application/x-www-form-urlencoded");
        let req = if client_id == self.a {
            req.basic_auth(&self.a, Some(&self.a_secret))
        } else {
            form.push(("client_id", client_id));
            req
        };
        let r = req.body(encode(&form)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A's ID token for the logged-in user of `b`.
    pub(crate) async fn id_token(&self, b: &Browser) -> String {
        self.sign_in(b, &self.a.clone()).await["id_token"]
            .as_str()
            .expect("id_token")
            .to_string()
    }

    pub(crate) async fn logout(&self, b: &Browser, params: &[(&str, &str)]) -> Page {
        b.get(&format!("{LOGOUT}?{}", encode(params))).await
    }
}

/// Is `b` logged in? (The provider's own logout page says so.)
pub(crate) async fn logged_in(b: &Browser) -> bool {
    b.get("/accounts/logout/")
        .await
        .body
        .contains("Do you want to log out?")
}

/// The confirmation page: "Confirm Logout", CSRF token, Cancel and Logout buttons.
pub(crate) fn assert_confirm_page(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Confirm Logout"), "{}", p.body);
    assert!(p.body.contains("value=\"Cancel\""));
    assert!(p.body.contains("name=\"allow\" value=\"Logout\""));
    assert!(!p.csrf().is_empty());
    assert!(p.location().is_none());
    assert_eq!(p.header("cache-control"), Some("no-store"));
}

/// Press a button of the confirmation page (`allow`: Logout, else Cancel).
pub(crate) async fn answer(b: &Browser, p: &Page, allow: bool) -> Page {
    assert_confirm_page(p);
    let mut form: Vec<(String, String)> = [
        "id_token_hint",
        "logout_hint",
        "client_id",
        "post_logout_redirect_uri",
        "state",
        "ui_locales",
        "csrfmiddlewaretoken",
    ]
    .iter()
    .filter_map(|n| p.hidden(n).map(|v| (n.to_string(), v)))
    .collect();
    if allow {
        form.push(("allow".into(), "Logout".into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(LOGOUT, &form).await
}

/// Follow the confirmation page when shown (the conformance suite's browser clicks it).
pub(crate) async fn confirmed(b: &Browser, p: Page) -> Page {
    if p.status == 200 && p.body.contains("Confirm Logout") {
        answer(b, &p, true).await
    } else {
        p
    }
}

/// A 400 error page with `message`, no redirect.
pub(crate) fn assert_refused(p: &Page, message: &str) {
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.location().is_none(), "an error must never redirect");
    let body = unescape(&p.body);
    assert!(body.contains(message), "{message:?} not in {body}");
}

/// The "logged out" page: no redirect.
pub(crate) fn assert_logged_out_page(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.location().is_none());
    assert!(p.body.contains("You have been logged out"), "{}", p.body);
    assert!(p.set_cookie_cleared(), "the session cookie is deleted");
}

pub(crate) trait Cleared {
    fn set_cookie_cleared(&self) -> bool;
}

impl Cleared for Page {
    /// The response deletes the session cookie.
    fn set_cookie_cleared(&self) -> bool {
        self.headers.get_all("set-cookie").iter().any(|v| {
            let v = v.to_str().unwrap_or("").to_ascii_lowercase();
            v.starts_with("sessionid=") && v.contains("max-age=0")
        })
    }
}

pub(crate) const INVALID_HINT: &str =
    "The ID Token is expired, revoked, malformed, or otherwise invalid.";
pub(crate) const CLIENT_UNKNOWN: &str = "The client is unknown or no client has been included.";
pub(crate) const MISMATCH: &str =
    "Mismatch between the Client ID of the ID Token and the Client ID that was provided.";
pub(crate) const NOT_REGISTERED: &str = "This client does not have this redirect uri registered.";
