//! Records of issued OpenID Connect ID tokens.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::models::*;

/// The records of issued ID tokens.
#[async_trait]
pub trait IdTokenStore: Send + Sync {
    /// Write the record of an ID token.
    async fn create_id_token(
        &self,
        token: NewIdToken,
        now: OffsetDateTime,
    ) -> Result<IdToken, StoreError>;
    /// The record with this `jti`.
    async fn find_id_token_by_jti(&self, jti: Uuid) -> Result<Option<IdToken>, StoreError>;
    /// Unexpired ID tokens of a user for an application: the consent record of
    /// `response_type=id_token`, which issues no access token.
    async fn list_live_id_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<IdToken>, StoreError>;
    /// The record with this row id.
    async fn get_id_token(&self, id: Id) -> Result<Option<IdToken>, StoreError>;
    /// RP-initiated logout: delete the user's ID tokens and access tokens of one application
    /// and revoke the refresh tokens bound to them, in one transaction. Returns how many
    /// access tokens went.
    async fn delete_user_tokens_for_application(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Delete the record; the access token linked to it goes too (DOT's cascade).
    async fn delete_id_token(&self, id: Id) -> Result<bool, StoreError>;
}
