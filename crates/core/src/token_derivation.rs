//! Successor tokens of a refresh, derived instead of stored.
//!
//! With digest-only storage the database holds no token value, yet a replay of a rotated
//! refresh token inside `refresh_token_grace_period_seconds` must receive the very pair the
//! first request got. So during rotation the successor values are computed as
//! `HMAC-SHA256(K, label ‖ 0 ‖ purpose ‖ 0 ‖ counter ‖ old refresh token)` (counter mode,
//! mapped onto the token alphabet without bias), where `K` is derived from the server's
//! `secret_key`. A replay re-derives them from the presented old refresh token and checks
//! them against the stored digests. A copy of the database lacks the old refresh token (only
//! its digest is stored); a thief holding only the old refresh token lacks `K`.

use crate::crypto::{hmac_sha256, CryptoError};
use crate::generators::{ALPHANUMERIC, TOKEN_LENGTH};

const KEY_LABEL: &[u8] = b"oauth-toolkit refresh successor key v1";
const VALUE_LABEL: &[u8] = b"oauth-toolkit refresh successor v1";

/// What a derived value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Successor {
    /// The access token issued by the rotation.
    Access,
    /// The refresh token issued by the rotation.
    Refresh,
    /// A refresh token bound to the surviving access token when the rotation's one is gone.
    Rebound,
}

impl Successor {
    fn label(self) -> &'static [u8] {
        match self {
            Successor::Access => b"access",
            Successor::Refresh => b"refresh",
            Successor::Rebound => b"rebound refresh",
        }
    }
}

/// The key successor values are derived with (never printed).
#[derive(Clone)]
pub struct TokenDerivationKey([u8; 32]);

impl std::fmt::Debug for TokenDerivationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDerivationKey(***)")
    }
}

/// Successor values of one rotation.
pub struct SuccessorValues {
    /// The new access token's plaintext value.
    pub access_token: String,
    /// The new refresh token's plaintext value.
    pub refresh_token: String,
}

impl std::fmt::Debug for SuccessorValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorValues(***)")
    }
}

impl TokenDerivationKey {
    /// A key of its own for this use, derived from the server's master secret.
    pub fn from_secret_key(secret_key: &[u8]) -> Result<Self, CryptoError> {
        if secret_key.is_empty() {
            return Err(CryptoError);
        }
        hmac_sha256(secret_key, &[KEY_LABEL]).map(Self)
    }

    /// The value of `purpose` following the rotation of `old_refresh_token`: `TOKEN_LENGTH`
    /// characters of the generator's alphabet, like [`crate::generators::generate_token`].
    pub fn derive(
        &self,
        old_refresh_token: &str,
        purpose: Successor,
    ) -> Result<String, CryptoError> {
        let alphabet = ALPHANUMERIC.as_bytes();
        // Rejection sampling keeps every character uniform: bytes ≥ 248 (4 × 62) are skipped.
        let limit = (256 / alphabet.len() * alphabet.len()) as u8;
        let mut out = String::with_capacity(TOKEN_LENGTH);
        // Two blocks give 64 bytes for 30 characters; needing a third is ~1e-17 likely.
        for counter in 0u32..8 {
            let block = hmac_sha256(
                &self.0,
                &[
                    VALUE_LABEL,
                    &[0],
                    purpose.label(),
                    &[0],
                    &counter.to_be_bytes(),
                    old_refresh_token.as_bytes(),
                ],
            )?;
            for b in block {
                if b < limit {
                    out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
                    if out.len() == TOKEN_LENGTH {
                        return Ok(out);
                    }
                }
            }
        }
        Err(CryptoError)
    }

    /// The access and refresh token values of the rotation of `old_refresh_token`.
    pub fn successors(&self, old_refresh_token: &str) -> Result<SuccessorValues, CryptoError> {
        Ok(SuccessorValues {
            access_token: self.derive(old_refresh_token, Successor::Access)?,
            refresh_token: self.derive(old_refresh_token, Successor::Refresh)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_distinct_and_in_the_token_alphabet() {
        let k = TokenDerivationKey::from_secret_key(&[7u8; 32]).unwrap();
        let a = k.successors("old").unwrap();
        let b = k.successors("old").unwrap();
        assert_eq!(a.access_token, b.access_token);
        assert_eq!(a.refresh_token, b.refresh_token);
        assert_ne!(a.access_token, a.refresh_token);
        assert_ne!(
            k.derive("old", Successor::Rebound).unwrap(),
            a.refresh_token
        );
        for v in [&a.access_token, &a.refresh_token] {
            assert_eq!(v.len(), TOKEN_LENGTH);
            assert!(v.chars().all(|c| c.is_ascii_alphanumeric()));
        }
        // Another old token or another key: other values.
        assert_ne!(k.successors("olD").unwrap().access_token, a.access_token);
        let other = TokenDerivationKey::from_secret_key(&[8u8; 32]).unwrap();
        assert_ne!(
            other.successors("old").unwrap().access_token,
            a.access_token
        );
    }

    #[test]
    fn empty_secret_is_refused_and_nothing_prints() {
        assert!(TokenDerivationKey::from_secret_key(b"").is_err());
        let k = TokenDerivationKey::from_secret_key(b"k").unwrap();
        assert_eq!(format!("{k:?}"), "TokenDerivationKey(***)");
        let v = k.successors("x").unwrap();
        let shown = format!("{v:?}");
        assert!(!shown.contains(&v.access_token) && !shown.contains(&v.refresh_token));
    }
}
