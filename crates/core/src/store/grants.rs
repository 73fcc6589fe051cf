//! Authorization codes.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Authorization codes.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Write an authorization code (its digest, never the plaintext).
    async fn create_grant(&self, grant: NewGrant, now: OffsetDateTime)
        -> Result<Grant, StoreError>;
    /// The code with this SHA-256 hex digest, used or not.
    async fn find_grant(&self, code_checksum: &str) -> Result<Option<Grant>, StoreError>;
    /// Mark the code used, atomically: of any number of concurrent callers exactly one
    /// gets [`Consumed::Now`].
    async fn consume_grant(
        &self,
        code_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Consumed<Grant>, StoreError>;
    /// Delete the code; `false` when there was none.
    async fn delete_grant(&self, id: Id) -> Result<bool, StoreError>;
    /// Exchange a code, in one transaction: consume it only if it is unconsumed and was
    /// issued to `application_id`, then write the ID token record (if any), the access token
    /// linked to it and the refresh token. All of it happens or none of it, so a replay that
    /// sees the code consumed and revokes its family finds every row of the winner.
    async fn redeem_grant(
        &self,
        grant_id: Id,
        application_id: Id,
        id_token: Option<NewIdToken>,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError>;
}

/// The outcome of [`GrantStore::redeem_grant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// This call consumed the code and wrote these rows (the tokens, the ID token record).
    Issued(Box<(IssuedTokens, Option<IdToken>)>),
    /// The code is consumed (by a concurrent call, or before), gone, or another
    /// application's: nothing was written.
    NotRedeemable,
}
