use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// An issued bearer token. Looked up by `token_checksum`; `token` is blank when only
/// digests are stored (`compliant_bcp_rfc9700_token_storage`).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The row id.
    pub id: Id,
    /// The user the token was issued to; `None` for a client-credentials token, which acts for the
    /// application itself.
    pub user_id: Option<Id>,
    /// The refresh token whose rotation minted this token, if it was minted that way.
    pub source_refresh_token_id: Option<Id>,
    /// The plaintext value, or blank when only digests are stored.
    pub token: String,
    /// SHA-256 hex digest of the plaintext value (the lookup key).
    pub token_checksum: String,
    /// The ID token issued together with this token, if any.
    pub id_token_id: Option<Id>,
    /// The application the token was issued to.
    pub application_id: Option<Id>,
    /// When the token stops being valid.
    pub expires: OffsetDateTime,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
    /// Shared by every token from one consent or refresh chain (revoke a grant in one statement).
    pub token_family: Option<Uuid>,
    /// When the row was written.
    pub created: OffsetDateTime,
    /// When the row was last changed (a refresh without rotation gives it a new value).
    pub updated: OffsetDateTime,
}

impl std::fmt::Debug for AccessToken {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let AccessToken {
            id,
            user_id,
            source_refresh_token_id,
            token,
            token_checksum,
            id_token_id,
            application_id,
            expires,
            scope,
            resource,
            token_family,
            created,
            updated,
        } = self;
        f.debug_struct("AccessToken")
            .field("id", id)
            .field("user_id", user_id)
            .field("source_refresh_token_id", source_refresh_token_id)
            .field("token", &crate::redact::Redacted(token))
            .field("token_checksum", token_checksum)
            .field("id_token_id", id_token_id)
            .field("application_id", application_id)
            .field("expires", expires)
            .field("scope", scope)
            .field("resource", resource)
            .field("token_family", token_family)
            .field("created", created)
            .field("updated", updated)
            .finish()
    }
}

/// An access token with the application and user rows it names, read together (one
/// statement in the sqlx store) for bearer validation and introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenWithOwners {
    /// The access token row.
    pub token: AccessToken,
    /// `None` when the token names no application, or names one that no longer exists.
    pub application: Option<super::Application>,
    /// `None` when the token names no user, or names one that no longer exists.
    pub user: Option<super::User>,
}

/// The fields of an access token to write; the store assigns the id and timestamps.
#[derive(Clone)]
pub struct NewAccessToken {
    /// The user the token is for; `None` for a client-credentials token.
    pub user_id: Option<Id>,
    /// The refresh token whose rotation minted this token, if any.
    pub source_refresh_token_id: Option<Id>,
    /// The stored token column: the plaintext, or blank when only digests are stored.
    pub token: String,
    /// SHA-256 hex of the plaintext (the lookup key).
    pub token_checksum: String,
    /// The ID token issued together with this token, if any.
    pub id_token_id: Option<Id>,
    /// The application the token is issued to.
    pub application_id: Option<Id>,
    /// When the token stops being valid.
    pub expires: OffsetDateTime,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
    /// The family of the consent or refresh chain the token belongs to.
    pub token_family: Option<Uuid>,
}

impl std::fmt::Debug for NewAccessToken {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewAccessToken {
            user_id,
            source_refresh_token_id,
            token,
            token_checksum,
            id_token_id,
            application_id,
            expires,
            scope,
            resource,
            token_family,
        } = self;
        f.debug_struct("NewAccessToken")
            .field("user_id", user_id)
            .field("source_refresh_token_id", source_refresh_token_id)
            .field("token", &crate::redact::Redacted(token))
            .field("token_checksum", token_checksum)
            .field("id_token_id", id_token_id)
            .field("application_id", application_id)
            .field("expires", expires)
            .field("scope", scope)
            .field("resource", resource)
            .field("token_family", token_family)
            .finish()
    }
}

impl AccessToken {
    /// DOT's `is_expired`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        super::is_expired(self.expires, now)
    }

    /// DOT's `allow_scopes`.
    pub fn allow_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        crate::scopes::allow_scopes(&self.scope, scopes)
    }

    /// DOT's `is_valid(scopes)`: not expired and the scopes are granted.
    pub fn is_valid<S: AsRef<str>>(&self, scopes: &[S], now: OffsetDateTime) -> bool {
        !self.is_expired(now) && self.allow_scopes(scopes)
    }

    /// DOT's `scopes` property.
    pub fn scopes(&self, configured: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        super::describe_scopes(&self.scope, configured)
    }
}

/// The stored forms of a plaintext token: (token column, checksum). With digest-only
/// storage the token column is left blank.
pub fn stored_token(plaintext: &str, store_plaintext: bool) -> (String, String) {
    let checksum = crate::token_checksum::token_checksum(plaintext);
    let column = if store_plaintext {
        plaintext.to_string()
    } else {
        String::new()
    };
    (column, checksum)
}
