use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::Id;

/// RFC 8628 device authorization state (DOT's `DeviceGrant.status` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceGrantStatus {
    AuthorizationPending,
    Authorized,
    Denied,
    Expired,
}

impl DeviceGrantStatus {
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
    pub id: Id,
    pub device_code_checksum: String,
    /// Unique while stored (DOT's is not, which turns collisions into 500s).
    pub user_code: String,
    pub scope: String,
    pub interval: i64,
    pub expires: OffsetDateTime,
    pub status: DeviceGrantStatus,
    pub client_id: String,
    pub user_id: Option<Id>,
    pub last_checked: Option<OffsetDateTime>,
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

#[derive(Clone)]
pub struct NewDeviceGrant {
    pub device_code: String,
    pub user_code: String,
    pub scope: String,
    pub interval: i64,
    pub expires: OffsetDateTime,
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
