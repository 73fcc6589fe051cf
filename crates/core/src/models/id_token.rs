use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// The record of an issued ID token (the JWT itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken {
    /// The row id.
    pub id: Id,
    /// The user the token is about.
    pub user_id: Option<Id>,
    /// The application it was issued to (its client id is the `aud`).
    pub application_id: Option<Id>,
    /// The token's `jti` claim.
    pub jti: Uuid,
    /// When the token expires (its `exp` claim).
    pub expires: OffsetDateTime,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The authentication this token reported (kept for the ID tokens of refreshes).
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (`sid`), empty when unknown.
    pub sid: String,
    /// The OIDC `claims` request (JSON object, `{}` when none), for userinfo.
    pub claims: String,
    /// When the row was written.
    pub created: OffsetDateTime,
    /// When the row was last changed.
    pub updated: OffsetDateTime,
}

/// The fields of an ID token record to write; the store assigns the id and timestamps.
#[derive(Debug, Clone)]
pub struct NewIdToken {
    /// The user the token is about.
    pub user_id: Option<Id>,
    /// The application it is issued to (its client id is the `aud`).
    pub application_id: Option<Id>,
    /// The token's `jti` claim.
    pub jti: Uuid,
    /// When the token expires (its `exp` claim).
    pub expires: OffsetDateTime,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// When the user really authenticated (OIDC `auth_time`), if known.
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (`sid`), empty when unknown.
    pub sid: String,
    /// The OIDC `claims` request (JSON object, `{}` when none), for userinfo.
    pub claims: String,
}

impl IdToken {
    /// Expired at and after `expires`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        super::is_expired(self.expires, now)
    }

    /// Whether every scope in `scopes` was granted.
    pub fn allow_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        crate::scopes::allow_scopes(&self.scope, scopes)
    }

    /// Not expired and every scope in `scopes` granted.
    pub fn is_valid<S: AsRef<str>>(&self, scopes: &[S], now: OffsetDateTime) -> bool {
        !self.is_expired(now) && self.allow_scopes(scopes)
    }

    /// Name → description of the granted scopes that are configured.
    pub fn scopes(&self, configured: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        super::describe_scopes(&self.scope, configured)
    }
}
