//! Access and refresh tokens.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::models::*;

/// The outcome of [`TokenStore::rotate_refresh_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This call rotated it: the new access and refresh tokens.
    Rotated(Box<(AccessToken, RefreshToken)>),
    /// It was revoked before (a replay, or a concurrent rotation won).
    AlreadyRevoked,
    /// No such refresh token.
    Missing,
}

/// What an issuance wrote: the access token and, when one was asked for, its refresh token.
pub type IssuedTokens = (AccessToken, Option<RefreshToken>);

/// The rows one token issuance writes together. The refresh token's `access_token_id` is
/// ignored: it is bound to the access token created with it.
#[derive(Debug, Clone)]
pub struct NewTokenPair {
    /// The access token to write.
    pub access: NewAccessToken,
    /// The refresh token to write with it, if any.
    pub refresh: Option<NewRefreshToken>,
}

/// Access and refresh tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Write an access token and (optionally) its refresh token in one transaction.
    async fn issue_tokens(
        &self,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, StoreError>;
    /// Rotation in one transaction: claim `old_refresh_id` if it is still live and bound to
    /// `old_access_id` (else [`Rotation::AlreadyRevoked`] / [`Rotation::Missing`] and nothing
    /// is written), unbind it, and write `pair`: the new access token **takes over the old
    /// one's row** (new value, checksum, expiry, scope, ID token, creation time, and
    /// `source_refresh_token_id` = the old refresh token), so the old value stops working at
    /// once and no row is deleted; the new refresh token is bound to that row. Three
    /// statements: claim, take over, insert.
    async fn rotate_refresh_token(
        &self,
        old_refresh_id: Id,
        old_access_id: Id,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError>;

    /// Refresh without rotation (DOT): give the existing access token row a new value,
    /// expiry, scope and resources (RFC 8707, stored form), so the old value stops working at
    /// once.
    #[allow(clippy::too_many_arguments)]
    async fn replace_access_token(
        &self,
        access_token_id: Id,
        token: &str,
        token_checksum: &str,
        expires: OffsetDateTime,
        scope: &str,
        resource: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AccessToken>, StoreError>;
    /// The access token minted by rotating this refresh token, if it still exists.
    async fn find_access_token_by_source(
        &self,
        refresh_token_id: Id,
    ) -> Result<Option<AccessToken>, StoreError>;
    /// The refresh token bound to this access token.
    async fn find_refresh_token_by_access_token(
        &self,
        access_token_id: Id,
    ) -> Result<Option<RefreshToken>, StoreError>;
    /// Unexpired access tokens of a user for an application (`approval_prompt=auto`).
    async fn list_live_access_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessToken>, StoreError>;

    /// Write an access token on its own.
    async fn create_access_token(
        &self,
        token: NewAccessToken,
        now: OffsetDateTime,
    ) -> Result<AccessToken, StoreError>;
    /// The access token with this row id.
    async fn get_access_token(&self, id: Id) -> Result<Option<AccessToken>, StoreError>;
    /// The access token with this SHA-256 hex digest.
    async fn find_access_token(&self, checksum: &str) -> Result<Option<AccessToken>, StoreError>;
    /// The user's access tokens (any expiry), newest first.
    async fn list_access_tokens_for_user(
        &self,
        user_id: Id,
    ) -> Result<Vec<AccessToken>, StoreError>;
    /// DOT's `AccessToken.revoke()`: delete the row.
    async fn delete_access_token(&self, id: Id) -> Result<bool, StoreError>;
    /// DOT's `revoke_access_token`: revoke the refresh token bound to it if any (which
    /// deletes the access token), else delete the access token. One transaction.
    async fn revoke_access_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Write a refresh token on its own.
    async fn create_refresh_token(
        &self,
        token: NewRefreshToken,
        now: OffsetDateTime,
    ) -> Result<RefreshToken, StoreError>;
    /// The refresh token with this row id.
    async fn get_refresh_token(&self, id: Id) -> Result<Option<RefreshToken>, StoreError>;
    /// The refresh token with this SHA-256 hex digest, revoked or not.
    async fn find_refresh_token(&self, checksum: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Bind a refresh token to (another) access token.
    async fn set_refresh_token_access_token(
        &self,
        id: Id,
        access_token_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// DOT's `RefreshToken.revoke()`: atomically mark it revoked, unbind and delete its
    /// access token. Returns false when it was already revoked (a no-op).
    async fn revoke_refresh_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// The single-use step of rotation: mark revoked only if still live, atomically.
    /// Of concurrent callers exactly one gets [`Consumed::Now`]; its access token is kept
    /// (the caller decides, e.g. for the grace period).
    async fn claim_refresh_token(
        &self,
        id: Id,
        now: OffsetDateTime,
    ) -> Result<Consumed<RefreshToken>, StoreError>;
    /// DOT's `revoke_family`: revoke every live refresh token of the family and delete every
    /// access token of the family or bound to one of its refresh tokens, and the ID token
    /// records linked to those access tokens, in one transaction. Returns the number of
    /// refresh tokens revoked.
    async fn revoke_token_family(
        &self,
        family: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
