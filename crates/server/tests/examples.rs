//! The two programs of `examples/embedded_app`, run as their users would run them, on SQLite
//! and PostgreSQL: an existing app with its own routes and users nests the provider under
//! `/oauth/`, and the `openidconnect` crate signs a user in against it — once through the
//! app's own login page, once through the provider's login pages.

mod common;

use std::process::{Command, Stdio};

use common::http_browser::{encode, Browser, Page};
use common::{workspace_binary, Env, Server};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::Url;
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1/cb";
const USERS: &str = "alice:alice-pw:alice@app.example,bob:bob-pw:bob@app.example";

/// A running example (killed on drop) and its own database.
struct App {
    _server: Server,
    base: String,
    app_db: String,
}

fn start(env: &Env, binary: &str) -> App {
    let app_db = format!("sqlite://{}", env.path("app.sqlite3").display());
    let mut cmd = Command::new(workspace_binary(binary));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("OAUTH_TOOLKIT_") || k.starts_with("APP_") || k == "DATABASE_URL" {
            cmd.env_remove(&*k);
        }
    }
    cmd.current_dir(env.dir.path())
        .env("DATABASE_URL", &env.url)
        .env("APP_DATABASE_URL", &app_db)
        .env("APP_BIND", "127.0.0.1:0")
        .env("APP_USERS", USERS)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let server = Server::spawn(cmd);
    App {
        base: server.base.clone(),
        _server: server,
        app_db,
    }
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The hidden fields of a form, HTML-unescaped, in order.
fn hidden_fields(page: &Page) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for input in page.body.split("<input").skip(1) {
        let input = &input[..input.find('>').unwrap_or(input.len())];
        if !input.contains("type=\"hidden\"") {
            continue;
        }
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            let start = input.find(&marker)? + marker.len();
            let end = input[start..].find('"')? + start;
            Some(common::http_browser::unescape(&input[start..end]))
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

/// Sign in on the login page at `login`, as the page's own form would post.
async fn submit_login(b: &Browser, login: &str, user: &str, password: &str) -> Page {
    let form_page = b.get(login).await;
    assert_eq!(form_page.status, 200, "{}", form_page.body);
    let mut form = hidden_fields(&form_page);
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let path = login.split('?').next().unwrap();
    b.post(path, &pairs).await
}

async fn example_signs_in(env: Env, binary: &str, login_path: &str) {
    let (client_id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", REDIRECT, "--name", "RP"],
    );
    let app = start(&env, binary);
    let base = app.base.clone();
    let b = Browser::new(&base);

    // The app keeps its own routes and its own fallback.
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("The app's home"), "{}", home.body);
    let health = b.get("/health").await;
    assert_eq!(
        serde_json::from_str::<Value>(&health.body).unwrap()["app"],
        "ok"
    );
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("the app's own fallback"),
        "{}",
        missing.body
    );
    assert_eq!(b.get("/api/me").await.status, 401, "the API wants a token");

    // A standard relying party discovers the provider where the app mounted it.
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = format!("{base}/oauth");
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer).unwrap(), &http)
        .await
        .expect("discovery");
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_string()),
        Some(format!("{base}/oauth/token/"))
    );
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Not signed in: the provider sends the browser to the login page with `next`.
    let authorize_path = &url.as_str()[base.len()..];
    let to_login = b.get(authorize_path).await;
    assert_eq!(to_login.status, 302, "{}", to_login.body);
    let login = to_login.loc();
    assert!(login.starts_with(&format!("{login_path}?next=")), "{login}");
    let next = query_of(&format!("{base}{login}"))["next"].clone();
    assert_eq!(next, authorize_path);

    // A wrong password, or a right one of another user that does not exist, goes nowhere.
    for (user, password) in [("alice", "wrong"), ("nobody", "alice-pw")] {
        let refused = submit_login(&b, &login, user, password).await;
        assert!(refused.location().is_none(), "{user}: {}", refused.status);
    }
    let signed_in = submit_login(&b, &login, "alice", "alice-pw").await;
    assert!(
        [302, 303].contains(&signed_in.status),
        "{}: {}",
        signed_in.status,
        signed_in.body
    );
    assert_eq!(signed_in.loc(), next);

    // Signed in: the consent page, then the code.
    let consent = b.get(&next).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let mut form = consent.form_fields();
    form.push(("allow".into(), "Authorize".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let to_client = b.post("/oauth/authorize/", &pairs).await;
    assert_eq!(to_client.status, 302, "{}", to_client.body);
    let q = query_of(&to_client.loc());
    assert_eq!(&q["state"], csrf.secret());

    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("id_token");
    let claims = id_token
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("verified ID token");
    // The subject is the app's own, not a row id of the provider.
    let subject = claims.subject().as_str().to_string();
    assert!(subject.starts_with("app-"), "{subject}");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@app.example")
    );
    assert!(claims.auth_time().is_some());

    // Userinfo: the app's claims and the app's claims hook.
    let at = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let info: Value = b
        .http
        .get(format!("{base}/oauth/userinfo/"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], subject.as_str());
    assert_eq!(info["email"], "alice@app.example");
    assert_eq!(info["app"], "embedded-app");

    // The app's API takes the token and knows its user by the app's subject.
    let me = |token: String| {
        b.http
            .get(format!("{base}/api/me"))
            .bearer_auth(token)
            .send()
    };
    let r = me(at.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["subject"], subject.as_str());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(me("not-a-token".into()).await.unwrap().status(), 401);

    // Deactivated in the app's own table: the token stops working at once.
    let pool = sqlx::SqlitePool::connect(&app.app_db).await.unwrap();
    sqlx::query("UPDATE app_users SET active = 0 WHERE username = 'alice'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(me(at.clone()).await.unwrap().status(), 401);
    let intro: Value = b
        .http
        .post(format!("{base}/oauth/introspect/"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], false);
    // And the sign-in is over too: the provider sends the browser to log in again.
    let again = b.get(authorize_path).await;
    assert_eq!(again.status, 302);
    assert!(again.loc().starts_with(login_path), "{}", again.loc());
}

#[tokio::test]
async fn own_login_sqlite() {
    example_signs_in(Env::sqlite(), "embedded-app-own-login", "/login").await;
}

#[tokio::test]
async fn own_login_postgres() {
    example_signs_in(Env::postgres(), "embedded-app-own-login", "/login").await;
}

#[tokio::test]
async fn provider_login_sqlite() {
    example_signs_in(
        Env::sqlite(),
        "embedded-app-provider-login",
        "/accounts/login/",
    )
    .await;
}

#[tokio::test]
async fn provider_login_postgres() {
    example_signs_in(
        Env::postgres(),
        "embedded-app-provider-login",
        "/accounts/login/",
    )
    .await;
}

/// The app's own login page sends a browser only to a path of the app.
#[tokio::test]
async fn own_login_has_no_open_redirect() {
    let env = Env::sqlite();
    let app = start(&env, "embedded-app-own-login");
    let b = Browser::new(&app.base);
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let login = format!("/login?{}", encode(&[("next", next)]));
        let r = submit_login(&b, &login, "bob", "bob-pw").await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.loc(), "/", "{next}");
    }
    // Without the form's CSRF token the login is refused.
    let r = b
        .post(
            "/login",
            &[("username", "bob"), ("password", "bob-pw"), ("csrf", "x")],
        )
        .await;
    assert_eq!(r.status, 403);
}
