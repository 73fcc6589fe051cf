//! Device authorization grants (RFC 8628).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Device authorizations (RFC 8628).
#[async_trait]
pub trait DeviceGrantStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`] if the user code is taken (callers retry with a new one).
    async fn create_device_grant(
        &self,
        grant: NewDeviceGrant,
        now: OffsetDateTime,
    ) -> Result<DeviceGrant, StoreError>;
    /// The device authorization with this SHA-256 hex digest of its device code.
    async fn find_device_grant(
        &self,
        device_code_checksum: &str,
    ) -> Result<Option<DeviceGrant>, StoreError>;
    /// The device authorization with this user code (stored form, without the dash).
    async fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<DeviceGrant>, StoreError>;
    /// Move from `from` to `to` (setting the user), only if the status is still `from`.
    async fn transition_device_grant(
        &self,
        id: Id,
        from: DeviceGrantStatus,
        to: DeviceGrantStatus,
        user_id: Option<Id>,
    ) -> Result<bool, StoreError>;
    /// Take an authorized device grant for token issuance: deletes it, exactly once.
    async fn take_authorized_device_grant(
        &self,
        device_code_checksum: &str,
    ) -> Result<Option<DeviceGrant>, StoreError>;
    /// Bind a pending grant to the user who entered its code, atomically: true when it is
    /// now bound to `user_id` (it was unbound, or already theirs); false when it is bound to
    /// someone else, no longer pending, or gone. The first user to enter a code keeps it.
    async fn bind_device_grant(&self, id: Id, user_id: Id) -> Result<bool, StoreError>;
    /// RFC 8628 §3.5 polling rate, atomically: when at least the grant's `interval` has passed
    /// since `last_checked` (or it was never polled), set `last_checked = now` and answer
    /// [`DevicePoll::Accepted`]; otherwise set `last_checked = now`, grow `interval` by
    /// 5 seconds (never beyond `max_interval`) and answer [`DevicePoll::SlowDown`].
    async fn poll_device_grant(
        &self,
        id: Id,
        now: OffsetDateTime,
        max_interval: i64,
    ) -> Result<DevicePoll, StoreError>;
}

/// The outcome of [`DeviceGrantStore::poll_device_grant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// Polled no faster than the interval; recorded.
    Accepted,
    /// Too fast: the grant's interval (seconds) from now on.
    SlowDown {
        /// The grant's polling interval from now on, in seconds.
        interval: i64,
    },
    /// No such grant (any more).
    Missing,
}
