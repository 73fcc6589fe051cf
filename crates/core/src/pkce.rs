//! RFC 7636 Proof Key for Code Exchange.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::models::CodeChallengeMethod;

/// RFC 7636 §4.1/§4.2: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
/// (DOT checks neither length nor charset; we follow the RFC.)
pub fn is_valid_verifier_or_challenge(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Does `verifier` answer `challenge` under `method`? Constant-time comparison.
pub fn verify(verifier: &str, challenge: &str, method: CodeChallengeMethod) -> bool {
    if !is_valid_verifier_or_challenge(verifier) {
        return false;
    }
    let computed = match method {
        CodeChallengeMethod::Plain => verifier.to_string(),
        CodeChallengeMethod::S256 => s256_challenge(verifier),
    };
    computed.len() == challenge.len() && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256_challenge(verifier), challenge);
        assert!(verify(verifier, challenge, CodeChallengeMethod::S256));
        assert!(!verify(verifier, challenge, CodeChallengeMethod::Plain));
        assert!(verify(verifier, verifier, CodeChallengeMethod::Plain));
    }

    #[test]
    fn syntax() {
        assert!(is_valid_verifier_or_challenge(&"a".repeat(43)));
        assert!(is_valid_verifier_or_challenge(&"a".repeat(128)));
        assert!(!is_valid_verifier_or_challenge(&"a".repeat(42)));
        assert!(!is_valid_verifier_or_challenge(&"a".repeat(129)));
        assert!(!is_valid_verifier_or_challenge(&format!(
            "{}+",
            "a".repeat(43)
        )));
        assert!(!verify("short", "short", CodeChallengeMethod::Plain));
    }
}
