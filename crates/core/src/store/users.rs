//! The provider's own user table (also the link rows of an application's users).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// The provider's own user table.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Write a new user; [`StoreError::Conflict`] when the username is taken.
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> Result<User, StoreError>;
    /// The user with this row id.
    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError>;
    /// The user with this username (exact match).
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Replace the stored password hash (never a plaintext).
    async fn set_user_password(&self, id: Id, password_hash: &str) -> Result<(), StoreError>;
    /// Set `last_login` to `now`.
    async fn record_login(&self, id: Id, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Save `email`, `is_active`, `is_staff` and `password` of `user` (matched by id);
    /// `None` when there is no such user.
    async fn update_user(&self, user: &User) -> Result<Option<User>, StoreError>;
}
