use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// A refresh token. Revoking it (store) is atomic and deletes its access token.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The row id.
    pub id: Id,
    /// The user the token was issued to.
    pub user_id: Id,
    /// The plaintext value, or blank when only digests are stored.
    pub token: String,
    /// SHA-256 hex digest of the plaintext value (the lookup key).
    pub token_checksum: String,
    /// The application the token was issued to.
    pub application_id: Id,
    /// The access token issued with it; `None` once that one is gone.
    pub access_token_id: Option<Id>,
    /// The family of the consent or refresh chain the token belongs to.
    pub token_family: Option<Uuid>,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
    /// When the token was revoked (or used up by rotation); `None` while it is live.
    pub revoked: Option<OffsetDateTime>,
    /// When the row was written.
    pub created: OffsetDateTime,
    /// When the row was last changed.
    pub updated: OffsetDateTime,
}

impl std::fmt::Debug for RefreshToken {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let RefreshToken {
            id,
            user_id,
            token,
            token_checksum,
            application_id,
            access_token_id,
            token_family,
            resource,
            revoked,
            created,
            updated,
        } = self;
        f.debug_struct("RefreshToken")
            .field("id", id)
            .field("user_id", user_id)
            .field("token", &crate::redact::Redacted(token))
            .field("token_checksum", token_checksum)
            .field("application_id", application_id)
            .field("access_token_id", access_token_id)
            .field("token_family", token_family)
            .field("resource", resource)
            .field("revoked", revoked)
            .field("created", created)
            .field("updated", updated)
            .finish()
    }
}

/// The fields of a refresh token to write; the store assigns the id and timestamps.
#[derive(Clone)]
pub struct NewRefreshToken {
    /// The user the token is for.
    pub user_id: Id,
    /// The stored token column: the plaintext, or blank when only digests are stored.
    pub token: String,
    /// SHA-256 hex of the plaintext (the lookup key).
    pub token_checksum: String,
    /// The application the token is issued to.
    pub application_id: Id,
    /// The access token issued with it.
    pub access_token_id: Option<Id>,
    /// The family of the consent or refresh chain the token belongs to.
    pub token_family: Option<Uuid>,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
}

impl std::fmt::Debug for NewRefreshToken {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewRefreshToken {
            user_id,
            token,
            token_checksum,
            application_id,
            access_token_id,
            token_family,
            resource,
        } = self;
        f.debug_struct("NewRefreshToken")
            .field("user_id", user_id)
            .field("token", &crate::redact::Redacted(token))
            .field("token_checksum", token_checksum)
            .field("application_id", application_id)
            .field("access_token_id", access_token_id)
            .field("token_family", token_family)
            .field("resource", resource)
            .finish()
    }
}

impl RefreshToken {
    /// Whether it was revoked (or used up by rotation).
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }
}

/// A refresh token with the access token it is bound to and its user, read together (one
/// statement in the bundled stores): the first step of every refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenWithOwners {
    /// The refresh token row.
    pub refresh: RefreshToken,
    /// `None` when it is bound to no access token (revoked, or unbound).
    pub access: Option<super::AccessToken>,
    /// `None` when its user no longer exists.
    pub user: Option<super::User>,
}
