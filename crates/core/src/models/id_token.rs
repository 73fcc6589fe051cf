use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// The record of an issued ID token (the JWT itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken {
    pub id: Id,
    pub user_id: Option<Id>,
    pub application_id: Option<Id>,
    pub jti: Uuid,
    pub expires: OffsetDateTime,
    pub scope: String,
    /// The authentication this token reported (kept for the ID tokens of refreshes).
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (`sid`), empty when unknown.
    pub sid: String,
    /// The OIDC `claims` request (JSON object, `{}` when none), for userinfo.
    pub claims: String,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewIdToken {
    pub user_id: Option<Id>,
    pub application_id: Option<Id>,
    pub jti: Uuid,
    pub expires: OffsetDateTime,
    pub scope: String,
    pub auth_time: Option<OffsetDateTime>,
    pub sid: String,
    pub claims: String,
}

impl IdToken {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        super::is_expired(self.expires, now)
    }

    pub fn allow_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        crate::scopes::allow_scopes(&self.scope, scopes)
    }

    pub fn is_valid<S: AsRef<str>>(&self, scopes: &[S], now: OffsetDateTime) -> bool {
        !self.is_expired(now) && self.allow_scopes(scopes)
    }

    pub fn scopes(&self, configured: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        super::describe_scopes(&self.scope, configured)
    }
}
