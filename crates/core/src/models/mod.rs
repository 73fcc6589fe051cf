//! The data model, with DOT 3.x's fields and methods.

mod access_token;
mod application;
mod device_grant;
mod grant;
mod id_token;
mod refresh_token;
mod signing_key;
mod user;

pub use access_token::{stored_token, AccessToken, AccessTokenWithOwners, NewAccessToken};
pub use application::{
    Algorithm, Application, ApplicationError, ClientType, GrantType, NewApplication,
};
pub use device_grant::{DeviceGrant, DeviceGrantStatus, NewDeviceGrant};
pub use grant::{CodeChallengeMethod, Grant, NewGrant};
pub use id_token::{IdToken, NewIdToken};
pub use refresh_token::{NewRefreshToken, RefreshToken, RefreshTokenWithOwners};
pub use signing_key::{NewSigningKey, SigningKey};
pub use user::{validate_username, NewUser, User};

use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Database row ids.
pub type Id = i64;

/// DOT's `is_expired`: expired at and after `expires`.
pub(crate) fn is_expired(expires: OffsetDateTime, now: OffsetDateTime) -> bool {
    now >= expires
}

/// DOT's `scopes` property: name → description for the token's scopes that are configured.
pub(crate) fn describe_scopes(
    scope: &str,
    configured: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    crate::scopes::parse_scopes(scope)
        .into_iter()
        .filter_map(|s| configured.get(&s).map(|d| (s, d.clone())))
        .collect()
}

#[cfg(test)]
mod debug_tests;
