//! User passwords: argon2id for new hashes; Django's `pbkdf2_sha256$…` hashes are also
//! verified (and reported as needing an upgrade) so a DOT user base can be moved over.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Django marks unusable passwords with a leading `!`.
const UNUSABLE_PREFIX: char = '!';
/// Refuse absurd iteration counts in imported hashes (a stored value could otherwise pin a core).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches; `needs_upgrade` when the stored hash is not argon2id.
    Valid {
        needs_upgrade: bool,
    },
    Invalid,
}

impl PasswordCheck {
    pub fn is_valid(self) -> bool {
        matches!(self, PasswordCheck::Valid { .. })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not hash password: {0}")]
pub struct HashError(String);

/// Hash a password with argon2id (PHC string, random salt, the crate's default cost).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// A stored value that no password matches (Django's `set_unusable_password`).
pub fn unusable_password() -> String {
    format!(
        "{UNUSABLE_PREFIX}{}",
        crate::generators::random_string(40, crate::generators::ALPHANUMERIC)
    )
}

pub fn is_usable(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with(UNUSABLE_PREFIX)
}

/// Check `password` against a stored argon2 PHC string or a Django pbkdf2_sha256 hash.
pub fn verify_password(password: &str, stored: &str) -> PasswordCheck {
    if !is_usable(stored) {
        return PasswordCheck::Invalid;
    }
    if stored.starts_with("$argon2") {
        let ok = PasswordHash::new(stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        return if ok {
            PasswordCheck::Valid {
                needs_upgrade: !stored.starts_with("$argon2id$"),
            }
        } else {
            PasswordCheck::Invalid
        };
    }
    if stored.starts_with("pbkdf2_sha256$") {
        return if verify_django_pbkdf2(password, stored) {
            PasswordCheck::Valid {
                needs_upgrade: true,
            }
        } else {
            PasswordCheck::Invalid
        };
    }
    PasswordCheck::Invalid
}

/// Django's `PBKDF2PasswordHasher`: `pbkdf2_sha256$<iterations>$<salt>$<base64(dk)>`.
pub fn verify_django_pbkdf2(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    derived.ct_eq(&expected).into()
}

/// Make a Django-format hash (used to test imports and by `client_secret_hasher = "pbkdf2_sha256"`).
pub fn make_django_pbkdf2(password: &str, salt: &str, iterations: u32) -> String {
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    format!(
        "pbkdf2_sha256${iterations}${salt}${}",
        base64::engine::general_purpose::STANDARD.encode(derived)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify_password("s3cret", &h),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(verify_password("wrong", &h), PasswordCheck::Invalid);
    }

    #[test]
    fn django_hash_from_django_itself() {
        // Django's format with a vector computed independently of this code:
        // python -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'password',b'seasalt',1000)).decode())"
        let stored = "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=";
        assert_eq!(
            verify_password("password", stored),
            PasswordCheck::Valid {
                needs_upgrade: true
            }
        );
        assert_eq!(verify_password("Password", stored), PasswordCheck::Invalid);
        assert_eq!(make_django_pbkdf2("password", "seasalt", 1000), stored);
    }

    #[test]
    fn malformed_and_unusable_hashes_never_match() {
        for stored in [
            "",
            "!",
            &unusable_password(),
            "pbkdf2_sha256$",
            "pbkdf2_sha256$x$salt$AAAA",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$99999999999$salt$AAAA",
            "pbkdf2_sha256$1000$salt$!!notbase64",
            "pbkdf2_sha256$1000$salt$AAAA$extra",
            "$argon2id$garbage",
            "plaintext",
        ] {
            assert_eq!(
                verify_password("password", stored),
                PasswordCheck::Invalid,
                "{stored}"
            );
        }
    }
}
