//! Signed-in browser sessions and the throttles' failure counters.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Signed-in browser sessions, kept in the database so that ending one (logout, deactivation,
/// a new password) holds in every process and for every copy of its cookie.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Record a new session: the SHA-256 of its id, its user, when the user authenticated and
    /// when it stops being valid.
    async fn create_session(
        &self,
        sid_checksum: &str,
        user_id: Id,
        auth_time: OffsetDateTime,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The user of the live (unexpired) session with this id checksum, in one statement.
    async fn find_session_user(
        &self,
        sid_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;
    /// End one session; `false` when there was none.
    async fn delete_session(&self, sid_checksum: &str) -> Result<bool, StoreError>;
    /// End every session of a user (deactivation, a new password). Returns how many went.
    async fn delete_user_sessions(&self, user_id: Id) -> Result<u64, StoreError>;
}

/// The attempts counted under one throttle key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleWindow {
    /// How many attempts were counted in the window.
    pub attempts: i64,
    /// When the window closes (attempts are forgotten then).
    pub window_end: OffsetDateTime,
}

/// Counters of attempts (failed sign-ins, user codes, client secrets) shared by every process;
/// see [`crate::throttle`].
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Count one attempt under `key`, atomically: a window of `window_seconds` opens at `now`
    /// when none is open. Returns the count including this attempt.
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_seconds: i64,
    ) -> Result<ThrottleWindow, StoreError>;
    /// The open window of `key`, if any (a read: counts nothing).
    async fn attempts(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ThrottleWindow>, StoreError>;
    /// Forget `key` (a success resets the count).
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError>;
}
