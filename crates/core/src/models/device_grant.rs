use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::Id;

/// RFC 8628 device authorization state (DOT's `DeviceGrant.status` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceGrantStatus {
    /// Waiting for the user to enter the code and decide.
    AuthorizationPending,
    /// The user approved; the next poll gets tokens.
    Authorized,
    /// The user refused.
    Denied,
    /// Past its lifetime; marked so by the first poll after `expires`.
    Expired,
}

impl DeviceGrantStatus {
    /// The stored value (`authorization-pending`, `authorized`, `denied` or `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceGrantStatus::AuthorizationPending => "authorization-pending",
            DeviceGrantStatus::Authorized => "authorized",
            DeviceGrantStatus::Denied => "denied",
            DeviceGrantStatus::Expired => "expired",
        }
    }
}

impl FromStr for DeviceGrantStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authorization-pending" => Ok(DeviceGrantStatus::AuthorizationPending),
            "authorized" => Ok(DeviceGrantStatus::Authorized),
            "denied" => Ok(DeviceGrantStatus::Denied),
            "expired" => Ok(DeviceGrantStatus::Expired),
            other => Err(format!("unknown device grant status `{other}`")),
        }
    }
}

impl fmt::Display for DeviceGrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 8628 device authorization. The device code is stored as its SHA-256 digest.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The row id.
    pub id: Id,
    /// SHA-256 hex digest of the device code (the lookup key; the plaintext is never stored).
    pub device_code_checksum: String,
    /// Unique while stored (DOT's is not, which turns collisions into 500s).
    pub user_code: String,
    /// The requested scopes, space-separated.
    pub scope: String,
    /// The minimum time between two polls, in seconds (grows on `slow_down`).
    pub interval: i64,
    /// When the device code and user code stop being accepted.
    pub expires: OffsetDateTime,
    /// Where the user's decision stands.
    pub status: DeviceGrantStatus,
    /// The `client_id` of the application that asked (not its row id).
    pub client_id: String,
    /// The user who entered the code; `None` until someone has.
    pub user_id: Option<Id>,
    /// When the device last polled the token endpoint; `None` before its first poll.
    pub last_checked: Option<OffsetDateTime>,
    /// When the row was written.
    pub created: OffsetDateTime,
}

impl std::fmt::Debug for DeviceGrant {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let DeviceGrant {
            id,
            device_code_checksum,
            user_code,
            scope,
            interval,
            expires,
            status,
            client_id,
            user_id,
            last_checked,
            created,
        } = self;
        f.debug_struct("DeviceGrant")
            .field("id", id)
            .field("device_code_checksum", device_code_checksum)
            .field("user_code", &crate::redact::Redacted(user_code))
            .field("scope", scope)
            .field("interval", interval)
            .field("expires", expires)
            .field("status", status)
            .field("client_id", client_id)
            .field("user_id", user_id)
            .field("last_checked", last_checked)
            .field("created", created)
            .finish()
    }
}

/// The fields of a device authorization to write; the store digests the device code and assigns
/// the id.
#[derive(Clone)]
pub struct NewDeviceGrant {
    /// The plaintext device code handed to the device; only its digest is stored.
    pub device_code: String,
    /// The code the user enters at the verification page, stored without the dash it is shown
    /// with.
    pub user_code: String,
    /// The requested scopes, space-separated.
    pub scope: String,
    /// The minimum time between two polls, in seconds.
    pub interval: i64,
    /// When the codes stop being accepted.
    pub expires: OffsetDateTime,
    /// The `client_id` of the application that asked.
    pub client_id: String,
}

impl std::fmt::Debug for NewDeviceGrant {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewDeviceGrant {
            device_code,
            user_code,
            scope,
            interval,
            expires,
            client_id,
        } = self;
        f.debug_struct("NewDeviceGrant")
            .field("device_code", &crate::redact::Redacted(device_code))
            .field("user_code", &crate::redact::Redacted(user_code))
            .field("scope", scope)
            .field("interval", interval)
            .field("expires", expires)
            .field("client_id", client_id)
            .finish()
    }
}

impl DeviceGrant {
    /// Expired when so marked or when `now >= expires`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.status == DeviceGrantStatus::Expired || super::is_expired(self.expires, now)
    }
}
