//! Keyed digests that fail closed: every helper returns a `Result`, so an error can never
//! turn into a zero key, an empty digest or an all-zero fingerprint that would still compare
//! equal to something.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

/// A MAC could not be computed (HMAC accepts keys of any length, so this is not expected;
/// callers still refuse rather than continue with a placeholder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compute a keyed digest")]
pub struct CryptoError;

/// HMAC-SHA-256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], CryptoError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| CryptoError)?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// HMAC-SHA-512 of the concatenation of `parts` under `key`.
pub fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 64], CryptoError> {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(|_| CryptoError)?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let out = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]).unwrap();
        assert_eq!(
            hex::encode(out),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let out = hmac_sha512(b"Jefe", &[b"what do ya want for nothing?"]).unwrap();
        assert!(hex::encode(out).starts_with("164b7a7bfcf819e2e395fbe73b56e0a387bd6422"));
    }

    #[test]
    fn empty_key_is_still_a_key() {
        assert_ne!(hmac_sha256(b"", &[b"x"]).unwrap(), [0u8; 32]);
    }
}
