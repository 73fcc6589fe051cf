//! Keys, tampering, a real relying party.

use serde_json::Value;

use crate::common::http_browser::{client, encode};
use crate::common::*;
use crate::support::*;

backends!(
    id_token_hint_tampering_is_rejected,
    processes_share_the_signing_key,
    oidc_disabled_is_plain_oauth,
    hs256_applications_sign_with_their_secret,
    openidconnect_relying_party_signs_in,
);

/// `id_token_hint`s that are not exactly what the provider signed are refused (fail closed):
/// a changed signature or payload, an unknown `kid`, `alg: none`, HS256 keyed with the RSA
/// public key, another issuer's audience.
async fn id_token_hint_tampering_is_rejected(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let good = t["id_token"].as_str().unwrap().to_string();
    let parts: Vec<&str> = good.split('.').collect();
    let header = header_of(&good);
    let claims = claims_of(&good);

    let mut flipped_sig = parts[2].to_string();
    let last = flipped_sig.pop().unwrap();
    flipped_sig.push(if last == 'A' { 'B' } else { 'A' });
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], flipped_sig);

    let mut other_claims = claims.clone();
    other_claims["sub"] = "999".into();
    let bad_payload = format!("{}.{}.{}", parts[0], b64(&other_claims), parts[2]);

    let mut h = header.clone();
    h["kid"] = "not-a-kid".into();
    let bad_kid = format!("{}.{}.{}", b64(&h), parts[1], parts[2]);

    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );

    // HS256 with the RSA public key (as JWK JSON and as its modulus) as the HMAC secret.
    let jwks = op.jwks().await;
    let jwk = &jwks["keys"][0];
    let mut hs_tokens = Vec::new();
    for secret in [
        serde_json::to_string(jwk).unwrap(),
        jwk["n"].as_str().unwrap().to_string(),
    ] {
        let mut hh = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hh.kid = header["kid"].as_str().map(str::to_owned);
        hs_tokens.push(
            jsonwebtoken::encode(
                &hh,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap(),
        );
    }

    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = "https://evil.example".into();
    let wrong_iss = format!("{}.{}.{}", parts[0], b64(&wrong_iss), parts[2]);

    let mut cases = vec![
        ("signature", bad_signature),
        ("payload", bad_payload),
        ("kid", bad_kid),
        ("alg none", none),
        ("iss", wrong_iss),
        ("garbage", "111".to_string()),
    ];
    for (i, t) in hs_tokens.into_iter().enumerate() {
        cases.push((if i == 0 { "HS256 jwk" } else { "HS256 n" }, t));
    }
    for (what, hint) in cases {
        let p = b
            .get(&format!(
                "{AUTHORIZE}?{}",
                encode(&op.params(&[("prompt", "none"), ("id_token_hint", &hint)]))
            ))
            .await;
        assert_eq!(p.status, 302, "{what}");
        let q = query_of(&p.loc());
        assert!(!q.contains_key("code"), "{what}: accepted a tampered hint");
        assert_eq!(q["error"], "invalid_request", "{what}");
    }
    // The untouched hint still works.
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none"), ("id_token_hint", &good)]))
        ))
        .await;
    assert!(query_of(&p.loc()).contains_key("code"));
    op.server.terminate();
}

/// Every process of a deployment signs with the one key generated on first start.
async fn processes_share_the_signing_key(env: Env) {
    let op = op(&env);
    let other = Server::start(&env, &settings(&[]));
    let a = op.jwks().await;
    let b: Value = client()
        .get(format!("{}/o/.well-known/jwks.json", other.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        count_rows(&env.db().await, "oauth_toolkit_signingkey").await,
        1
    );
    other.terminate();
    op.server.terminate();
}

/// OIDC off: discovery, JWKS and userinfo are 404, no ID token is issued.
async fn oidc_disabled_is_plain_oauth(env: Env) {
    let op = op_with(
        &env,
        "authorization-code",
        &[],
        &[("OAUTH_TOOLKIT_OIDC_ENABLED", "false")],
    );
    for path in [
        "/o/.well-known/openid-configuration",
        "/o/.well-known/jwks.json",
        "/o/userinfo/",
        "/o/logout/",
    ] {
        let r = client()
            .get(format!("{}{path}", op.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    op.server.terminate();
}

/// HS256 applications: the ID token is an HMAC with the plaintext client secret.
async fn hs256_applications_sign_with_their_secret(env: Env) {
    let op = op_with(
        &env,
        "authorization-code",
        &["--algorithm", "HS256", "--no-hash-client-secret"],
        &[],
    );
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let jwt = t["id_token"].as_str().unwrap();
    assert_eq!(header_of(jwt)["alg"], "HS256");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[&op.client_id]);
    jsonwebtoken::decode::<Value>(
        jwt,
        &jsonwebtoken::DecodingKey::from_secret(op.secret.as_bytes()),
        &v,
    )
    .expect("HMAC with the client secret");
    op.server.terminate();
}

/// A standard relying party (the `openidconnect` crate): discovery → code flow with PKCE →
/// ID token verification against the JWKS (signature, iss, aud, nonce, at_hash) → userinfo
/// → refresh with a new ID token. No special casing.
async fn openidconnect_relying_party_signs_in(env: Env) {
    use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
    use openidconnect::{
        AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
        IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
        TokenResponse,
    };
    let op = op(&env);
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(op.issuer()).unwrap(), &http)
            .await
            .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(op.client_id.clone()),
        Some(ClientSecret::new(op.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let b = op.browser().await;
    let path = &url.as_str()[op.base().len()..];
    let p = b.get(path).await;
    let loc = op.approve_page(&b, p).await;
    let q = query_of(&loc);
    assert_eq!(&q["state"], csrf.secret());
    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("verified ID token");
    let hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&hash));
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.email().map(|e| e.as_str()), Some("test@example.org"));
    let info: openidconnect::core::CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some("test_user")
    );
    let refreshed = rp
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_id = refreshed.id_token().expect("a new ID token on refresh");
    let new_claims = new_id
        .claims(&verifier, |n: Option<&Nonce>| {
            n.map_or(Ok(()), |_| Err("no nonce expected on refresh".to_string()))
        })
        .expect("verified refreshed ID token");
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
    op.server.terminate();
}
