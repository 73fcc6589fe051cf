//! The fixture (a server, user `alice`, applications and tokens) and checks of the answers.

use std::sync::Arc;

use oauth_toolkit_core::models::{NewAccessToken, NewRefreshToken};
use oauth_toolkit_core::store::{NewTokenPair, Store};
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::header;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::common::*;

pub(crate) const PW: &str = "alice-pw-123";
pub(crate) const SCOPES: &str = r#"{ read = "Read", write = "Write", dolphin = "Dolphin", introspection = "Introspect tokens" }"#;
pub(crate) const ISSUER: &str = "http://localhost";

/// A server with user `alice`, the scopes above, and the issuer `http://localhost`.
pub(crate) struct Fx {
    pub(crate) env: Env,
    pub(crate) server: Server,
    pub(crate) http: reqwest::Client,
}

impl Fx {
    pub(crate) fn start(env: Env, extra: &[(&str, &str)]) -> Fx {
        env.create_user("alice", PW);
        let mut vars = vec![
            ("OAUTH_TOOLKIT_SCOPES", SCOPES),
            ("OAUTH_TOOLKIT_ISSUER", ISSUER),
        ];
        vars.extend_from_slice(extra);
        let server = Server::start(&env, &vars);
        Fx {
            env,
            server,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base, path)
    }

    pub(crate) async fn store(&self) -> Arc<dyn Store> {
        self.env.db().await.store()
    }

    /// A confidential password-grant application.
    pub(crate) fn app(&self) -> App {
        let (id, secret) = self.env.create_app("confidential", "password", &[]);
        App { id, secret }
    }

    /// Password grant through the real token endpoint (HTTP Basic).
    pub(crate) async fn password_token(&self, app: &App, scope: &str) -> Tokens {
        let r = self
            .http
            .post(self.url("/o/token/"))
            .basic_auth(&app.id, Some(&app.secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PW),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "token request failed");
        let v: Value = r.json().await.unwrap();
        Tokens {
            access: v["access_token"].as_str().unwrap().to_string(),
            refresh: v["refresh_token"].as_str().unwrap_or("").to_string(),
        }
    }

    pub(crate) async fn revoke(&self, app: &App, form: &[(&str, &str)]) -> reqwest::Response {
        let mut pairs = vec![
            ("client_id", app.id.as_str()),
            ("client_secret", app.secret.as_str()),
        ];
        pairs.extend_from_slice(form);
        self.http
            .post(self.url("/o/revoke_token/"))
            .form(&pairs)
            .send()
            .await
            .unwrap()
    }

    /// POST introspect/ with HTTP Basic.
    pub(crate) async fn introspect(&self, app: &App, token: &str) -> Value {
        let r = self
            .http
            .post(self.url("/o/introspect/"))
            .basic_auth(&app.id, Some(&app.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub(crate) async fn user_id(&self) -> i64 {
        self.store()
            .await
            .find_user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .id
    }

    pub(crate) async fn app_pk(&self, app: &App) -> i64 {
        self.store()
            .await
            .find_application_by_client_id(&app.id)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Write an access token row directly (expired ones, ones without user or application).
    pub(crate) async fn insert_access_token(
        &self,
        value: &str,
        app: Option<i64>,
        user: Option<i64>,
        scope: &str,
        expires_in: Duration,
    ) {
        let now = OffsetDateTime::now_utc();
        self.store()
            .await
            .create_access_token(
                new_access_token(value, app, user, scope, now + expires_in),
                now,
            )
            .await
            .unwrap();
    }

    /// Write an access token and its refresh token directly.
    pub(crate) async fn insert_pair(&self, access: &str, refresh: &str, app: i64, user: i64) {
        let now = OffsetDateTime::now_utc();
        let pair = NewTokenPair {
            access: new_access_token(
                access,
                Some(app),
                Some(user),
                "read",
                now + Duration::hours(1),
            ),
            refresh: Some(NewRefreshToken {
                resource: String::new(),
                user_id: user,
                token: refresh.to_string(),
                token_checksum: token_checksum(refresh),
                application_id: app,
                access_token_id: None,
                token_family: None,
            }),
        };
        self.store().await.issue_tokens(pair, now).await.unwrap();
    }
}

pub(crate) fn new_access_token(
    value: &str,
    app: Option<i64>,
    user: Option<i64>,
    scope: &str,
    expires: OffsetDateTime,
) -> NewAccessToken {
    NewAccessToken {
        resource: String::new(),
        user_id: user,
        source_refresh_token_id: None,
        token: value.to_string(),
        token_checksum: token_checksum(value),
        id_token_id: None,
        application_id: app,
        expires,
        scope: scope.to_string(),
        token_family: None,
    }
}

pub(crate) struct App {
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

pub(crate) async fn access_token_exists(store: &Arc<dyn Store>, value: &str) -> bool {
    store
        .find_access_token(&token_checksum(value))
        .await
        .unwrap()
        .is_some()
}

pub(crate) async fn refresh_token_revoked(store: &Arc<dyn Store>, value: &str) -> bool {
    store
        .find_refresh_token(&token_checksum(value))
        .await
        .unwrap()
        .expect("refresh token row")
        .revoked
        .is_some()
}

pub(crate) async fn assert_empty_200(r: reqwest::Response) {
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    assert_eq!(r.text().await.unwrap(), "");
}

pub(crate) async fn json_error(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}
