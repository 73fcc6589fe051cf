use time::OffsetDateTime;

use super::Id;

/// A private key the provider signs ID tokens with, stored so that every process of a
/// deployment signs with the same keys and publishes the same JWKS. The newest key of an
/// algorithm signs; older ones stay published (rotation).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The row id.
    pub id: Id,
    /// RFC 7638 JWK thumbprint of the public key (base64url SHA-256).
    pub kid: String,
    /// `RS256` or `ES256`.
    pub algorithm: String,
    /// PKCS#8 PEM.
    pub private_key: String,
    /// When the key was stored (the newest key of an algorithm signs).
    pub created: OffsetDateTime,
}

impl std::fmt::Debug for SigningKey {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// The fields of a signing key to write; the store assigns the id and `created`.
#[derive(Clone)]
pub struct NewSigningKey {
    /// RFC 7638 JWK thumbprint of the public key (base64url SHA-256).
    pub kid: String,
    /// `RS256` or `ES256`.
    pub algorithm: String,
    /// The private key, PKCS#8 PEM.
    pub private_key: String,
}

impl std::fmt::Debug for NewSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}
