//! Every grant's happy path, through the `oauth2` crate.

use std::collections::HashSet;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, RedirectUrl,
    RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use oauth_toolkit_core::models::CodeChallengeMethod;
use oauth_toolkit_core::token_checksum::token_checksum;

use crate::common::*;
use crate::support::*;

backends!(
    client_credentials_with_the_oauth2_crate,
    password_and_refresh_with_the_oauth2_crate,
    authorization_code_with_pkce_with_the_oauth2_crate,
);

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
