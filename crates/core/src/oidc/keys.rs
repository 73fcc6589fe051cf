//! ID token signing keys: generation, PEM loading, JWK export with RFC 7638 thumbprints as
//! `kid`, and the key set a deployment signs with.
//!
//! Where the keys come from:
//! - `oidc_rsa_private_key` set (DOT's setting): that key signs RS256, and it and
//!   `oidc_rsa_private_keys_inactive` are published — nothing is read from the database.
//! - otherwise the keys stored in the database (`SigningKeyStore`): a 2048-bit RSA key is
//!   generated on first start (race-safe, so every process signs with the same one), and
//!   `oauth-toolkit createsigningkey` adds newer ones. Every stored key is in the JWKS at
//!   once, so tokens signed before a rotation still verify; a new key signs only once it has
//!   been stored for [`activation_delay`] (unless no older key of its algorithm exists):
//!   each process serves a JWKS up to 1.5 × `oidc_jwks_cache_seconds` old, and a relying
//!   party that meets an unknown `kid` refetches the JWKS from whichever process it reaches,
//!   so the key must be in all of them before any process signs with it.
//!
//! Signing and verification go through `jsonwebtoken` (ring, constant time). The `rsa` and
//! `p256` crates only generate and parse keys: the `rsa` crate's own signing is not constant
//! time (RUSTSEC-2023-0071).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::context::Ctx;
use crate::error::OAuthError;
use crate::models::NewSigningKey;

/// The asymmetric algorithms a provider key can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys).
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
}

impl KeyAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::RS256 => "RS256",
            KeyAlgorithm::ES256 => "ES256",
        }
    }

    /// The algorithm with this JOSE `alg` name, if it is one of these.
    pub fn parse(s: &str) -> Option<KeyAlgorithm> {
        match s {
            "RS256" => Some(KeyAlgorithm::RS256),
            "ES256" => Some(KeyAlgorithm::ES256),
            _ => None,
        }
    }

    /// The `jsonwebtoken` algorithm that signs and verifies with it.
    pub fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            KeyAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            KeyAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// A parsed private key, ready to sign and to verify.
pub struct Key {
    /// RFC 7638 JWK thumbprint of the public key (base64url SHA-256), the JOSE `kid`.
    pub kid: String,
    /// What the key signs with.
    pub algorithm: KeyAlgorithm,
    /// The public JWK (with `kid`, `alg`, `use`).
    pub jwk: serde_json::Value,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not an RSA private key in PEM.
    #[error("not a PEM RSA private key (PKCS#1 or PKCS#8)")]
    BadRsaPem,
    /// The text is not a P-256 private key in PEM.
    #[error("not a PEM P-256 private key (PKCS#8)")]
    BadEcPem,
    /// Generating a new key failed.
    #[error("RSA key generation failed")]
    Generation,
    /// A stored key names an algorithm other than `RS256` or `ES256`.
    #[error("unknown key algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// The JWK is not a public RSA or EC key, so it has no thumbprint.
    #[error("not a public RSA or EC JWK: no RFC 7638 thumbprint")]
    NoThumbprint,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 thumbprint of a public JWK: SHA-256 of the required members in lexicographic
/// order, no whitespace, base64url. A JWK of another type, or missing or non-string required
/// members, has no thumbprint (rather than the digest of a template with blanks, which
/// would be the same `kid` for every such key).
pub fn thumbprint(jwk: &serde_json::Value) -> Result<String, KeyError> {
    let member = |name: &str| {
        jwk[name]
            .as_str()
            .filter(|v| !v.is_empty())
            .ok_or(KeyError::NoThumbprint)
    };
    let text = match jwk["kty"].as_str() {
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e")?,
            member("n")?
        ),
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        _ => return Err(KeyError::NoThumbprint),
    };
    Ok(b64(&Sha256::digest(text.as_bytes())))
}

/// Parse an RSA private key (PKCS#8 or PKCS#1 PEM).
pub fn parse_rsa_pem(pem: &str) -> Result<Key, KeyError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let pem = pem.trim();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| KeyError::BadRsaPem)?;
    let der = key.to_pkcs1_der().map_err(|_| KeyError::BadRsaPem)?;
    let n = b64(&key.n().to_bytes_be());
    let e = b64(&key.e().to_bytes_be());
    let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|_| KeyError::BadRsaPem)?;
    let mut jwk = json!({"kty": "RSA", "n": n, "e": e});
    let kid = thumbprint(&jwk)?;
    jwk["alg"] = "RS256".into();
    jwk["use"] = "sig".into();
    jwk["kid"] = kid.clone().into();
    Ok(Key {
        kid,
        algorithm: KeyAlgorithm::RS256,
        jwk,
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        decoding,
    })
}

/// Parse a P-256 private key (PKCS#8 PEM).
pub fn parse_ec_pem(pem: &str) -> Result<Key, KeyError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let secret = p256::SecretKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::BadEcPem)?;
    let der = secret.to_pkcs8_der().map_err(|_| KeyError::BadEcPem)?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(KeyError::BadEcPem);
    };
    let (x, y) = (b64(x), b64(y));
    let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| KeyError::BadEcPem)?;
    let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
    let kid = thumbprint(&jwk)?;
    jwk["alg"] = "ES256".into();
    jwk["use"] = "sig".into();
    jwk["kid"] = kid.clone().into();
    Ok(Key {
        kid,
        algorithm: KeyAlgorithm::ES256,
        jwk,
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        decoding,
    })
}

/// Parse a stored key of the given algorithm, through a process-wide cache (parsing an RSA
/// key is not free; a key's PEM never changes, so the cache is always right).
pub fn parse_cached(algorithm: &str, pem: &str) -> Result<Arc<Key>, KeyError> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<Key>>>> = OnceLock::new();
    let digest: [u8; 32] = Sha256::new()
        .chain_update(algorithm.as_bytes())
        .chain_update(b"\0")
        .chain_update(pem.as_bytes())
        .finalize()
        .into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(k) = cache.lock().ok().and_then(|c| c.get(&digest).cloned()) {
        return Ok(k);
    }
    let key = Arc::new(match algorithm {
        "RS256" => parse_rsa_pem(pem)?,
        "ES256" => parse_ec_pem(pem)?,
        other => return Err(KeyError::UnknownAlgorithm(other.to_string())),
    });
    if let Ok(mut c) = cache.lock() {
        c.insert(digest, key.clone());
    }
    Ok(key)
}

/// Generate a new private key: RSA 2048 (RS256) or P-256 (ES256), as a storable row.
pub fn generate(algorithm: KeyAlgorithm) -> Result<NewSigningKey, KeyError> {
    let mut rng = rand::rngs::OsRng;
    let pem = match algorithm {
        KeyAlgorithm::RS256 => rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|_| KeyError::Generation)?
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Generation)?
            .to_string(),
        KeyAlgorithm::ES256 => p256::SecretKey::random(&mut rng)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Generation)?
            .to_string(),
    };
    let key = parse_cached(algorithm.as_str(), &pem)?;
    Ok(NewSigningKey {
        kid: key.kid.clone(),
        algorithm: algorithm.as_str().to_string(),
        private_key: pem,
    })
}

/// How long a stored key is published before it signs: twice `oidc_jwks_cache_seconds`.
/// Every process's JWKS is at most 1.5 × that old (`oauth_toolkit_axum::documents`); the
/// other half covers the time a read takes and clock differences between hosts.
pub fn activation_delay(settings: &crate::settings::Settings) -> Duration {
    Duration::seconds(i64::try_from(settings.oidc.oidc_jwks_cache_seconds).unwrap_or(i64::MAX))
        .saturating_mul(2)
}

/// The keys of a deployment: every published key, newest first.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// Every published key, newest first.
    pub keys: Vec<Arc<Key>>,
    /// Per key, in the same order: published long enough to sign (missing: ready).
    ready: Vec<bool>,
}

impl KeySet {
    /// Keys that may all sign at once (configured keys).
    pub fn new(keys: Vec<Arc<Key>>) -> Self {
        Self {
            ready: vec![true; keys.len()],
            keys,
        }
    }

    /// Stored keys, newest first, with when each was added: a key may sign once
    /// `created + delay <= now`.
    pub fn stored(
        keys: Vec<(Arc<Key>, OffsetDateTime)>,
        now: OffsetDateTime,
        delay: Duration,
    ) -> Self {
        let (keys, ready) = keys
            .into_iter()
            .map(|(k, created)| (k, created.saturating_add(delay) <= now))
            .unzip();
        Self { keys, ready }
    }

    fn is_ready(&self, index: usize) -> bool {
        self.ready.get(index).copied().unwrap_or(true)
    }

    /// The key that signs `algorithm`, or, with `None`, any algorithm: the newest such key
    /// published for long enough; when none is yet, the oldest (it was published first; on
    /// a first start it is the only key).
    pub fn signing_key(&self, algorithm: Option<KeyAlgorithm>) -> Option<&Arc<Key>> {
        let mut oldest = None;
        for (i, k) in self.keys.iter().enumerate() {
            if algorithm.is_some() && algorithm != Some(k.algorithm) {
                continue;
            }
            if self.is_ready(i) {
                return Some(k);
            }
            oldest = Some(k);
        }
        oldest
    }

    /// The published key with this `kid`, if any.
    pub fn by_kid(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// `{"keys": [...]}` (RFC 7517 §5), public parts only.
    pub fn jwks(&self) -> serde_json::Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The asymmetric algorithms this set can sign with.
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for a in [KeyAlgorithm::RS256, KeyAlgorithm::ES256] {
            if self.keys.iter().any(|k| k.algorithm == a) {
                out.push(a.as_str());
            }
        }
        out
    }
}

fn key_failure(e: KeyError) -> OAuthError {
    OAuthError::server_error(e)
}

/// The current key set: the configured PEMs, else the stored keys (generating the first one
/// when there is none yet).
pub async fn key_set(ctx: &Ctx<'_>) -> Result<KeySet, OAuthError> {
    let s = ctx.settings;
    if !s.oidc.oidc_rsa_private_key.trim().is_empty() {
        let mut keys =
            vec![parse_cached("RS256", &s.oidc.oidc_rsa_private_key).map_err(key_failure)?];
        for pem in &s.oidc.oidc_rsa_private_keys_inactive {
            keys.push(parse_cached("RS256", pem).map_err(key_failure)?);
        }
        return Ok(KeySet::new(keys));
    }
    let mut rows = ctx.store.list_signing_keys().await?;
    if rows.is_empty() {
        rows = ensure_stored_key(ctx).await?;
    }
    Ok(stored_set(ctx, rows))
}

/// The set of stored `rows` (newest first) as of `ctx.now`.
fn stored_set(ctx: &Ctx<'_>, rows: Vec<crate::models::SigningKey>) -> KeySet {
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        match parse_cached(&row.algorithm, &row.private_key) {
            Ok(k) => keys.push((k, row.created)),
            // One unreadable row must not take the provider down; it is reported.
            Err(e) => {
                tracing::error!(kid = %row.kid, error = %e, "unusable signing key in the database")
            }
        }
    }
    KeySet::stored(keys, ctx.now, activation_delay(ctx.settings))
}

/// Make sure the database holds a signing key (a first start); race-safe across processes.
pub async fn ensure_stored_key(
    ctx: &Ctx<'_>,
) -> Result<Vec<crate::models::SigningKey>, OAuthError> {
    let existing = ctx.store.list_signing_keys().await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    // CPU work of a fraction of a second, once per deployment: done inline.
    let candidate = generate(KeyAlgorithm::RS256).map_err(key_failure)?;
    let rows = ctx
        .store
        .create_initial_signing_key(candidate, ctx.now)
        .await?;
    tracing::info!(count = rows.len(), "OpenID Connect signing key created");
    Ok(rows)
}

/// Why a key cannot be added or retired.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// `oidc_rsa_private_key` is set, so stored keys are not used.
    #[error(
        "oidc_rsa_private_key is set: the provider signs with that key and ignores the database \
         keys; rotate by changing the setting (and listing the old key in \
         oidc_rsa_private_keys_inactive)"
    )]
    ConfiguredKey,
    /// No stored key has this `kid`.
    #[error("no signing key with kid `{0}`")]
    UnknownKid(String),
    /// The key still signs, so it cannot be retired yet.
    #[error(
        "key `{0}` is a current signing key (the newest key, the newest RS256 key, or one that \
         signs until a newer key has been published for long enough); add a newer one with \
         createsigningkey first"
    )]
    InUse(String),
    /// A key could not be generated or parsed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Rotation: generate a key of `algorithm` and store it. It is published at once and signs
/// new ID tokens after [`activation_delay`] (every process reads the key list on use); older
/// keys stay in the JWKS.
pub async fn rotate(
    ctx: &Ctx<'_>,
    algorithm: KeyAlgorithm,
) -> Result<crate::models::SigningKey, RotationError> {
    if !ctx.settings.oidc.oidc_rsa_private_key.trim().is_empty() {
        return Err(RotationError::ConfiguredKey);
    }
    // A deployment that never started has no initial key yet: create it first, so that the
    // new key is the newest one.
    if ctx.store.list_signing_keys().await?.is_empty() {
        let first = generate(KeyAlgorithm::RS256)?;
        ctx.store.create_initial_signing_key(first, ctx.now).await?;
    }
    let new = generate(algorithm)?;
    let row = ctx.store.add_signing_key(new, ctx.now).await?;
    tracing::info!(kid = %row.kid, algorithm = %row.algorithm, "OpenID Connect signing key added");
    Ok(row)
}

/// Retirement: delete a key that no longer signs — not the newest key (it signs for
/// applications without an algorithm) nor the newest RS256 key (it signs for RS256
/// applications), nor a key that signs while a newer one waits for its activation. ID tokens it signed no longer verify afterwards: retire a key only once
/// they have expired (`id_token_expire_seconds` after the rotation).
pub async fn retire_key(ctx: &Ctx<'_>, kid: &str) -> Result<(), RotationError> {
    if !ctx.settings.oidc.oidc_rsa_private_key.trim().is_empty() {
        return Err(RotationError::ConfiguredKey);
    }
    let rows = ctx.store.list_signing_keys().await?;
    let Some(target) = rows.iter().find(|k| k.kid == kid) else {
        return Err(RotationError::UnknownKid(kid.to_string()));
    };
    let newest = rows.first().map(|k| k.id);
    let newest_rsa = rows.iter().find(|k| k.algorithm == "RS256").map(|k| k.id);
    let target_id = target.id;
    let set = stored_set(ctx, rows);
    let signing = [None, Some(KeyAlgorithm::RS256)]
        .into_iter()
        .any(|a| set.signing_key(a).is_some_and(|k| k.kid == kid));
    if Some(target_id) == newest || Some(target_id) == newest_rsa || signing {
        return Err(RotationError::InUse(kid.to_string()));
    }
    if !ctx.store.delete_signing_key(kid).await? {
        return Err(RotationError::UnknownKid(kid.to_string()));
    }
    tracing::info!(kid, "OpenID Connect signing key retired");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn incomplete_jwks_have_no_thumbprint() {
        for jwk in [
            json!({"kty": "RSA", "e": "AQAB"}),
            json!({"kty": "RSA", "e": "AQAB", "n": ""}),
            json!({"kty": "EC", "crv": "P-256", "x": "abc"}),
            json!({"kty": "EC", "crv": "P-256", "x": "abc", "y": 5}),
            json!({"kty": "oct", "k": "secret"}),
            json!({}),
        ] {
            assert!(thumbprint(&jwk).is_err(), "{jwk}");
        }
    }

    #[test]
    fn generated_keys_parse_and_publish() {
        for alg in [KeyAlgorithm::ES256, KeyAlgorithm::RS256] {
            let new = generate(alg).unwrap();
            let key = parse_cached(&new.algorithm, &new.private_key).unwrap();
            assert_eq!(key.kid, new.kid);
            assert_eq!(key.jwk["kid"], new.kid.as_str());
            assert_eq!(key.jwk["alg"], alg.as_str());
            assert!(key.jwk.get("d").is_none(), "no private members");
            assert_eq!(thumbprint(&key.jwk).unwrap(), key.kid);
        }
        assert!(parse_rsa_pem("not a key").is_err());
        assert!(
            parse_ec_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err()
        );
    }

    /// A new key is published at once but signs only after the activation delay, unless no
    /// older key of the wanted algorithm exists.
    #[test]
    fn new_keys_sign_after_the_activation_delay() {
        let key = |alg: KeyAlgorithm| {
            let new = generate(alg).unwrap();
            parse_cached(&new.algorithm, &new.private_key).unwrap()
        };
        let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
        let delay = Duration::seconds(10);
        let (rsa_old, rsa_new, ec_new) = (
            key(KeyAlgorithm::RS256),
            key(KeyAlgorithm::RS256),
            key(KeyAlgorithm::ES256),
        );
        let rows = |now_offset: i64| {
            KeySet::stored(
                vec![
                    (ec_new.clone(), t0 + Duration::seconds(2)),
                    (rsa_new.clone(), t0 + Duration::seconds(1)),
                    (rsa_old.clone(), t0 - Duration::days(30)),
                ],
                t0 + Duration::seconds(now_offset),
                delay,
            )
        };
        let kid = |set: &KeySet, a| set.signing_key(a).unwrap().kid.clone();

        let pending = rows(5);
        assert_eq!(
            pending.jwks()["keys"].as_array().unwrap().len(),
            3,
            "all published"
        );
        assert_eq!(kid(&pending, None), rsa_old.kid, "the new keys wait");
        assert_eq!(kid(&pending, Some(KeyAlgorithm::RS256)), rsa_old.kid);
        // No older ES256 key: the pending one is the only choice.
        assert_eq!(kid(&pending, Some(KeyAlgorithm::ES256)), ec_new.kid);

        let half = rows(11);
        assert_eq!(
            kid(&half, None),
            rsa_new.kid,
            "the RSA key is ready, the EC key not yet"
        );
        assert_eq!(kid(&half, Some(KeyAlgorithm::RS256)), rsa_new.kid);

        let ready = rows(12);
        assert_eq!(kid(&ready, None), ec_new.kid, "the newest ready key");
        assert_eq!(kid(&ready, Some(KeyAlgorithm::RS256)), rsa_new.kid);

        // A first start: the only key signs at once.
        let first = KeySet::stored(vec![(rsa_new.clone(), t0)], t0, delay);
        assert_eq!(kid(&first, None), rsa_new.kid);
        // Two pending keys and nothing older: the older one, published first.
        let fresh = KeySet::stored(
            vec![
                (rsa_new.clone(), t0 + Duration::seconds(1)),
                (rsa_old.clone(), t0),
            ],
            t0 + Duration::seconds(2),
            delay,
        );
        assert_eq!(kid(&fresh, None), rsa_old.kid);
        // Configured keys sign at once.
        assert_eq!(
            kid(&KeySet::new(vec![rsa_new.clone(), rsa_old.clone()]), None),
            rsa_new.kid
        );
    }

    #[test]
    fn activation_is_twice_the_jwks_cache() {
        let s = {
            let mut built = crate::settings::Settings::default();
            built.oidc.oidc_jwks_cache_seconds = 7;
            built
        };
        assert_eq!(activation_delay(&s), Duration::seconds(14));
        let off = {
            let mut built = crate::settings::Settings::default();
            built.oidc.oidc_jwks_cache_seconds = 0;
            built
        };
        assert_eq!(activation_delay(&off), Duration::ZERO);
    }
}
