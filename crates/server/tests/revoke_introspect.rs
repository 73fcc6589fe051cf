mod common;
use common::*;

// Black-box tests of revocation (RFC 7009), introspection (RFC 7662) and authorization
// server metadata (RFC 8414) against the real binary, on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use oauth_toolkit_core::models::{NewAccessToken, NewRefreshToken};
use oauth_toolkit_core::store::{NewTokenPair, Store};
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::header;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const PW: &str = "alice-pw-123";
const SCOPES: &str = r#"{ read = "Read", write = "Write", dolphin = "Dolphin", introspection = "Introspect tokens" }"#;
const ISSUER: &str = "http://localhost";

/// A server with user `alice`, the scopes above, and the issuer `http://localhost`.
struct Fx {
    env: Env,
    server: Server,
    http: reqwest::Client,
}

impl Fx {
    fn start(env: Env, extra: &[(&str, &str)]) -> Fx {
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

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base, path)
    }

    async fn store(&self) -> Arc<dyn Store> {
        self.env.db().await.store()
    }

    /// A confidential password-grant application.
    fn app(&self) -> App {
        let (id, secret) = self.env.create_app("confidential", "password", &[]);
        App { id, secret }
    }

    /// Password grant through the real token endpoint (HTTP Basic).
    async fn password_token(&self, app: &App, scope: &str) -> Tokens {
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

    async fn revoke(&self, app: &App, form: &[(&str, &str)]) -> reqwest::Response {
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
    async fn introspect(&self, app: &App, token: &str) -> Value {
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

    async fn user_id(&self) -> i64 {
        self.store()
            .await
            .find_user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .id
    }

    async fn app_pk(&self, app: &App) -> i64 {
        self.store()
            .await
            .find_application_by_client_id(&app.id)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Write an access token row directly (expired ones, ones without user or application).
    async fn insert_access_token(
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
    async fn insert_pair(&self, access: &str, refresh: &str, app: i64, user: i64) {
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

fn new_access_token(
    value: &str,
    app: Option<i64>,
    user: Option<i64>,
    scope: &str,
    expires: OffsetDateTime,
) -> NewAccessToken {
    NewAccessToken {
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

struct App {
    id: String,
    secret: String,
}

struct Tokens {
    access: String,
    refresh: String,
}

async fn access_token_exists(store: &Arc<dyn Store>, value: &str) -> bool {
    store
        .find_access_token(&token_checksum(value))
        .await
        .unwrap()
        .is_some()
}

async fn refresh_token_revoked(store: &Arc<dyn Store>, value: &str) -> bool {
    store
        .find_refresh_token(&token_checksum(value))
        .await
        .unwrap()
        .expect("refresh token row")
        .revoked
        .is_some()
}

async fn assert_empty_200(r: reqwest::Response) {
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    assert_eq!(r.text().await.unwrap(), "");
}

async fn json_error(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

// ---- Revocation ------------------------------------------------------------------

/// Revoking an access token deletes it and revokes its refresh token; the revoked
/// token then fails introspection and its refresh token fails at the token endpoint.
async fn revoke_access_token_then_inactive(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read write").await;
    assert_eq!(fx.introspect(&a, &t.access).await["active"], true);

    assert_empty_200(fx.revoke(&a, &[("token", &t.access)]).await).await;

    let store = fx.store().await;
    assert!(!access_token_exists(&store, &t.access).await);
    assert!(
        refresh_token_revoked(&store, &t.refresh).await,
        "bound RT revoked"
    );
    assert_eq!(fx.introspect(&a, &t.access).await, json!({"active": false}));
    assert_eq!(
        fx.introspect(&a, &t.refresh).await,
        json!({"active": false})
    );
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await.1["error"], "invalid_grant");
    // Revoking the (already revoked) refresh token afterwards is still a 200 (131).
    assert_empty_200(fx.revoke(&a, &[("token", &t.refresh)]).await).await;
    // So is revoking the deleted access token again, and a value nobody issued.
    assert_empty_200(fx.revoke(&a, &[("token", &t.access)]).await).await;
    assert_empty_200(fx.revoke(&a, &[("token", "never-issued")]).await).await;
}

/// A public client revokes with its `client_id` alone; with nothing it is refused.
async fn revoke_public_client_by_client_id(env: Env) {
    let fx = Fx::start(env, &[]);
    let (client_id, _) = fx.env.create_app("public", "password", &[]);
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id.as_str()),
            ("username", "alice"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("token", access.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_empty_200(r).await;
    assert!(!access_token_exists(&fx.store().await, &access).await);
}

/// Hints only order the search; an unknown hint is ignored; a wrong hint still
/// finds the token. Refresh tokens (also 500-character ones) are revoked and take their
/// access token with them.
async fn revoke_with_hints(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let store = fx.store().await;
    for hint in ["access_token", "bad_hint", "refresh_token", ""] {
        let t = fx.password_token(&a, "read").await;
        let r = fx
            .revoke(&a, &[("token", &t.access), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(!access_token_exists(&store, &t.access).await, "hint {hint}");
        assert!(
            refresh_token_revoked(&store, &t.refresh).await,
            "hint {hint}"
        );
    }
    for hint in ["refresh_token", "access_token", "nonsense"] {
        let t = fx.password_token(&a, "read").await;
        let r = fx
            .revoke(&a, &[("token", &t.refresh), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(
            refresh_token_revoked(&store, &t.refresh).await,
            "hint {hint}"
        );
        assert!(!access_token_exists(&store, &t.access).await, "hint {hint}");
    }
    // A 500-character refresh token, with the right and the wrong hint.
    let (app_pk, user) = (fx.app_pk(&a).await, fx.user_id().await);
    for (i, hint) in ["refresh_token", "access_token"].into_iter().enumerate() {
        let refresh = format!("{i}{}", "r".repeat(499));
        let access = format!("long-at-{i}");
        fx.insert_pair(&access, &refresh, app_pk, user).await;
        let r = fx
            .revoke(&a, &[("token", &refresh), ("token_type_hint", hint)])
            .await;
        assert_empty_200(r).await;
        assert!(refresh_token_revoked(&store, &refresh).await);
        assert!(!access_token_exists(&store, &access).await);
    }
}

/// A client cannot revoke another client's tokens (still 200, nothing changes).
async fn revoke_other_clients_tokens_untouched(env: Env) {
    let fx = Fx::start(env, &[]);
    let (a, b) = (fx.app(), fx.app());
    let tb = fx.password_token(&b, "read").await;
    for token in [&tb.access, &tb.refresh] {
        for hint in ["access_token", "refresh_token"] {
            let r = fx
                .revoke(&a, &[("token", token), ("token_type_hint", hint)])
                .await;
            assert_empty_200(r).await;
        }
    }
    let store = fx.store().await;
    assert!(access_token_exists(&store, &tb.access).await);
    assert!(!refresh_token_revoked(&store, &tb.refresh).await);
    assert_eq!(fx.introspect(&b, &tb.access).await["active"], true);

    // One value is B's access token and A's refresh token; A revokes it with the hint
    // access_token: A's refresh token goes, B's access token stays.
    let (a_pk, b_pk, user) = (fx.app_pk(&a).await, fx.app_pk(&b).await, fx.user_id().await);
    let shared = "shared-value-0123456789";
    fx.insert_access_token(shared, Some(b_pk), Some(user), "read", Duration::hours(1))
        .await;
    fx.insert_pair("a-access-for-shared", shared, a_pk, user)
        .await;
    let r = fx
        .revoke(
            &a,
            &[("token", shared), ("token_type_hint", "access_token")],
        )
        .await;
    assert_empty_200(r).await;
    assert!(refresh_token_revoked(&store, shared).await);
    assert!(!access_token_exists(&store, "a-access-for-shared").await);
    assert!(
        access_token_exists(&store, shared).await,
        "B's access token untouched"
    );
}

/// The HTTP rules: missing token, bad client, methods, query strings, media type,
/// the CORS preflight and CORS on the response.
async fn revoke_errors_and_http_rules(env: Env) {
    let fx = Fx::start(env, &[]);
    let origin = "https://spa.example.org";
    let (id, secret) =
        fx.env
            .create_app("confidential", "password", &["--allowed-origins", origin]);
    let a = App { id, secret };
    let t = fx.password_token(&a, "read").await;

    let (status, body) = json_error(fx.revoke(&a, &[]).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "Missing token parameter."})
    );

    let wrong = App {
        id: a.id.clone(),
        secret: "wrong".into(),
    };
    let r = fx.revoke(&wrong, &[("token", &t.access)]).await;
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some("wrong"))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    assert!(access_token_exists(&fx.store().await, &t.access).await);

    // Basic works too.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .header(header::ORIGIN, origin)
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap()),
        Some(origin),
        "registered origin may read the response"
    );
    assert_empty_200(r).await;
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .header(header::ORIGIN, "https://evil.example.net")
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert!(!r
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_empty_200(r).await;

    // Other methods: 405 with Allow.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = fx
            .http
            .request(method.clone(), fx.url("/o/revoke_token/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
        let allow = r.headers().get(header::ALLOW).unwrap().to_str().unwrap();
        assert!(allow.contains("POST"), "{allow}");
    }
    // Query strings are refused; parameters belong in the form body.
    let r = fx
        .http
        .post(fx.url(&format!("/o/revoke_token/?token={}", t.access)))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // JSON is not a form.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .json(&json!({"token": t.access}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(access_token_exists(&fx.store().await, &t.access).await);

    // CORS preflight (the token endpoint's).
    let r = fx
        .http
        .request(reqwest::Method::OPTIONS, fx.url("/o/revoke_token/"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let h = r.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
    assert!(h[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .contains("POST"));
}

/// Hostile input never makes a 5xx: NUL bytes, duplicates, bad escapes, huge values.
async fn revoke_hostile_input(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let post_raw = |body: String| {
        fx.http
            .post(fx.url("/o/revoke_token/"))
            .basic_auth(&a.id, Some(&a.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Duplicate token: RFC 6749 §3.2, parameters must not repeat.
    let r = post_raw(format!("token={}&token=other", t.access))
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Duplicate token parameter.");
    let r = post_raw(format!(
        "token={}&token_type_hint=a&token_type_hint=b",
        t.access
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(access_token_exists(&fx.store().await, &t.access).await);
    // NUL bytes, bad escapes, a huge value: unknown tokens, 200.
    for body in [
        "token=%00".to_string(),
        format!("token={}%00", t.access),
        "token=%zz%ff%fe".to_string(),
        format!("token={}", "x".repeat(60_000)),
        "token=%F0%9F%92%A9".to_string(),
    ] {
        let r = post_raw(body).await.unwrap();
        assert_empty_200(r).await;
    }
    assert!(access_token_exists(&fx.store().await, &t.access).await);
    // NUL in the client id: an unknown client.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[
            ("client_id", "abc\0def"),
            ("client_secret", "x"),
            ("token", "t"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Beyond the body limit: 413, not a crash.
    let r = post_raw(format!("token={}", "x".repeat(200_000)))
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

// ---- Introspection --------------------------------------------------------------

/// Who may introspect. A failed authentication is 401 with the challenge of the
/// scheme tried (RFC 7662 §2.3; DOT: an empty 403); a valid token without the scope is 403.
async fn introspect_caller_authentication(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let rs = fx.password_token(&a, "introspection").await;
    let no_scope = fx.password_token(&a, "read write").await;
    let (public_id, _) = fx.env.create_app("public", "password", &[]);
    let expired_rs = "expired-resource-server-token";
    fx.insert_access_token(
        expired_rs,
        Some(fx.app_pk(&a).await),
        None,
        "introspection",
        -Duration::seconds(5),
    )
    .await;

    let url = fx.url("/o/introspect/");
    let denied = [
        fx.http.post(&url).form(&[("token", &t.access)]),
        fx.http.get(format!("{url}?token={}", t.access)),
        fx.http
            .post(&url)
            .basic_auth(&a.id, Some("wrong"))
            .form(&[("token", &t.access)]),
        fx.http.post(&url).form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", "wrong"),
            ("token", &t.access),
        ]),
        // A public client has no secret to prove itself with.
        fx.http
            .post(&url)
            .form(&[("client_id", public_id.as_str()), ("token", &t.access)]),
        // Credentials in a URL are not client authentication (RFC 6749 §2.3.1).
        fx.http.get(format!(
            "{url}?token={}&client_id={}&client_secret={}",
            t.access, a.id, a.secret
        )),
        fx.http
            .post(&url)
            .bearer_auth(expired_rs)
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .bearer_auth("not-a-real-token")
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .header(header::AUTHORIZATION, "Bearer")
            .form(&[("token", &t.access)]),
        fx.http
            .post(&url)
            .header(header::AUTHORIZATION, "Basic !!!")
            .form(&[("token", &t.access)]),
    ];
    // Client credentials tried (or none at all): invalid_client; a bearer token: invalid_token.
    let expected = [
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_client",
        "invalid_token",
        "invalid_token",
        "invalid_client",
        "invalid_client",
    ];
    for (i, (req, error)) in denied.into_iter().zip(expected).enumerate() {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "case {i}");
        let challenge = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_string();
        let scheme = if error == "invalid_token" {
            "Bearer"
        } else {
            "Basic"
        };
        assert!(challenge.starts_with(scheme), "case {i}: {challenge}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], error, "case {i}");
    }
    // Authenticated, but without the `introspection` scope: 403.
    let r = fx
        .http
        .post(&url)
        .bearer_auth(&no_scope.access)
        .form(&[("token", &t.access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );

    // Accepted: Basic, body credentials (POST), and a Bearer token with `introspection`.
    let ok = [
        fx.http
            .post(&url)
            .basic_auth(&a.id, Some(&a.secret))
            .form(&[("token", &t.access)]),
        fx.http
            .get(format!("{url}?token={}", t.access))
            .basic_auth(&a.id, Some(&a.secret)),
        fx.http.post(&url).form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", &a.secret),
            ("token", &t.access),
        ]),
        fx.http
            .get(format!("{url}?token={}", t.access))
            .bearer_auth(&rs.access),
        fx.http
            .post(&url)
            .bearer_auth(&rs.access)
            .form(&[("token", &t.access)]),
    ];
    for (i, req) in ok.into_iter().enumerate() {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "case {i}");
        assert_eq!(r.json::<Value>().await.unwrap()["active"], true, "case {i}");
    }
}

/// The members DOT leaves out (token_type, iat, sub, iss).
async fn introspect_active_access_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read write dolphin").await;
    let rs = fx.password_token(&a, "introspection").await;
    let store = fx.store().await;
    let row = store
        .find_access_token(&token_checksum(&t.access))
        .await
        .unwrap()
        .unwrap();
    let user = fx.user_id().await;

    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={}", t.access)))
        .bearer_auth(&rs.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let expected = json!({
        "active": true,
        "scope": "read write dolphin",
        "client_id": a.id,
        "username": "alice",
        "token_type": "Bearer",
        "exp": row.expires.unix_timestamp(),
        "iat": row.created.unix_timestamp(),
        "sub": user.to_string(),
        "iss": "http://localhost/o",
    });
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // The same through POST with Basic and with body credentials (140), and with the
    // (wrong) refresh_token hint.
    assert_eq!(fx.introspect(&a, &t.access).await, expected);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .form(&[
            ("client_id", a.id.as_str()),
            ("client_secret", &a.secret),
            ("token", &t.access),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // Another client may introspect A's access token (DOT: no ownership check).
    let b = fx.app();
    assert_eq!(fx.introspect(&b, &t.access).await, expected);

    // A client_credentials token has no user: no username, no sub.
    let (cc_id, cc_secret) = fx.env.create_app("confidential", "client-credentials", &[]);
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .basic_auth(&cc_id, Some(&cc_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    let cc: Value = r.json().await.unwrap();
    let v = fx
        .introspect(&a, cc["access_token"].as_str().unwrap())
        .await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], cc_id.as_str());
    assert!(v.get("username").is_none() && v.get("sub").is_none(), "{v}");
    // A token without an application: no client_id.
    fx.insert_access_token("no-app-token", None, Some(user), "read", Duration::hours(1))
        .await;
    let v = fx.introspect(&a, "no-app-token").await;
    assert_eq!(v["active"], true);
    assert_eq!(v["username"], "alice");
    assert!(v.get("client_id").is_none(), "{v}");
}

/// Expired and unknown tokens are `{"active": false}` and nothing else; a missing
/// token is a 400.
async fn introspect_inactive_and_missing(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let rs = fx.password_token(&a, "introspection").await;
    let (app_pk, user) = (fx.app_pk(&a).await, fx.user_id().await);
    fx.insert_access_token(
        "expired-token",
        Some(app_pk),
        Some(user),
        "read",
        -Duration::seconds(1),
    )
    .await;
    for token in ["expired-token", "no-such-token"] {
        let r = fx
            .http
            .get(fx.url(&format!("/o/introspect/?token={token}")))
            .bearer_auth(&rs.access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
        assert_eq!(fx.introspect(&a, token).await, json!({"active": false}));
    }
    let missing =
        json!({"error": "invalid_request", "error_description": "Token parameter is missing."});
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .bearer_auth(&rs.access)
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await, (400, missing.clone()));
    let r = fx
        .http
        .get(fx.url("/o/introspect/?token="))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(r).await, (400, missing));
    // Other methods: 405.
    let r = fx
        .http
        .delete(fx.url("/o/introspect/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

/// A token that expires by the configured lifetime turns inactive (no store tricks).
async fn introspect_expired_by_lifetime(env: Env) {
    let fx = Fx::start(env, &[("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "1")]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    assert_eq!(fx.introspect(&a, &t.access).await["active"], true);
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    assert_eq!(fx.introspect(&a, &t.access).await, json!({"active": false}));
}

/// Refresh tokens: described to their own client (no token_type), inactive for everyone
/// else and once revoked or rotated.
async fn introspect_refresh_tokens(env: Env) {
    let fx = Fx::start(
        env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "3600")],
    );
    let (a, b) = (fx.app(), fx.app());
    let t = fx.password_token(&a, "read write").await;
    let rs = fx.password_token(&b, "introspection").await;
    let store = fx.store().await;
    let rt = store
        .find_refresh_token(&token_checksum(&t.refresh))
        .await
        .unwrap()
        .unwrap();
    let at = store
        .find_access_token(&token_checksum(&t.access))
        .await
        .unwrap()
        .unwrap();
    let user = fx.user_id().await;
    let expected = json!({
        "active": true,
        "scope": "read write",
        "client_id": a.id,
        "username": "alice",
        "exp": at.expires.unix_timestamp() + 3600,
        "iat": rt.created.unix_timestamp(),
        "sub": user.to_string(),
        "iss": "http://localhost/o",
    });
    assert_eq!(fx.introspect(&a, &t.refresh).await, expected);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("token", t.refresh.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // Not A: inactive.
    assert_eq!(
        fx.introspect(&b, &t.refresh).await,
        json!({"active": false})
    );
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .bearer_auth(&rs.access)
        .form(&[("token", t.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    // Rotated: the old one is inactive, the new one active.
    let r = fx
        .http
        .post(fx.url("/o/token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .send()
        .await
        .unwrap();
    let new: Value = r.json().await.unwrap();
    let new_refresh = new["refresh_token"].as_str().unwrap();
    assert_eq!(
        fx.introspect(&a, &t.refresh).await,
        json!({"active": false})
    );
    assert_eq!(fx.introspect(&a, new_refresh).await["active"], true);
    // Revoked: inactive.
    assert_empty_200(fx.revoke(&a, &[("token", new_refresh)]).await).await;
    assert_eq!(
        fx.introspect(&a, new_refresh).await,
        json!({"active": false})
    );
}

/// Hostile input at introspection: never a 5xx.
async fn introspect_hostile_input(env: Env) {
    let fx = Fx::start(env, &[]);
    let a = fx.app();
    let t = fx.password_token(&a, "read").await;
    let post_raw = |body: String| {
        fx.http
            .post(fx.url("/o/introspect/"))
            .basic_auth(&a.id, Some(&a.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post_raw(format!("token={}&token=x", t.access))
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={0}&token={0}", t.access)))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for body in [
        "token=%00".to_string(),
        format!("token={}%00", t.access),
        "token=%zz%ff".to_string(),
        format!("token={}", "x".repeat(60_000)),
        format!("token={}&token_type_hint=%00garbage", t.access),
    ] {
        let r = post_raw(body.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let expect_active = body.contains("garbage");
        assert_eq!(
            v["active"],
            expect_active,
            "{}",
            &body[..body.len().min(40)]
        );
    }
    let r = fx
        .http
        .get(fx.url(&format!("/o/introspect/?token={}", "y".repeat(8_000))))
        .basic_auth(&a.id, Some(&a.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    // NUL in the Basic client id and in a bearer token: refused, not a crash.
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth("abc\0def", Some("x"))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .form(&[
            ("client_id", "abc\0"),
            ("client_secret", "x"),
            ("token", t.access.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A POST query string or a non-form body is refused like at the token endpoint.
    let r = fx
        .http
        .post(fx.url("/o/introspect/?token=x"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", t.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = fx
        .http
        .post(fx.url("/o/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .json(&json!({"token": t.access}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

// ---- Metadata -------------------------------------------------------------------

fn expected_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize/"),
        "token_endpoint": format!("{issuer}/token/"),
        "device_authorization_endpoint": format!("{issuer}/device-authorization/"),
        // OpenID Connect is on (the default): its members are listed as in discovery.
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "userinfo_endpoint": format!("{issuer}/userinfo/"),
        "scopes_supported": ["dolphin", "introspection", "read", "write"],
        "response_types_supported": [
            "code", "token", "id_token", "id_token token", "code token", "code id_token",
            "code id_token token"
        ],
        "grant_types_supported": [
            "authorization_code", "implicit", "password", "client_credentials", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "revocation_endpoint": format!("{issuer}/revoke_token/"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "introspection_endpoint": format!("{issuer}/introspect/"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["plain", "S256"],
        // RFC 9207 `iss` in authorization responses is on by default (DOT: off).
        "authorization_response_iss_parameter_supported": true,
    })
}

async fn get_metadata(fx: &Fx, path: &str) -> Value {
    let r = fx.http.get(fx.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let h = r.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=3600");
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    r.json().await.unwrap()
}

/// RFC 8414 §3.1: the same document under the prefix and at the root location.
async fn metadata_default_locations(env: Env) {
    let fx = Fx::start(env, &[]);
    let expected = expected_metadata("http://localhost/o");
    assert_eq!(
        get_metadata(&fx, "/o/.well-known/oauth-authorization-server").await,
        expected
    );
    assert_eq!(
        get_metadata(&fx, "/.well-known/oauth-authorization-server/o").await,
        expected
    );
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/other",
    ] {
        let r = fx.http.get(fx.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = fx
        .http
        .post(fx.url("/o/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // The advertised endpoints answer where advertised.
    let r = fx
        .http
        .post(fx.url("/o/revoke_token/"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = fx.http.get(fx.url("/o/introspect/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// A custom prefix and issuer; endpoints move with the prefix; introspection reports the
/// metadata's issuer.
async fn metadata_custom_prefix_and_issuer(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_URL_PREFIX", "/oauth"),
            ("OAUTH_TOOLKIT_ISSUER", "https://auth.example.com"),
        ],
    );
    let expected = expected_metadata("https://auth.example.com/oauth");
    assert_eq!(
        get_metadata(&fx, "/oauth/.well-known/oauth-authorization-server").await,
        expected
    );
    assert_eq!(
        get_metadata(&fx, "/.well-known/oauth-authorization-server/oauth").await,
        expected
    );
    for path in [
        "/o/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/o",
    ] {
        assert_eq!(
            fx.http.get(fx.url(path)).send().await.unwrap().status(),
            404
        );
    }
    // Endpoints moved with the prefix; introspection's `iss` is the metadata's issuer.
    let a = fx.app();
    let r = fx
        .http
        .post(fx.url("/oauth/token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = fx
        .http
        .post(fx.url("/oauth/introspect/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["iss"],
        "https://auth.example.com/oauth"
    );
    let r = fx
        .http
        .post(fx.url("/oauth/revoke_token/"))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_empty_200(r).await;
}

/// Empty prefix: the one well-known location is at the root; the compliance gates and
/// `oidc_iss_endpoint` change the document.
async fn metadata_empty_prefix_and_gates(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_URL_PREFIX", ""),
            (
                "OAUTH_TOOLKIT_OIDC_ISS_ENDPOINT",
                "https://id.example.com/tenant/",
            ),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT", "true"),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_PASSWORD_GRANT", "true"),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_PKCE_METHOD", "true"),
            (
                "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
                "true",
            ),
        ],
    );
    let doc = get_metadata(&fx, "/.well-known/oauth-authorization-server").await;
    assert_eq!(doc["issuer"], "https://id.example.com/tenant");
    assert_eq!(
        doc["token_endpoint"],
        "https://id.example.com/tenant/token/"
    );
    // Without the implicit ones (OIDC on: its hybrid types stay, as in discovery).
    assert_eq!(
        doc["response_types_supported"],
        json!(["code", "code token", "code id_token", "code id_token token"])
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let r = fx.http.get(fx.url("/introspect/")).send().await.unwrap();
    assert_eq!(r.status(), 401, "endpoints at the root");
}

backends!(
    revoke_access_token_then_inactive,
    revoke_public_client_by_client_id,
    revoke_with_hints,
    revoke_other_clients_tokens_untouched,
    revoke_errors_and_http_rules,
    revoke_hostile_input,
    introspect_caller_authentication,
    introspect_active_access_token,
    introspect_inactive_and_missing,
    introspect_expired_by_lifetime,
    introspect_refresh_tokens,
    introspect_hostile_input,
    metadata_default_locations,
    metadata_custom_prefix_and_issuer,
    metadata_empty_prefix_and_gates,
);
