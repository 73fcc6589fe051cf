//! Tokens are looked up by the SHA-256 hex digest of the presented value (DOT's
//! `token_checksum`), so the plaintext never has to be stored or compared.

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `token`, 64 characters.
pub fn token_checksum(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            token_checksum("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token_checksum("").len(), 64);
    }
}
