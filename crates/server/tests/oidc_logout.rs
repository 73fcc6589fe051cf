mod common;
use common::*;

// OpenID Connect RP-Initiated Logout 1.0, black-box over real HTTP against `oauth-toolkit
// serve`, on SQLite and PostgreSQL. Tests named `oidcc_rp_initiated_logout*` mirror the
// modules of the conformance suite's RP-Initiated Logout OP plan, one test per
// module with its expectation (where a module wants a screenshot of an error page, the page's
// status, message and the absence of a redirect are asserted). Tests named `dot_*` check DOT's
// behaviour.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::http_browser::{client, encode, unescape, Browser, Page};
use reqwest::Url;
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1/cb";
const LOGOUT: &str = "/o/logout/";
/// A's post-logout redirect URIs (DOT's fixture, plus an https one).
const A_LOGOUT_URIS: &str = "http://example.org https://rp.example/bye";
const P_LOGOUT_URI: &str = "http://other.org";

/// `serve` with a fixed issuer: every process of a test has the same one (else it is derived
/// from each one's address, and a second process would refuse the first one's ID tokens).
fn start(env: &Env, extra: &[(&str, &str)]) -> Server {
    let mut settings = vec![
        ("OAUTH_TOOLKIT_ISSUER", "http://op.test"),
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
    ];
    settings.extend_from_slice(extra);
    Server::start(env, &settings)
}

/// A provider, `test_user`, a confidential client A and a public client P.
struct Op {
    server: Server,
    a: String,
    a_secret: String,
    p: String,
}

fn op_with(env: &Env, extra: &[(&str, &str)]) -> Op {
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
fn dot_op(env: &Env, extra: &[(&str, &str)]) -> Op {
    let mut s = vec![(
        "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
        "false",
    )];
    s.extend_from_slice(extra);
    op_with(env, &s)
}

fn query_of(location: &str) -> Vec<(String, String)> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Op {
    fn base(&self) -> &str {
        &self.server.base
    }

    async fn browser(&self) -> Browser {
        let b = Browser::new(self.base());
        b.login().await;
        b
    }

    /// Code flow for `client_id` (A with its secret, P public): the token response.
    async fn sign_in(&self, b: &Browser, client_id: &str) -> Value {
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
    async fn id_token(&self, b: &Browser) -> String {
        self.sign_in(b, &self.a.clone()).await["id_token"]
            .as_str()
            .expect("id_token")
            .to_string()
    }

    async fn logout(&self, b: &Browser, params: &[(&str, &str)]) -> Page {
        b.get(&format!("{LOGOUT}?{}", encode(params))).await
    }
}

/// Is `b` logged in? (The provider's own logout page says so.)
async fn logged_in(b: &Browser) -> bool {
    b.get("/accounts/logout/")
        .await
        .body
        .contains("Do you want to log out?")
}

/// The confirmation page: "Confirm Logout", CSRF token, Cancel and Logout buttons.
fn assert_confirm_page(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Confirm Logout"), "{}", p.body);
    assert!(p.body.contains("value=\"Cancel\""));
    assert!(p.body.contains("name=\"allow\" value=\"Logout\""));
    assert!(!p.csrf().is_empty());
    assert!(p.location().is_none());
    assert_eq!(p.header("cache-control"), Some("no-store"));
}

/// Press a button of the confirmation page (`allow`: Logout, else Cancel).
async fn answer(b: &Browser, p: &Page, allow: bool) -> Page {
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
async fn confirmed(b: &Browser, p: Page) -> Page {
    if p.status == 200 && p.body.contains("Confirm Logout") {
        answer(b, &p, true).await
    } else {
        p
    }
}

/// A 400 error page with `message`, no redirect.
fn assert_refused(p: &Page, message: &str) {
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.location().is_none(), "an error must never redirect");
    let body = unescape(&p.body);
    assert!(body.contains(message), "{message:?} not in {body}");
}

/// The "logged out" page: no redirect.
fn assert_logged_out_page(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.location().is_none());
    assert!(p.body.contains("You have been logged out"), "{}", p.body);
    assert!(p.set_cookie_cleared(), "the session cookie is deleted");
}

trait Cleared {
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

const INVALID_HINT: &str = "The ID Token is expired, revoked, malformed, or otherwise invalid.";
const CLIENT_UNKNOWN: &str = "The client is unknown or no client has been included.";
const MISMATCH: &str =
    "Mismatch between the Client ID of the ID Token and the Client ID that was provided.";
const NOT_REGISTERED: &str = "This client does not have this redirect uri registered.";

/// The DER inside a PEM.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn exec(db: &oauth_toolkit_store::Database, sql: &str) {
    use sqlx::Connection;
    match db {
        oauth_toolkit_store::Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        oauth_toolkit_store::Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The conformance suite's RP-Initiated Logout OP plan
// ---------------------------------------------------------------------------------------------

/// Discovery advertises `end_session_endpoint` (the plan's first check); it is routed.
async fn oidcc_rp_initiated_logout_discovery(env: Env) {
    let op = op_with(&env, &[]);
    let doc: Value = client()
        .get(format!("{}/o/.well-known/openid-configuration", op.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let end = doc["end_session_endpoint"].as_str().expect("advertised");
    assert_eq!(end, "http://op.test/o/logout/");
    let r = client()
        .get(format!("{}/o/logout/", op.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "routed: the no-params confirmation");
    op.server.terminate();
}

/// Hint + registered `post_logout_redirect_uri` + `state`: (the user confirms, as always by
/// default) logged out, redirected to the URI with `state`.
async fn oidcc_rp_initiated_logout(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://rp.example/bye"),
                ("state", "xyz 123"),
            ],
        )
        .await;
    assert_confirm_page(&p);
    assert!(p.body.contains("Relying Party A"), "names the client");
    let p = answer(&b, &p, true).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), "https://rp.example/bye?state=xyz+123");
    assert!(p.set_cookie_cleared());
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// An unregistered `post_logout_redirect_uri`: an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.example/bye"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A hint whose signature was changed: an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_modified_id_token_hint(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let (head, sig) = hint.rsplit_once('.').unwrap();
    let mut sig = sig.to_string();
    let last = sig.pop().unwrap();
    sig.push(if last == 'A' { 'B' } else { 'A' });
    let modified = format!("{head}.{sig}");
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &modified),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, INVALID_HINT);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// No hint, but `client_id` + registered URI + `state`: the user is asked (no hint, so the
/// OP cannot know the RP speaks for this user), then redirected.
async fn oidcc_rp_initiated_logout_no_id_token_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op
        .logout(
            &b,
            &[
                ("client_id", &op.a),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "987654321"),
            ],
        )
        .await;
    assert_confirm_page(&p);
    assert!(
        logged_in(&b).await,
        "nothing happens before the user confirms"
    );
    let p = answer(&b, &p, true).await;
    assert_eq!(p.loc(), "http://example.org?state=987654321");
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// No parameters at all: the user confirms, then sees the "logged out" page (no redirect).
async fn oidcc_rp_initiated_logout_no_params(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[]).await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A hint but no `post_logout_redirect_uri`: logged out, the "logged out" page.
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("state", "s")])
        .await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(p.body.contains("Relying Party A"));
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A hint and a URI but no `state`: redirected to exactly the URI.
async fn oidcc_rp_initiated_logout_no_state(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    let p = confirmed(&b, p).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), "http://example.org");
    op.server.terminate();
}

/// Only `state`: logged out after confirmation, no redirect (nowhere to send `state`).
async fn oidcc_rp_initiated_logout_only_state(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[("state", "only")]).await;
    let p = confirmed(&b, p).await;
    assert_logged_out_page(&p);
    assert!(!p.body.contains("only"));
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// A registered URI with a query added: not registered, an error page, no redirect.
async fn oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://rp.example/bye?foo=bar"),
                ("state", "s"),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// Hints that are not ID tokens of this provider (a changed payload, another key, `alg:
/// none`, garbage): an error page, no redirect, still logged in.
async fn oidcc_rp_initiated_logout_bad_id_token_hint(env: Env) {
    let op = op_with(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let parts: Vec<&str> = hint.split('.').collect();
    let mut claims = claims_of(&hint);
    claims["sub"] = "999".into();
    let changed_payload = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    // Signed with a key that is not ours, under our kid.
    let foreign = oauth_toolkit_core::oidc::keys::generate(
        oauth_toolkit_core::oidc::keys::KeyAlgorithm::ES256,
    )
    .unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = header["kid"].as_str().map(str::to_owned);
    let foreign = jsonwebtoken::encode(
        &h,
        &claims_of(&hint),
        &jsonwebtoken::EncodingKey::from_ec_der(&pem_der(&foreign.private_key)),
    )
    .unwrap();
    for (what, bad) in [
        ("payload", changed_payload),
        ("alg none", none),
        ("foreign key", foreign),
        ("garbage", "111".to_string()),
    ] {
        let p = op
            .logout(
                &b,
                &[
                    ("id_token_hint", &bad),
                    ("post_logout_redirect_uri", "http://example.org"),
                    ("state", "s"),
                ],
            )
            .await;
        assert_eq!(p.status, 400, "{what}");
        assert_refused(&p, INVALID_HINT);
    }
    assert!(logged_in(&b).await);
    op.server.terminate();
}

// ---------------------------------------------------------------------------------------------
// DOT (ALWAYS_PROMPT=False)
// ---------------------------------------------------------------------------------------------

/// Logged in, no parameters or only `client_id` → the confirmation page, still
/// logged in; the page names the client when known.
async fn dot_153_160_without_hint_the_user_is_asked(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[]).await;
    assert_confirm_page(&p);
    let p = op.logout(&b, &[("client_id", &op.a)]).await;
    assert_confirm_page(&p);
    assert!(p.body.contains("Relying Party A"));
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A valid hint of the logged-in user → logged out at once (no page): the "logged
/// out" page, or the registered URI exactly, with `state` added.
async fn dot_154_155_hint_of_the_session_user_logs_out_at_once(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op.logout(&b, &[("id_token_hint", &hint)]).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&b).await);

    b.login().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org");
    b.login().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "987654321"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org?state=987654321");
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// 156, 163 (hint `111`, unknown client): a hint with another client's `client_id` → 400;
/// an unknown `client_id` → 400, never a 500; still logged in.
async fn dot_156_client_id_must_match_the_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.p)])
        .await;
    assert_refused(&p, MISMATCH);
    let p = op.logout(&b, &[("client_id", "not-a-client")]).await;
    assert_refused(&p, CLIENT_UNKNOWN);
    let p = op
        .logout(&b, &[("client_id", "x\u{0}y"), ("state", "s")])
        .await;
    assert_eq!(p.status, 400);
    let p = op.logout(&b, &[("id_token_hint", "111")]).await;
    assert_refused(&p, INVALID_HINT);
    let p = op
        .logout(&b, &[("client_id", &op.a), ("client_id", &op.a)])
        .await;
    assert_refused(&p, "Duplicate client_id parameter.");
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A hint whose ID token record was deleted still identifies the client but no longer
/// the user: the user is asked; a wrong `client_id` or another RP's URI is refused.
async fn dot_157_orphaned_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    exec(&env.db().await, "DELETE FROM oauth2_provider_idtoken").await;
    let p = op.logout(&b, &[("id_token_hint", &hint)]).await;
    assert_confirm_page(&p);
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_confirm_page(&p);
    let p = op
        .logout(
            &b,
            &[("id_token_hint", &hint), ("client_id", "not-the-right-one")],
        )
        .await;
    assert_eq!(p.status, 400);
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", P_LOGOUT_URI),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// Where we differ from DOT: the first RP's logout deletes only its own tokens;
/// the second RP's hint still names the user and its URI is honoured.
async fn dot_158_logout_deletes_only_the_requesting_clients_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let a_tokens = op.sign_in(&b, &op.a.clone()).await;
    let p_tokens = op.sign_in(&b, &op.p.clone()).await;
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 2);
    let p = op
        .logout(
            &b,
            &[("id_token_hint", a_tokens["id_token"].as_str().unwrap())],
        )
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    // P's access token still works.
    let r = client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(p_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A's does not.
    let r = client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(a_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The second RP's logout, once the browser is logged out: it is still redirected, but a
    // request that ends no session deletes nothing (the hint is no credential).
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", p_tokens["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", P_LOGOUT_URI),
            ],
        )
        .await;
    assert_eq!(p.loc(), P_LOGOUT_URI);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    op.server.terminate();
}

/// The public client P may use its `http` URI, unless
/// `oidc_rp_initiated_logout_strict_redirect_uris`.
async fn dot_159_strict_redirect_uris(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.sign_in(&b, &op.p.clone()).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", op.p.as_str()),
        ("post_logout_redirect_uri", P_LOGOUT_URI),
    ];
    let strict = start(
        &env,
        &[(
            "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS",
            "true",
        )],
    );
    let p = b
        .on(&strict.base)
        .get(&format!("{LOGOUT}?{}", encode(&params)))
        .await;
    assert_refused(&p, "http is only allowed with confidential clients.");
    let p = op.logout(&b, &params).await;
    assert_eq!(p.loc(), P_LOGOUT_URI);
    strict.terminate();
    op.server.terminate();
}

/// The user's answer. Cancel → 400 `logout_denied`, still logged in; Logout → logged
/// out; a forged answer (no or another session's CSRF token) → 403; an RP's logout request
/// sent by POST (no CSRF field, RP-Initiated Logout §2) is handled like a GET.
async fn dot_161_confirmation_answers(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[("client_id", &op.a)]).await;
    let cancelled = answer(&b, &p, false).await;
    assert_refused(&cancelled, "Logout has been refused by the user.");
    assert!(cancelled.body.contains("logout_denied"));
    assert!(logged_in(&b).await);

    let other = op.browser().await;
    let forged = b
        .post(
            LOGOUT,
            &[
                ("client_id", &op.a),
                ("allow", "Logout"),
                ("csrfmiddlewaretoken", &other.csrf().await),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(logged_in(&b).await);

    // The RP's POST: the confirmation page, as for a GET.
    let p = b
        .post(LOGOUT, &[("client_id", &op.a), ("allow", "Logout")])
        .await;
    assert_confirm_page(&p);
    assert!(logged_in(&b).await);
    let done = answer(&b, &p, true).await;
    assert_logged_out_page(&done);
    assert!(!logged_in(&b).await);

    // Anonymous: nothing to confirm; the answer form works too.
    let anon = Browser::new(op.base());
    let csrf = anon.csrf().await;
    let p = anon
        .post(
            LOGOUT,
            &[
                ("client_id", &op.a),
                ("allow", "True"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_logged_out_page(&p);
    op.server.terminate();
}

/// An expired hint is accepted by default, refused with
/// `oidc_rp_initiated_logout_accept_expired_tokens = false`.
async fn dot_162_expired_hints(env: Env) {
    let op = dot_op(&env, &[("OAUTH_TOOLKIT_ID_TOKEN_EXPIRE_SECONDS", "1")]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let strict = start(
        &env,
        &[
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS",
                "false",
            ),
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
                "false",
            ),
        ],
    );
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", op.a.as_str()),
        ("post_logout_redirect_uri", "http://example.org"),
    ];
    let p = b
        .on(&strict.base)
        .get(&format!("{LOGOUT}?{}", encode(&params)))
        .await;
    assert_refused(&p, INVALID_HINT);
    assert!(logged_in(&b).await);
    let p = op.logout(&b, &params).await;
    assert_eq!(p.loc(), "http://example.org");
    assert!(!logged_in(&b).await);
    strict.terminate();
    op.server.terminate();
}

/// `post_logout_redirect_uri` rules, with DOT's messages.
async fn dot_163_post_logout_redirect_uri_rules(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op
        .logout(&b, &[("post_logout_redirect_uri", "http://example.org")])
        .await;
    assert_refused(&p, CLIENT_UNKNOWN);
    for (uri, message) in [
        ("example.org", "A Scheme is required for the redirect URI."),
        (
            "imap://example.org",
            "Redirect to scheme \"imap\" is not permitted.",
        ),
        ("http://other.org", NOT_REGISTERED),
        ("javascript:alert(1)", "is not permitted."),
    ] {
        let p = op
            .logout(
                &b,
                &[("client_id", &op.a), ("post_logout_redirect_uri", uri)],
            )
            .await;
        assert_refused(&p, message);
    }
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// With `delete_tokens` (default) the client's access and ID tokens go and its refresh
/// tokens are revoked — also for an anonymous request carrying the hint; with
/// `delete_tokens = false` nothing is touched.
async fn dot_164_logout_deletes_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let db = env.db().await;
    let anon = Browser::new(op.base());
    let p = op
        .logout(&anon, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_logged_out_page(&p);
    // The hint is no credential: a request that ends no session deletes nothing (DOT deletes
    // the hint user's tokens whoever sends it).
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    assert!(
        logged_in(&b).await,
        "another browser's session is not ended"
    );
    // The user's own logout deletes them.
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 0);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 0);
    assert_eq!(
        count_rows(
            &db,
            "oauth2_provider_refreshtoken WHERE revoked IS NOT NULL"
        )
        .await,
        1
    );
    b.login().await;

    let keep = start(
        &env,
        &[
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS",
                "false",
            ),
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
                "false",
            ),
            ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
        ],
    );
    let b2 = b.on(&keep.base);
    let hint = op.id_token(&b).await;
    let p = b2
        .get(&format!(
            "{LOGOUT}?{}",
            encode(&[("id_token_hint", hint.as_str())])
        ))
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    assert_eq!(
        count_rows(&db, "oauth2_provider_refreshtoken WHERE revoked IS NULL").await,
        1
    );
    keep.terminate();
    op.server.terminate();
}

/// A hint for another user than the one logged in: the user is asked even without
/// `always_prompt`, and the session's user is the one logged out.
async fn hint_of_another_user_asks(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let other = Browser::new(op.base());
    other.login_as("other_user", "123456").await;
    let p = op.logout(&other, &[("id_token_hint", &hint)]).await;
    assert_confirm_page(&p);
    assert!(logged_in(&other).await);
    op.server.terminate();
}

/// `oidc_rp_initiated_logout_enabled = false`: `logout/` is 404 and not advertised.
async fn logout_disabled_is_not_routed(env: Env) {
    let op = op_with(
        &env,
        &[("OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ENABLED", "false")],
    );
    let r = client()
        .get(format!("{}{LOGOUT}", op.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let doc: Value = client()
        .get(format!("{}/o/.well-known/openid-configuration", op.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("end_session_endpoint").is_none());
    op.server.terminate();
}

backends!(
    oidcc_rp_initiated_logout_discovery,
    oidcc_rp_initiated_logout,
    oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_modified_id_token_hint,
    oidcc_rp_initiated_logout_no_id_token_hint,
    oidcc_rp_initiated_logout_no_params,
    oidcc_rp_initiated_logout_no_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_no_state,
    oidcc_rp_initiated_logout_only_state,
    oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_bad_id_token_hint,
    dot_153_160_without_hint_the_user_is_asked,
    dot_154_155_hint_of_the_session_user_logs_out_at_once,
    dot_156_client_id_must_match_the_hint,
    dot_157_orphaned_hint,
    dot_158_logout_deletes_only_the_requesting_clients_tokens,
    dot_159_strict_redirect_uris,
    dot_161_confirmation_answers,
    dot_162_expired_hints,
    dot_163_post_logout_redirect_uri_rules,
    dot_164_logout_deletes_tokens,
    hint_of_another_user_asks,
    logout_disabled_is_not_routed,
    a_hint_without_a_session_deletes_nothing,
    confirming_with_another_users_hint_ends_only_ones_own_tokens,
    a_post_without_the_csrf_value_never_ends_a_session,
    a_copied_cookie_stops_working_after_rp_logout,
);

/// The bearer token still reaches userinfo (200) or not (401).
async fn userinfo_status(op: &Op, access_token: &Value) -> u16 {
    client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(access_token.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An `id_token_hint` is a hint, never a credential: a cookie-less GET or a cross-site POST
/// carrying A's ID token of `test_user` ends no session and deletes none of its tokens.
async fn a_hint_without_a_session_deletes_nothing(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let tokens = op.sign_in(&b, &op.a.clone()).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    let db = env.db().await;
    let stranger = Browser::new(op.base());
    let p = op
        .logout(
            &stranger,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org");
    let p = stranger
        .post(LOGOUT, &[("id_token_hint", hint.as_str())])
        .await;
    assert!(p.status == 200 || p.status == 302, "{}", p.body);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(userinfo_status(&op, &tokens["access_token"]).await, 200);
    assert!(logged_in(&b).await, "the victim's session is untouched");
    op.server.terminate();
}

/// B is logged in and confirms a logout that carries A's hint: B's session and B's tokens of
/// the client end; A's tokens and A's session stay.
async fn confirming_with_another_users_hint_ends_only_ones_own_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let alice = op.browser().await;
    let alice_tokens = op.sign_in(&alice, &op.a.clone()).await;
    let bob = Browser::new(op.base());
    bob.login_as("other_user", "123456").await;
    let bob_tokens = op.sign_in(&bob, &op.a.clone()).await;
    let p = op
        .logout(
            &bob,
            &[("id_token_hint", alice_tokens["id_token"].as_str().unwrap())],
        )
        .await;
    let p = answer(&bob, &p, true).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&bob).await);
    assert_eq!(userinfo_status(&op, &bob_tokens["access_token"]).await, 401);
    assert_eq!(
        userinfo_status(&op, &alice_tokens["access_token"]).await,
        200
    );
    assert!(logged_in(&alice).await);
    op.server.terminate();
}

/// A POST to `logout/` without the confirmation page's CSRF value, even with a hint that names
/// the logged-in user, only shows the confirmation page: no forced logout by a form on
/// another site (or a same-site one the browser sends the cookie with).
async fn a_post_without_the_csrf_value_never_ends_a_session(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let tokens = op.sign_in(&b, &op.a.clone()).await;
    let p = b
        .post(
            LOGOUT,
            &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
        )
        .await;
    assert_confirm_page(&p);
    assert!(logged_in(&b).await);
    assert_eq!(userinfo_status(&op, &tokens["access_token"]).await, 200);
    // A wrong CSRF value is refused outright.
    let p = b
        .post(
            LOGOUT,
            &[
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
                ("csrfmiddlewaretoken", "forged"),
                ("allow", "Logout"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// The session ends server-side: a copy of the cookie taken before the logout is refused
/// afterwards, by another process too.
async fn a_copied_cookie_stops_working_after_rp_logout(env: Env) {
    let op = dot_op(&env, &[]);
    let second = start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let b = op.browser().await;
    let copy = b.on(&second.base);
    assert!(logged_in(&copy).await);
    let hint = op.id_token(&b).await;
    let p = op.logout(&b, &[("id_token_hint", hint.as_str())]).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&copy).await, "the copied cookie must be dead");
    second.terminate();
    op.server.terminate();
}
