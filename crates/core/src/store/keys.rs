//! Shared secrets and OpenID Connect signing keys.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Server-wide secrets kept in the database so that every process shares them
/// (session cookie keys, and later signing keys).
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Return the secret named `name`, storing `candidate` first if there is none. Two
    /// processes racing both end up with the same value.
    async fn get_or_create_secret(&self, name: &str, candidate: &str)
        -> Result<String, StoreError>;
}

/// OpenID Connect signing keys (see [`crate::oidc::keys`]).
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every stored key, newest first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Add a key (rotation): it becomes the newest.
    async fn add_signing_key(
        &self,
        key: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<SigningKey, StoreError>;
    /// Store the deployment's first key unless another process stored one first (one
    /// conditional insert); either way the keys are then listed.
    async fn create_initial_signing_key(
        &self,
        key: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<Vec<SigningKey>, StoreError>;
    /// Delete the key `kid` (retirement; see [`crate::oidc::keys::retire_key`] for the
    /// checks). `false` when there is no such key.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
}
