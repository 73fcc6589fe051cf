//! Client secrets: hashed on save (DOT's `hash_client_secret`), verified in constant time.
//!
//! Generated secrets are 128 random alphanumerics (~760 bits): no dictionary or brute-force
//! attack applies, so a salted SHA-256 is as safe as a slow hash and costs microseconds on the
//! token endpoint's hot path. Secrets chosen by a person (`--client-secret`) may be weak, so
//! the `default` hasher gives anything shorter than [`FAST_HASH_MIN_LENGTH`] argon2id.
//! Imported Django hashes (`pbkdf2_sha256$…`) keep verifying. See docs/security.md.

use subtle::ConstantTimeEq;

use crate::password;

/// Secrets at least this long are treated as high-entropy by the `default` hasher.
pub const FAST_HASH_MIN_LENGTH: usize = 32;
const SHA256_PREFIX: &str = "sha256$";

/// The `client_secret_hasher` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretHasher {
    /// sha256 for long (generated) secrets, argon2id for short ones.
    #[default]
    Default,
    /// argon2id, whatever the length.
    Argon2,
    /// Django's PBKDF2-SHA256 (600 000 iterations), whatever the length.
    Pbkdf2Sha256,
    /// Salted SHA-256, whatever the length; only for high-entropy secrets.
    Sha256,
}

/// Hashing a client secret failed (the message says why).
#[derive(Debug, thiserror::Error)]
#[error("could not hash client secret: {0}")]
pub struct SecretHashError(String);

/// Hash a plaintext secret for storage.
pub fn hash_client_secret(secret: &str, hasher: SecretHasher) -> Result<String, SecretHashError> {
    let hasher = match hasher {
        SecretHasher::Default if secret.len() >= FAST_HASH_MIN_LENGTH => SecretHasher::Sha256,
        SecretHasher::Default => SecretHasher::Argon2,
        other => other,
    };
    match hasher {
        SecretHasher::Sha256 => {
            let salt = crate::generators::random_string(22, crate::generators::ALPHANUMERIC);
            let digest = keyed_digest(&salt, secret).map_err(|e| SecretHashError(e.to_string()))?;
            Ok(format!("{SHA256_PREFIX}{salt}${digest}"))
        }
        SecretHasher::Pbkdf2Sha256 => {
            let salt = crate::generators::random_string(22, crate::generators::ALPHANUMERIC);
            Ok(password::make_django_pbkdf2(secret, &salt, 600_000))
        }
        SecretHasher::Argon2 | SecretHasher::Default => {
            password::hash_password(secret).map_err(|e| SecretHashError(e.to_string()))
        }
    }
}

fn keyed_digest(salt: &str, secret: &str) -> Result<String, crate::crypto::CryptoError> {
    crate::crypto::hmac_sha256(salt.as_bytes(), &[secret.as_bytes()]).map(hex::encode)
}

/// True when `stored` is in one of the hash formats we verify (so it is not re-hashed on save,
/// as DOT keeps values that already parse as a hash).
pub fn is_hashed(stored: &str) -> bool {
    stored.starts_with(SHA256_PREFIX)
        || stored.starts_with("$argon2")
        || stored.starts_with("pbkdf2_sha256$")
}

/// Does `presented` match the stored value? Hashes are verified with their algorithm;
/// anything else is a plaintext secret compared in constant time.
pub fn verify_client_secret(presented: &str, stored: &str) -> bool {
    if let Some(rest) = stored.strip_prefix(SHA256_PREFIX) {
        let Some((salt, digest)) = rest.split_once('$') else {
            return false;
        };
        // No digest, no match: an error never compares equal to anything.
        let Ok(computed) = keyed_digest(salt, presented) else {
            return false;
        };
        return !digest.is_empty() && bool::from(computed.as_bytes().ct_eq(digest.as_bytes()));
    }
    if stored.starts_with("$argon2") || stored.starts_with("pbkdf2_sha256$") {
        return password::verify_password(presented, stored).is_valid();
    }
    !stored.is_empty() && bool::from(presented.as_bytes().ct_eq(stored.as_bytes()))
}

/// [`verify_client_secret`] for request handlers: the fast formats (`sha256$` HMAC, plaintext)
/// are checked inline (microseconds); argon2 and PBKDF2 hashes go through the slow hash gate
/// (off the async workers, at most one per core).
pub async fn verify_client_secret_async(presented: &str, stored: &str) -> bool {
    if stored.starts_with("$argon2") || stored.starts_with("pbkdf2_sha256$") {
        return password::verify_password_async(presented, stored)
            .await
            .is_valid();
    }
    verify_client_secret(presented, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hasher_picks_by_length() {
        let long = "a".repeat(64);
        let h = hash_client_secret(&long, SecretHasher::Default).unwrap();
        assert!(h.starts_with("sha256$"));
        assert!(verify_client_secret(&long, &h));
        assert!(!verify_client_secret(&"a".repeat(63), &h));

        let short = hash_client_secret("short", SecretHasher::Default).unwrap();
        assert!(short.starts_with("$argon2id$"));
        assert!(verify_client_secret("short", &short));
        assert!(!verify_client_secret("shorT", &short));
    }

    #[test]
    fn salts_differ() {
        let a = hash_client_secret(&"x".repeat(40), SecretHasher::Sha256).unwrap();
        let b = hash_client_secret(&"x".repeat(40), SecretHasher::Sha256).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn plaintext_and_imported_hashes() {
        assert!(verify_client_secret("abc", "abc"));
        assert!(!verify_client_secret("abd", "abc"));
        assert!(!verify_client_secret("", ""));
        let django = password::make_django_pbkdf2("topsecret", "salt", 1000);
        assert!(is_hashed(&django));
        assert!(verify_client_secret("topsecret", &django));
        assert!(!is_hashed("plain"));
    }

    #[tokio::test]
    async fn async_check_agrees_with_the_sync_one() {
        let long = "b".repeat(64);
        let fast = hash_client_secret(&long, SecretHasher::Default).unwrap();
        let slow = hash_client_secret("short", SecretHasher::Argon2).unwrap();
        let django = password::make_django_pbkdf2("topsecret", "salt", 1000);
        for (presented, stored, expected) in [
            (long.as_str(), fast.as_str(), true),
            ("b", fast.as_str(), false),
            ("short", slow.as_str(), true),
            ("shorT", slow.as_str(), false),
            ("topsecret", django.as_str(), true),
            ("topsecreT", django.as_str(), false),
            ("abc", "abc", true),
            ("abd", "abc", false),
            ("", "", false),
            ("x", "sha256$salt$", false),
        ] {
            assert_eq!(
                verify_client_secret_async(presented, stored).await,
                expected,
                "{presented} / {stored}"
            );
            assert_eq!(verify_client_secret(presented, stored), expected);
        }
    }

    #[test]
    fn malformed_sha256_never_matches() {
        assert!(!verify_client_secret("x", "sha256$"));
        assert!(!verify_client_secret("x", "sha256$salt$"));
        assert!(!verify_client_secret("x", "sha256$nodollar"));
    }
}
