//! The token endpoint over real HTTP against the real binary, on SQLite and PostgreSQL:
//! every grant, client authentication, DOT's refresh rules, code replay, CORS, and refresh races across two server processes.
//! Happy paths go through the `oauth2` crate, a real OAuth 2.0 client library.

mod common;

use std::collections::HashSet;

use base64::Engine;
use common::*;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, RedirectUrl,
    RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use oauth_toolkit_core::models::{CodeChallengeMethod, NewGrant};
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

backends!(
    client_credentials_with_the_oauth2_crate,
    password_and_refresh_with_the_oauth2_crate,
    authorization_code_with_pkce_with_the_oauth2_crate,
    client_authentication_failures,
    cached_client_authentication_is_bounded,
    malformed_requests_get_rfc_errors,
    code_exchange_rules,
    replayed_code_revokes_its_tokens,
    refresh_rules,
    refresh_grace_period_returns_the_same_tokens,
    refresh_reuse_protection_revokes_the_family,
    refresh_without_rotation,
    refresh_idle_expiry,
    cors_on_the_token_endpoint,
    concurrent_refreshes_across_two_processes_no_grace,
    concurrent_refreshes_across_two_processes_with_grace,
    concurrent_code_exchanges_across_two_processes,
);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POST a form to the token endpoint; returns (status, headers, json body).
async fn token_post(
    server: &Server,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http().post(format!("{}/o/token/", server.base)).form(form);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn oauth2_client(
    server: &Server,
    id: &str,
    secret: Option<&str>,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    let mut c = BasicClient::new(ClientId::new(id.to_string()))
        .set_auth_uri(AuthUrl::new(format!("{}/o/authorize/", server.base)).unwrap())
        .set_token_uri(TokenUrl::new(format!("{}/o/token/", server.base)).unwrap());
    if let Some(s) = secret {
        c = c.set_client_secret(ClientSecret::new(s.to_string()));
    }
    c
}

async fn user_id(env: &Env, name: &str) -> i64 {
    env.db()
        .await
        .store()
        .find_user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn app_id(env: &Env, client_id: &str) -> i64 {
    env.db()
        .await
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A password-grant app and a user; returns (client_id, secret).
fn password_setup(env: &Env) -> (String, String) {
    env.create_user("alice", "wonderland");
    env.create_app("confidential", "password", &[])
}

async fn password_tokens(server: &Server, id: &str, secret: &str) -> Value {
    let (status, _, body) = token_post(
        server,
        Some(&basic(id, secret)),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn client_credentials_with_the_oauth2_crate(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let client = oauth2_client(&server, &id, Some(&secret));
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(token.token_type(), &oauth2::basic::BasicTokenType::Bearer);
    assert_eq!(
        token.expires_in(),
        Some(std::time::Duration::from_secs(36000))
    );
    assert_eq!(token.scopes().unwrap(), &vec![Scope::new("read".into())]);
    assert!(
        token.refresh_token().is_none(),
        "client_credentials has no refresh token"
    );
    let stored = env
        .db()
        .await
        .store()
        .find_access_token(&token_checksum(token.access_token().secret()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, None);
    assert_eq!(stored.scope, "read");

    // Response headers (RFC 6749 §5.1).
    let (status, headers, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    // No scope asked: the default scopes (all configured ones).
    let granted: HashSet<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        granted.contains("read") && granted.contains("write"),
        "{body}"
    );
}

async fn password_and_refresh_with_the_oauth2_crate(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(&env, &[]);
    let client = oauth2_client(&server, &id, Some(&secret));
    let first = client
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new("wonderland".into()),
        )
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .request_async(&http())
        .await
        .unwrap();
    let rt1 = first.refresh_token().unwrap().secret().clone();
    let second = client
        .exchange_refresh_token(&RefreshToken::new(rt1.clone()))
        .request_async(&http())
        .await
        .unwrap();
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    let rt2 = second.refresh_token().unwrap().secret().clone();
    assert_ne!(rt2, rt1, "rotated");
    let store = env.db().await.store();
    let old = store
        .find_refresh_token(&token_checksum(&rt1))
        .await
        .unwrap()
        .unwrap();
    assert!(old.is_revoked());
    assert!(
        store
            .find_access_token(&token_checksum(first.access_token().secret()))
            .await
            .unwrap()
            .is_none(),
        "the old access token is deleted"
    );
    let new = store
        .find_refresh_token(&token_checksum(&rt2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        new.token_family, old.token_family,
        "one family across rotation"
    );

    // Wrong password: invalid_grant "Invalid credentials given."
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "nope"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(body["error_description"], "Invalid credentials given.");
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[("grant_type", "password"), ("username", "alice")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(
        body["error_description"],
        "Request is missing password parameter."
    );
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "al\0ice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

/// A grant row as the authorization endpoint makes it (the endpoint itself is tested in
/// authorize.rs); returns the plaintext code.
#[allow(clippy::too_many_arguments)]
async fn make_code(
    env: &Env,
    client_id: &str,
    user: &str,
    redirect_uri: &str,
    challenge: &str,
    method: Option<CodeChallengeMethod>,
    expires_in: i64,
) -> String {
    let code = oauth_toolkit_core::generators::generate_token();
    let store = env.db().await.store();
    store
        .create_grant(
            NewGrant {
                user_id: user_id(env, user).await,
                code: code.clone(),
                application_id: app_id(env, client_id).await,
                expires: OffsetDateTime::now_utc() + Duration::seconds(expires_in),
                redirect_uri: redirect_uri.into(),
                scope: "read write".into(),
                code_challenge: challenge.into(),
                code_challenge_method: method,
                nonce: String::new(),
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

async fn authorization_code_with_pkce_with_the_oauth2_crate(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://127.0.0.1:8765/callback";
    let (id, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", redirect],
    );
    let server = Server::start(&env, &[]);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = make_code(
        &env,
        &id,
        "alice",
        redirect,
        challenge.as_str(),
        Some(CodeChallengeMethod::S256),
        60,
    )
    .await;
    let client = oauth2_client(&server, &id, None)
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    assert!(token.refresh_token().is_some());
    assert_eq!(token.scopes().unwrap().len(), 2);
}

async fn client_authentication_failures(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let (public_id, public_secret) = env.create_app("public", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let cc = [("grant_type", "client_credentials")];
    // Wrong secret, unknown client, wrong scheme, no credentials: 401 invalid_client with a
    // challenge.
    for auth in [
        Some(basic(&id, "BOOM!")),
        Some(basic("no-such-client", &secret)),
        Some(format!(
            "Wrong {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )),
        Some("Basic !!!notbase64".to_string()),
        None,
    ] {
        let (status, headers, body) = token_post(&server, auth.as_deref(), &cc).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }
    // `client=` is not `client_id=`.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 401);
    // Body credentials work.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200);
    // client_credentials needs the secret even from a public client.
    let (status, _, _) = token_post(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public_id),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = token_post(&server, Some(&basic(&public_id, &public_secret)), &cc).await;
    assert_eq!(status, 200);
    // Two authentication methods at once (RFC 6749 §2.3).
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // A grant the application may not use.
    let (status, _, body) = token_post(
        &server,
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

/// `client_authentication_cache_seconds`: a success is remembered only for the exact
/// secret, and a deleted application stops working once the TTL has passed — never a 500 in
/// between (the cached client's token INSERT then finds no application row).
async fn cached_client_authentication_is_bounded(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "1")],
    );
    let cc = [("grant_type", "client_credentials")];
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert_eq!(status, 200, "{body}");
    // A remembered success does not open the door to another secret.
    let wrong = format!("{secret}x");
    let (status, _, body) = token_post(&server, Some(&basic(&id, &wrong)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Delete the application behind the server's back.
    let app = app_id(&env, &id).await;
    assert!(env
        .db()
        .await
        .store()
        .delete_application(app)
        .await
        .unwrap());
    // Within the TTL the answer is a success or a clean 4xx, never a server error.
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert!(
        status == 200 || status == 400 || status == 401,
        "{status}: {body}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (status, _, body) = token_post(&server, Some(&basic(&id, &secret)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

async fn malformed_requests_get_rfc_errors(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let (status, _, body) = token_post(&server, Some(&auth), &[("grant_type", "UNKNOWN")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = token_post(&server, Some(&auth), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = token_post(
        &server,
        Some(&auth),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error_description"], "Duplicate grant_type parameter.");
    let (status, _, body) = token_post(
        &server,
        Some(&auth),
        &[("grant_type", "client_credentials"), ("scope", "read nuke")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // Query parameters on the POST.
    let resp = http()
        .post(format!("{}/o/token/?foo=bar", server.base))
        .header("Authorization", &auth)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error_description"],
        "URL query parameters are not allowed"
    );
    // GET is not allowed.
    let resp = http()
        .get(format!("{}/o/token/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    // A JSON body is not a form (RFC 6749 §3.2): 415 naming the expected type.
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let body = resp.json::<Value>().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("application/x-www-form-urlencoded"));
    // A charset parameter is fine.
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Authorization", &auth)
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn code_exchange_rules(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://example.org?foo=bar";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &[
            "--redirect-uris",
            "http://example.org?foo=bar http://localhost",
        ],
    );
    let (other_id, other_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", "http://localhost"],
    );
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let s256 = Some(CodeChallengeMethod::S256);
    let exchange = |code: String, redirect: &'static str, verifier: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("redirect_uri", redirect.to_string()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_string()));
        }
        form
    };
    async fn post(server: &Server, auth: &str, form: Vec<(&str, String)>) -> (u16, Value) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, _, b) = token_post(server, Some(auth), &form).await;
        (s, b)
    }

    // Unknown code.
    let (s, b) = post(
        &server,
        &auth,
        exchange("BLAH".into(), redirect, Some(verifier)),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Expired.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, -1).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Another client's code.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &basic(&other_id, &other_secret),
        exchange(code, "http://localhost", Some(verifier)),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Redirect URI must match the one used, exactly.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &auth,
        exchange(code, "http://example.org?foo=baraa", Some(verifier)),
    )
    .await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Mismatching redirect URI."))
    );
    assert!(
        !b.to_string().contains("localhost"),
        "registered URIs are not disclosed"
    );
    // PKCE: missing verifier, wrong verifier, malformed verifier.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, None)).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Code verifier required."))
    );
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some("invalid"))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(
        &server,
        &auth,
        exchange(
            code,
            redirect,
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "one character off"
    );
    // Plain PKCE works.
    let code = make_code(
        &env,
        &id,
        "alice",
        redirect,
        verifier,
        Some(CodeChallengeMethod::Plain),
        60,
    )
    .await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!(s, 200, "{b}");
    // A code without a challenge while PKCE is required: "Code verifier required.".
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, None)).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Code verifier required."))
    );
    // The happy path: body has everything DOT's does.
    let code = make_code(&env, &id, "alice", redirect, challenge, s256, 60).await;
    let (s, b) = post(&server, &auth, exchange(code, redirect, Some(verifier))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["scope"], "read write");
    assert_eq!(b["expires_in"], 36000);
    assert!(b["access_token"].is_string() && b["refresh_token"].is_string());
}

async fn replayed_code_revokes_its_tokens(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://localhost/cb";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", redirect],
    );
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let auth = basic(&id, &secret);
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
    ];
    let (s, _, first) = token_post(&server, Some(&auth), &form).await;
    assert_eq!(s, 200);
    let (s, _, second) = token_post(&server, Some(&auth), &form).await;
    assert_eq!((s, second["error"].as_str()), (400, Some("invalid_grant")));
    // RFC 6749 §4.1.2: the tokens issued from the replayed code are revoked.
    let store = env.db().await.store();
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"].as_str().unwrap();
    assert!(store
        .find_access_token(&token_checksum(at))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&token_checksum(rt))
        .await
        .unwrap()
        .unwrap()
        .is_revoked());
    let (s, _, b) = token_post(
        &server,
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
}

async fn refresh(server: &Server, auth: &str, rt: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (s, _, b) = token_post(server, Some(auth), &form).await;
    (s, b)
}

async fn refresh_rules(env: Env) {
    let (id, secret) = password_setup(&env);
    let (other_id, other_secret) = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    // A wider scope is refused; another client cannot use the token.
    let (s, b) = refresh(&server, &auth, &rt1, Some("read write nuke")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    let (s, b) = refresh(&server, &basic(&other_id, &other_secret), &rt1, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // A narrower one is granted and becomes the new ceiling.
    let (s, b) = refresh(&server, &auth, &rt1, Some("read")).await;
    assert_eq!((s, b["scope"].as_str()), (200, Some("read")), "{b}");
    let rt2 = b["refresh_token"].as_str().unwrap().to_string();
    let (s, b) = refresh(&server, &auth, &rt2, Some("read write")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    // The old one is spent.
    let (s, b) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Unrelated second login does not invalidate the first chain.
    let _other = password_tokens(&server, &id, &secret).await;
    let (s, b) = refresh(&server, &auth, &rt2, None).await;
    assert_eq!(s, 200, "{b}");
    // Deleting the bound access token orphans the refresh token.
    let rt3 = b["refresh_token"].as_str().unwrap().to_string();
    let store = env.db().await.store();
    let at3 = store
        .find_access_token(&token_checksum(b["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    store.delete_access_token(at3.id).await.unwrap();
    let (s, _) = refresh(&server, &auth, &rt3, None).await;
    assert_eq!(s, 400);
    let (s, b) = refresh(&server, &auth, "", None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
}

async fn refresh_grace_period_returns_the_same_tokens(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "120")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200);
    let (s, b) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(a["access_token"], b["access_token"]);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert!(b["expires_in"].as_i64().unwrap() <= 36000);
    // After the window, the replay is refused: move the revocation into the past.
    let store = env.db().await.store();
    let rt = store
        .find_refresh_token(&token_checksum(&rt1))
        .await
        .unwrap()
        .unwrap();
    shift_revoked(&env, rt.id, -600).await;
    let (s, _) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 400);
    // A token revoked through revocation (not rotation) is never honoured in the window.
    let rt2 = a["refresh_token"].as_str().unwrap();
    let rt2_row = store
        .find_refresh_token(&token_checksum(rt2))
        .await
        .unwrap()
        .unwrap();
    store
        .revoke_refresh_token(rt2_row.id, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (s, _) = refresh(&server, &auth, rt2, None).await;
    assert_eq!(s, 400);
}

/// Move a refresh token's `revoked` time by `seconds` (raw SQL: the store has no such method).
async fn shift_revoked(env: &Env, id: i64, seconds: i64) {
    use sqlx::Connection;
    let sql = "UPDATE oauth2_provider_refreshtoken SET revoked = revoked + $2 WHERE id = $1";
    let micros = seconds * 1_000_000;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

async fn refresh_reuse_protection_revokes_the_family(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_REUSE_PROTECTION", "true")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200);
    let rt2 = a["refresh_token"].as_str().unwrap().to_string();
    // Replaying RT1 is refused and burns the family.
    let (s, _) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 400);
    let (s, _) = refresh(&server, &auth, &rt2, None).await;
    assert_eq!(s, 400, "the successor is revoked too");
    let store = env.db().await.store();
    assert!(store
        .find_access_token(&token_checksum(a["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .is_none());
}

async fn refresh_without_rotation(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN", "false")]);
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt, None).await;
    assert_eq!((s, a["refresh_token"].as_str()), (200, Some(rt.as_str())));
    let (s, b) = refresh(&server, &auth, &rt, None).await;
    assert_eq!(
        (s, b["refresh_token"].as_str()),
        (200, Some(rt.as_str())),
        "#97"
    );
    // The access token was replaced in place: older values stop working at once.
    let store = env.db().await.store();
    for old in [&first, &a] {
        assert!(store
            .find_access_token(&token_checksum(old["access_token"].as_str().unwrap()))
            .await
            .unwrap()
            .is_none());
    }
    assert!(store
        .find_access_token(&token_checksum(b["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .is_some());
}

async fn refresh_idle_expiry(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "100")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap();
    // Make the access token expire 101 s ago: the refresh token is past its idle lifetime.
    let store = env.db().await.store();
    let at = store
        .find_access_token(&token_checksum(first["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let past = OffsetDateTime::now_utc() - Duration::seconds(101);
    store
        .replace_access_token(at.id, &at.token, &at.token_checksum, past, &at.scope, past)
        .await
        .unwrap();
    let (s, b) = refresh(&server, &auth, rt, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Within the lifetime it works.
    let second = password_tokens(&server, &id, &secret).await;
    let at = store
        .find_access_token(&token_checksum(second["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let recent = OffsetDateTime::now_utc() - Duration::seconds(50);
    store
        .replace_access_token(
            at.id,
            &at.token,
            &at.token_checksum,
            recent,
            &at.scope,
            recent,
        )
        .await
        .unwrap();
    let (s, b) = refresh(
        &server,
        &auth,
        second["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

async fn cors_on_the_token_endpoint(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "https://example.org";
    let (id, _) = env.create_app(
        "public",
        "authorization-code",
        &[
            "--redirect-uris",
            redirect,
            "--allowed-origins",
            "https://example.org",
        ],
    );
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let exchange = |code: String, origin: Option<&'static str>| {
        let mut req = http().post(format!("{}/o/token/", server.base)).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", id.as_str()),
        ]);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    // Allowed origin, then the refresh with the same origin.
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let resp = exchange(code, Some("https://example.org")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    let body: Value = resp.json().await.unwrap();
    let resp = http()
        .post(format!("{}/o/token/", server.base))
        .header("Origin", "https://example.org")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    // Other origins and none get no header.
    for origin in [
        Some("http://example.org"),
        Some("https://another_example.org"),
        None,
    ] {
        let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
        let resp = exchange(code, origin).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
    }
    // A preflight is answered (DOT has none).
    let resp = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/o/token/", server.base),
        )
        .header("Origin", "https://example.org")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    assert!(resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

/// N parallel refreshes of one refresh token, spread over two `serve` processes sharing the
/// database. Without a grace period: exactly one succeeds, the rest get `invalid_grant`, no
/// 5xx, and exactly one live successor exists.
async fn concurrent_refreshes_across_two_processes_no_grace(env: Env) {
    let (id, secret) = password_setup(&env);
    let a = Server::start(&env, &[]);
    let b = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    for _round in 0..3 {
        let first = password_tokens(&a, &id, &secret).await;
        let rt = first["refresh_token"].as_str().unwrap().to_string();
        let results = race_refreshes(&a, &b, &auth, &rt, 16).await;
        let ok: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert!(
            results.iter().all(|(s, _)| *s == 200 || *s == 400),
            "{results:?}"
        );
        assert_eq!(ok.len(), 1, "exactly one winner: {results:?}");
        for (s, body) in &results {
            if *s == 400 {
                assert_eq!(body["error"], "invalid_grant");
            }
        }
        let store = env.db().await.store();
        let family = store
            .find_refresh_token(&token_checksum(&rt))
            .await
            .unwrap()
            .unwrap()
            .token_family;
        let winner = store
            .find_refresh_token(&token_checksum(ok[0]["refresh_token"].as_str().unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(winner.token_family, family);
        assert!(
            !winner.is_revoked(),
            "without reuse protection the winner survives"
        );
    }
}

/// With a grace period covering the race (and reuse protection on), every request gets the
/// same new tokens and the family is not revoked.
async fn concurrent_refreshes_across_two_processes_with_grace(env: Env) {
    let (id, secret) = password_setup(&env);
    let settings = [
        ("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "60"),
        ("OAUTH_TOOLKIT_REFRESH_TOKEN_REUSE_PROTECTION", "true"),
    ];
    let a = Server::start(&env, &settings);
    let b = Server::start(&env, &settings);
    let auth = basic(&id, &secret);
    let first = password_tokens(&a, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let results = race_refreshes(&a, &b, &auth, &rt, 16).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    // With OIDC on (the default scopes include openid), every racer gets an ID token.
    assert!(
        results.iter().all(|(_, b)| b["id_token"].is_string()),
        "{results:?}"
    );
    let tokens: HashSet<(String, String)> = results
        .iter()
        .map(|(_, b)| {
            (
                b["access_token"].to_string(),
                b["refresh_token"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "every racer got the same tokens: {tokens:?}"
    );
    let (_, body) = &results[0];
    let (s, next) = refresh(&a, &auth, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(s, 200, "the family is alive: {next}");
}

async fn race_refreshes(
    a: &Server,
    b: &Server,
    auth: &str,
    rt: &str,
    n: usize,
) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (auth, rt, barrier) = (auth.to_string(), rt.to_string(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let client = http();
            barrier.wait().await;
            let resp = client
                .post(format!("{base}/o/token/"))
                .header("Authorization", auth)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// One code, raced by 12 requests over two processes: one gets tokens, none gets a 5xx, and
/// (as a replay) the others revoke what the winner got.
async fn concurrent_code_exchanges_across_two_processes(env: Env) {
    env.create_user("alice", "wonderland");
    let redirect = "http://localhost/cb";
    let (id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", redirect],
    );
    let a = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let b = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let code = make_code(&env, &id, "alice", redirect, "", None, 60).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let mut tasks = Vec::new();
    for i in 0..12 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (auth, code, barrier) = (basic(&id, &secret), code.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let client = http();
            barrier.wait().await;
            let resp = client
                .post(format!("{base}/o/token/"))
                .header("Authorization", auth)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect),
                ])
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}
