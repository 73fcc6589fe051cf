//! The library half: an axum app with its own `/`, `/health`, fallback and users nests the
//! provider under `/oauth/`, brings a `UserSource` with string subjects and a claims hook,
//! and the protocol works through it over real HTTP on both backends.

mod common;

use std::collections::HashMap;

use axum::routing::get;
use axum::Router;
use common::Env;
use oauth_toolkit_axum::Provider;
use oauth_toolkit_core::hooks::{ApplicationAccess, ClaimsHook, ClaimsTarget};
use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::store::StoreError;
use oauth_toolkit_core::users::{Account, UserSource};
use oauth_toolkit_core::{async_trait, Settings};
use serde_json::{Map, Value};

/// The application's own users: subjects are strings, passwords are the app's business.
struct AppUsers(HashMap<&'static str, (&'static str, &'static str, bool)>);

impl AppUsers {
    fn new() -> Self {
        // subject → (username, password, active)
        Self(HashMap::from([
            ("u-7f3a", ("alice", "alice-pw", true)),
            ("u-0c11", ("bob", "bob-pw", false)),
            ("u-9e9e", ("carol", "carol-pw", true)),
        ]))
    }
    fn account(&self, subject: &str) -> Option<Account> {
        let (username, _, active) = self.0.get(subject)?;
        let mut claims = Map::new();
        claims.insert("email".into(), format!("{username}@app.example").into());
        Some(Account {
            subject: subject.to_string(),
            username: username.to_string(),
            is_active: *active,
            claims,
        })
    }
}

#[async_trait]
impl UserSource for AppUsers {
    async fn find_by_subject(&self, subject: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.account(subject))
    }
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Account>, StoreError> {
        let found = self
            .0
            .iter()
            .find(|(_, (u, p, _))| *u == username && *p == password);
        Ok(found.and_then(|(s, _)| self.account(s)))
    }
}

struct Tenant;

#[async_trait]
impl ClaimsHook for Tenant {
    async fn additional_claims(
        &self,
        account: &Account,
        _: Option<&Application>,
        _: &[String],
        target: ClaimsTarget,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tenant".into(), format!("t-{}", account.username).into());
        m.insert("sub".into(), "forged".into());
        m.insert("seen_at".into(), format!("{target:?}").into());
        m
    }
}

/// Carol may not use any application.
struct NotCarol;

#[async_trait]
impl ApplicationAccess for NotCarol {
    async fn may_use(&self, account: &Account, _: &Application) -> bool {
        account.username != "carol"
    }
}

async fn mounted_with_own_users(env: Env) {
    let (client_id, secret) = env.create_app("confidential", "password", &["--name", "app"]);
    let db = env.db().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let provider = Provider::builder(Settings::default(), db.store())
        .issuer(&format!("http://{addr}/oauth"))
        .users(AppUsers::new())
        .claims(Tenant)
        .application_access(NotCarol)
        .build()
        .await
        .unwrap();
    assert_eq!(provider.mount_path(), "/oauth");
    let app: Router = Router::new()
        .route("/", get(|| async { "the app's home" }))
        .route("/health", get(|| async { "the app's health" }))
        .nest(provider.mount_path(), provider.endpoints())
        .merge(provider.well_known())
        .fallback(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "the app's fallback") });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    // The app keeps its own routes and fallback.
    assert_eq!(
        http.get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "the app's home"
    );
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "the app's health"
    );
    assert_eq!(
        http.get(format!("{base}/nothing"))
            .send()
            .await
            .unwrap()
            .status(),
        418
    );

    // Metadata names the mounted paths.
    let meta: Value = http
        .get(format!("{base}/oauth/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], format!("{base}/oauth"));
    assert_eq!(meta["token_endpoint"], format!("{base}/oauth/token/"));
    let rfc8414 = http
        .get(format!(
            "{base}/.well-known/oauth-authorization-server/oauth"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rfc8414.status(), 200);

    let password_grant = |username: &'static str, password: &'static str| {
        http.post(format!("{base}/oauth/token/"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
                ("scope", "openid email"),
            ])
            .send()
    };
    // The app's source checks the password; inactive users and wrong passwords fail alike.
    let ok = password_grant("alice", "alice-pw").await.unwrap();
    assert_eq!(ok.status(), 200);
    let tokens: Value = ok.json().await.unwrap();
    let at = tokens["access_token"].as_str().unwrap().to_string();
    for (u, p) in [("alice", "wrong"), ("bob", "bob-pw"), ("nobody", "x")] {
        let r = password_grant(u, p).await.unwrap();
        assert_eq!(r.status(), 400, "{u}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    }
    // The access hook refuses carol although her password is right.
    let r = password_grant("carol", "carol-pw").await.unwrap();
    assert_eq!(r.status(), 400);

    // Introspection and userinfo report the app's string subject, the hook's claims, and
    // never let the hook replace `sub`.
    let intro: Value = http
        .post(format!("{base}/oauth/introspect/"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro["active"], true);
    assert_eq!(intro["sub"], "u-7f3a");
    assert_eq!(intro["username"], "alice");
    let info: Value = http
        .get(format!("{base}/oauth/userinfo/"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "u-7f3a");
    assert_eq!(info["email"], "alice@app.example");
    assert_eq!(info["tenant"], "t-alice");
    assert_eq!(info["seen_at"], "Userinfo");
}

#[tokio::test]
async fn mounted_with_own_users_sqlite() {
    mounted_with_own_users(Env::sqlite()).await;
}

#[tokio::test]
async fn mounted_with_own_users_postgres() {
    mounted_with_own_users(Env::postgres()).await;
}

/// A library user cannot skip the checks of `Settings::load`: the builder refuses what the
/// loader refuses, with the library's one error type naming the key.
#[tokio::test]
async fn the_builder_validates_the_settings() {
    let env = Env::sqlite();
    let db = env.db().await;
    db.migrate().await.unwrap();
    let mut settings = Settings::default();
    settings.server.login_url = "javascript:alert(1)".into();
    match Provider::builder(settings, db.store()).build().await {
        Err(oauth_toolkit_axum::Error::Settings(e)) => assert_eq!(e.key, "login_url"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a javascript: login_url was accepted"),
    }
    let mut settings = Settings::default();
    settings.provider.access_token_expire_seconds = 0;
    let refused = Provider::builder(settings, db.store()).build().await;
    assert!(
        matches!(&refused, Err(oauth_toolkit_axum::Error::Settings(e)) if e.key == "access_token_expire_seconds"),
        "{:?}",
        refused.err().map(|e| e.to_string())
    );
    // The issuer given to the builder is the mount path and the metadata's base.
    let provider = Provider::builder(Settings::default(), db.store())
        .issuer("https://app.example/auth/oauth/")
        .build()
        .await
        .unwrap();
    assert_eq!(provider.mount_path(), "/auth/oauth");
    assert_eq!(provider.issuer(), "https://app.example/auth/oauth");
}
