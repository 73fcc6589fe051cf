//! Random identifiers and secrets, all from the operating system's CSPRNG.

use rand::rngs::{OsRng, StdRng};
use rand::{Rng, SeedableRng};

/// DOT's `UNICODE_ASCII_CHARACTER_SET`: letters and digits.
pub const ALPHANUMERIC: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Length of opaque access/refresh tokens, codes and device codes (oauthlib: 30).
pub const TOKEN_LENGTH: usize = 30;

/// `length` characters drawn uniformly from `alphabet`, from 256 bits of fresh OS randomness
/// (one `getrandom` call) stretched by ChaCha12; drawing every character from the OS costs
/// one system call each. An empty alphabet yields an empty string rather than panicking;
/// settings validation rejects empty alphabets before they get here.
pub fn random_string(length: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut rng = StdRng::from_seed(OsRng.gen());
    (0..length)
        .map(|_| chars[rng.gen_range(0..chars.len())])
        .collect()
}

/// An opaque bearer token, refresh token or authorization code (≈178 bits).
pub fn generate_token() -> String {
    random_string(TOKEN_LENGTH, ALPHANUMERIC)
}

/// A client id as DOT's `ClientIdGenerator` makes it (default 40 alphanumerics).
pub fn generate_client_id(length: usize, alphabet: &str) -> String {
    random_string(length, alphabet)
}

/// A client secret as DOT's `ClientSecretGenerator` makes it (default 128 alphanumerics).
pub fn generate_client_secret(length: usize, alphabet: &str) -> String {
    random_string(length, alphabet)
}

/// RFC 8628 user code: 8 characters of base32hex-like letters without ambiguous ones.
pub fn generate_user_code() -> String {
    random_string(8, "BCDFGHJKLMNPQRSTVWXZ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_alphabet() {
        let id = generate_client_id(40, ALPHANUMERIC);
        assert_eq!(id.len(), 40);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(generate_client_secret(128, ALPHANUMERIC).len(), 128);
        assert_eq!(generate_token().len(), 30);
        assert_eq!(random_string(5, ""), "");
        assert_eq!(random_string(3, "é"), "ééé");
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(generate_token(), generate_token());
    }
}
