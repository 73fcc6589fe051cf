mod common;
use common::*;

// Signing key rotation (`createsigningkey`, `deletesigningkey`), black-box against
// `oauth-toolkit serve` on SQLite and PostgreSQL: a new key is published at once and signs
// new ID tokens once published long enough (no restart; at once with
// `oidc_jwks_cache_seconds = 0`), older keys stay in the JWKS so tokens signed before still verify, RS256
// applications keep RS256 when an ES256 key is added, and a real relying party (the
// `openidconnect` crate) verifies the ES256 tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::http_browser::{client, encode, Browser};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1/cb";
const NONCE: &str = "n-0S6_WzA2Mj";

struct Rp {
    client_id: String,
    secret: String,
}

fn header_of(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

async fn jwks(base: &str) -> Value {
    client()
        .get(format!("{base}/o/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Verify as an RP: the key named by `kid` in the JWKS, iss and aud.
async fn verify(base: &str, rp: &Rp, jwt: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(base).await).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[&rp.client_id]);
    v.set_issuer(&[format!("{base}/o")]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .expect("a valid ID token")
        .claims
}

/// Code flow with consent: the ID token.
async fn id_token(base: &str, b: &Browser, rp: &Rp) -> String {
    let q = encode(&[
        ("client_id", rp.client_id.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("nonce", NONCE),
    ]);
    let p = b.get(&format!("/o/authorize/?{q}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let mut form = p.form_fields();
    form.push(("allow".into(), "Authorize".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let loc = b.post("/o/authorize/", &form).await.loc();
    let code = reqwest::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let r = client()
        .post(format!("{base}/o/token/"))
        .basic_auth(&rp.client_id, Some(&rp.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    t["id_token"].as_str().unwrap().to_string()
}

fn create_key(env: &Env, alg: &str) -> String {
    let o = env.run(&["createsigningkey", "--algorithm", alg, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["algorithm"], alg);
    assert!(!stdout(&o).contains("PRIVATE"), "never prints key material");
    v["kid"].as_str().unwrap().to_string()
}

/// Rotate to ES256: both kids published, new tokens signed with the new kid, a token signed
/// before still verifies, an RS256 application still gets RS256, discovery lists both
/// algorithms, the `openidconnect` crate verifies the ES256 token; retirement refuses keys
/// that still sign.
async fn rotation_keeps_old_tokens_verifiable(env: Env) {
    env.create_user("test_user", "123456");
    let mk = |extra: &[&str]| {
        let mut args = vec!["--redirect-uris", REDIRECT, "--skip-authorization"];
        args.extend_from_slice(extra);
        let (client_id, secret) = env.create_app("confidential", "authorization-code", &args);
        Rp { client_id, secret }
    };
    let default_rp = mk(&[]);
    let rs_rp = mk(&["--algorithm", "RS256"]);
    // No JWKS cache: a new key is published and signs at once (the cached case is
    // `rotation_across_processes_publishes_before_signing`).
    let server = Server::start(
        &env,
        &[
            ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
            ("OAUTH_TOOLKIT_OIDC_JWKS_CACHE_SECONDS", "0"),
        ],
    );
    let base = server.base.clone();
    let b = Browser::new(&base);
    b.login().await;
    // skip_authorization: no consent page, so authorize directly.
    let before = id_token_direct(&base, &b, &default_rp).await;
    let old_kid = header_of(&before)["kid"].as_str().unwrap().to_string();
    assert_eq!(header_of(&before)["alg"], "RS256");

    let new_kid = create_key(&env, "ES256");
    assert_ne!(new_kid, old_kid);
    let set = jwks(&base).await;
    assert_eq!(
        kids(&set),
        [new_kid.clone(), old_kid.clone()],
        "both published, newest first"
    );

    let after = id_token_direct(&base, &b, &default_rp).await;
    assert_eq!(
        header_of(&after)["kid"],
        new_kid.as_str(),
        "the new key signs at once"
    );
    assert_eq!(header_of(&after)["alg"], "ES256");
    verify(&base, &default_rp, &after).await;
    verify(&base, &default_rp, &before).await;

    let rs = id_token_direct(&base, &b, &rs_rp).await;
    assert_eq!(
        header_of(&rs)["alg"],
        "RS256",
        "an RS256 client keeps RS256"
    );
    assert_eq!(header_of(&rs)["kid"], old_kid.as_str());
    verify(&base, &rs_rp, &rs).await;

    let doc: Value = client()
        .get(format!("{base}/o/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(algs, ["RS256", "ES256", "HS256"]);

    openidconnect_verifies(&base, &default_rp, &after).await;

    // Retirement: never a key that still signs.
    let o = env.run(&["deletesigningkey", &new_kid]);
    assert!(!o.status.success(), "the newest key signs");
    let o = env.run(&["deletesigningkey", &old_kid]);
    assert!(
        !o.status.success(),
        "the newest RS256 key signs for RS256 clients"
    );
    assert!(stderr(&o).contains("current signing key"), "{}", stderr(&o));
    let o = env.run(&["deletesigningkey", "no-such-kid"]);
    assert!(!o.status.success());
    let newer_rsa = create_key(&env, "RS256");
    // The old RSA key would still sign until the newer one is 2 × oidc_jwks_cache_seconds
    // old: retiring it is refused until then (here 0, like the server's).
    let o = env.run(&["deletesigningkey", &old_kid]);
    assert!(!o.status.success(), "it signs until the new key is ready");
    let o = env
        .cmd()
        .args(["deletesigningkey", &old_kid])
        .env("OAUTH_TOOLKIT_OIDC_JWKS_CACHE_SECONDS", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        kids(&jwks(&base).await),
        [newer_rsa.clone(), new_kid.clone()]
    );
    let rs = id_token_direct(&base, &b, &rs_rp).await;
    assert_eq!(header_of(&rs)["kid"], newer_rsa.as_str());
    server.terminate();
}

/// The authorization code flow for a `skip_authorization` client.
async fn id_token_direct(base: &str, b: &Browser, rp: &Rp) -> String {
    let q = encode(&[
        ("client_id", rp.client_id.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("nonce", NONCE),
    ]);
    let p = b.get(&format!("/o/authorize/?{q}")).await;
    if p.status == 200 {
        return id_token(base, b, rp).await;
    }
    let code = reqwest::Url::parse(&p.loc())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let r = client()
        .post(format!("{base}/o/token/"))
        .basic_auth(&rp.client_id, Some(&rp.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    t["id_token"].as_str().unwrap().to_string()
}

/// A standard RP (discovery, JWKS, ES256 allowed) verifies the ES256 ID token.
async fn openidconnect_verifies(base: &str, rp: &Rp, jwt: &str) {
    use openidconnect::core::{
        CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    };
    use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(format!("{base}/o")).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        Some(ClientSecret::new(rp.secret.clone())),
    );
    let verifier = client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]);
    let token: CoreIdToken = jwt.parse().expect("an ID token");
    assert_eq!(
        *token.signing_alg().unwrap(),
        CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    token
        .claims(&verifier, &Nonce::new(NONCE.to_string()))
        .expect("the openidconnect crate verifies the ES256 ID token");
}

/// `createsigningkey` before the first `serve`: the initial RSA key is made first, so the new
/// key is the newest; with `oidc_rsa_private_key` configured the command refuses.
async fn createsigningkey_on_a_fresh_database(env: Env) {
    let kid = create_key(&env, "ES256");
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth_toolkit_signingkey").await, 2);
    assert_eq!(
        count_rows(
            &db,
            &format!("oauth_toolkit_signingkey WHERE kid = '{kid}' AND algorithm = 'ES256'")
        )
        .await,
        1
    );
    let pem = oauth_toolkit_core::oidc::keys::generate(
        oauth_toolkit_core::oidc::keys::KeyAlgorithm::RS256,
    )
    .unwrap()
    .private_key;
    let o = env
        .cmd()
        .args(["createsigningkey"])
        .env("OAUTH_TOOLKIT_OIDC_RSA_PRIVATE_KEY", &pem)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("oidc_rsa_private_key is set"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("PRIVATE KEY"),
        "never prints key material"
    );
    let o = env.run(&["createsigningkey", "--algorithm", "HS256"]);
    assert!(!o.status.success(), "only RS256 and ES256");
}

/// Verify an ID token of the process at `issuer_base` with the JWKS that `jwks_base` serves
/// (each process derives its issuer from its own port here).
async fn verify_with_jwks_of(jwks_base: &str, issuer_base: &str, rp: &Rp, jwt: &str) {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(jwks_base).await).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .unwrap_or_else(|| panic!("kid {:?} not in the JWKS of {jwks_base}", header.kid));
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[&rp.client_id]);
    v.set_issuer(&[format!("{issuer_base}/o")]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v).expect("a valid ID token");
}

/// Two `serve` processes with a 2-second JWKS cache (`oidc_jwks_cache_seconds`), and
/// `createsigningkey` in a third: the new kid is in both processes' JWKS within 1.5 × the
/// cache lifetime, no process signs with it before it is 2 × the cache lifetime old, both
/// sign with it after that, and every ID token issued throughout verifies against the JWKS
/// that each process serves at that moment (what an RP refetching on an unknown kid gets).
async fn rotation_across_processes_publishes_before_signing(env: Env) {
    use std::time::{Duration, Instant};
    let ttl = Duration::from_secs(2);
    env.create_user("test_user", "123456");
    let (client_id, secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", REDIRECT, "--skip-authorization"],
    );
    let rp = Rp { client_id, secret };
    let vars = [
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
        ("OAUTH_TOOLKIT_OIDC_JWKS_CACHE_SECONDS", "2"),
    ];
    let servers = [Server::start(&env, &vars), Server::start(&env, &vars)];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let mut browsers = Vec::new();
    for base in &bases {
        let b = Browser::new(base);
        b.login().await;
        browsers.push(b);
    }
    let old = id_token_direct(&bases[0], &browsers[0], &rp).await;
    let old_kid = header_of(&old)["kid"].as_str().unwrap().to_string();
    for base in &bases {
        assert_eq!(kids(&jwks(base).await), [old_kid.as_str()], "warm caches");
    }

    let before = Instant::now();
    let new_kid = create_key(&env, "ES256");
    let after = Instant::now();
    let mut published = [false, false];
    let mut signed_new = [false, false];
    // An ID token signed with the old key by a process that already publishes the new one.
    let mut published_before_signing = false;
    loop {
        for (p, base) in bases.iter().enumerate() {
            let start = Instant::now();
            if kids(&jwks(base).await).contains(&new_kid) {
                published[p] = true;
            } else {
                assert!(
                    start < after + ttl * 3 / 2,
                    "process {p} still serves a JWKS without the new key {:?} after it was added",
                    start - after
                );
            }
            let start = Instant::now();
            let jwt = id_token_direct(base, &browsers[p], &rp).await;
            let end = Instant::now();
            let kid = header_of(&jwt)["kid"].as_str().unwrap().to_string();
            if kid == new_kid {
                assert!(
                    end >= before + ttl * 2,
                    "process {p} signed with the new key {:?} after it was added",
                    end - before
                );
                signed_new[p] = true;
            } else {
                assert_eq!(kid, old_kid);
                published_before_signing |= published[p];
                assert!(
                    start < after + ttl * 2,
                    "process {p} still signs with the old key {:?} after the new one was added",
                    start - after
                );
            }
            // Whoever signed it, every process's JWKS lists its key.
            for other in &bases {
                verify_with_jwks_of(other, base, &rp, &jwt).await;
            }
        }
        if published.iter().all(|p| *p) && signed_new.iter().all(|s| *s) {
            break;
        }
        assert!(
            after.elapsed() < Duration::from_secs(60),
            "the new key never signed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published_before_signing, "the new key was published first");
    for s in servers {
        s.terminate();
    }
}

backends!(
    rotation_keeps_old_tokens_verifiable,
    rotation_across_processes_publishes_before_signing,
    createsigningkey_on_a_fresh_database,
);
