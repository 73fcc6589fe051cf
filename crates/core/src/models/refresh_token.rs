use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// A refresh token. Revoking it (store) is atomic and deletes its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: Id,
    pub user_id: Id,
    pub token: String,
    pub token_checksum: String,
    pub application_id: Id,
    pub access_token_id: Option<Id>,
    pub token_family: Option<Uuid>,
    pub revoked: Option<OffsetDateTime>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub user_id: Id,
    /// The stored token column: the plaintext, or blank when only digests are stored.
    pub token: String,
    /// SHA-256 hex of the plaintext (the lookup key).
    pub token_checksum: String,
    pub application_id: Id,
    pub access_token_id: Option<Id>,
    pub token_family: Option<Uuid>,
}

impl RefreshToken {
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }
}
