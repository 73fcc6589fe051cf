//! What the operator's commands read (`stats`, `audittokens`, `health`, `revoketokens
//! --dry-run`): counts over whole tables. These are scans, acceptable for a command run by
//! hand or by cron, never on the request path. Also the maintenance of
//! `cleanupapplications` (inactive applications) and `migratescopes` (renaming a scope in
//! stored rows, in batches).
//!
//! "Live" is as [`AdminQuery::live`](super::AdminQuery::live) says: access tokens, ID tokens
//! and device grants unexpired (`expires > now`; device grants also pending or authorized),
//! refresh tokens not revoked, grants unexpired and not consumed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Row counts of the whole database at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Registered applications.
    pub applications: u64,
    /// Applications with at least one live access token.
    pub applications_with_live_access_tokens: u64,
    /// Applications per client type (`confidential`, `public`; every type, 0 included).
    pub applications_by_client_type: BTreeMap<String, u64>,
    /// Applications per grant type (as `authorization_grant_type` spells it; every type, 0
    /// included).
    pub applications_by_grant_type: BTreeMap<String, u64>,
    /// Access tokens, expired ones included (until `cleartokens` deletes them).
    pub access_tokens: u64,
    /// Unexpired access tokens.
    pub live_access_tokens: u64,
    /// Access tokens created in the hour before `now`.
    pub access_tokens_last_hour: u64,
    /// Refresh tokens.
    pub refresh_tokens: u64,
    /// Refresh tokens not revoked.
    pub live_refresh_tokens: u64,
    /// Refresh tokens revoked (kept for reuse detection until `cleartokens`).
    pub revoked_refresh_tokens: u64,
    /// Authorization codes.
    pub grants: u64,
    /// Unexpired, unconsumed authorization codes.
    pub live_grants: u64,
    /// ID token records.
    pub id_tokens: u64,
    /// Unexpired ID token records.
    pub live_id_tokens: u64,
    /// Device grants.
    pub device_grants: u64,
    /// Unexpired device grants still pending or authorized.
    pub live_device_grants: u64,
}

/// One application and its number of live access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationTokenCount {
    /// The application's client id.
    pub client_id: String,
    /// Its name ("" when it has none).
    pub name: String,
    /// Its live access tokens.
    pub live_access_tokens: u64,
}

/// Long-lived tokens, and who holds the most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAudit {
    /// Live access tokens created before the cutoff.
    pub live_access_tokens_older: u64,
    /// Live (not revoked) refresh tokens created before the cutoff.
    pub live_refresh_tokens_older: u64,
    /// The applications with the most live access tokens, most first, then by client id;
    /// applications without any are not listed.
    pub top_applications: Vec<ApplicationTokenCount>,
}

/// Why `cleanupapplications` keeps an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeepReason {
    /// A live access, refresh or ID token, a live code or a live device grant.
    LiveTokens,
    /// An access or refresh token created since the cutoff (live or not).
    RecentTokens,
    /// The application itself was registered since the cutoff.
    RecentlyCreated,
}

impl KeepReason {
    /// As the command reports it: `live tokens`, `recent tokens`, `recently created`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeepReason::LiveTokens => "live tokens",
            KeepReason::RecentTokens => "recent tokens",
            KeepReason::RecentlyCreated => "recently created",
        }
    }

    /// The reason as [`as_str`](Self::as_str) spells it.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::LiveTokens, Self::RecentTokens, Self::RecentlyCreated]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One application as `cleanupapplications` judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationActivity {
    /// The application's id.
    pub id: Id,
    /// Its client id.
    pub client_id: String,
    /// Its name ("" when it has none).
    pub name: String,
    /// Why it is kept; `None`: inactive, to be deleted.
    pub keep: Option<KeepReason>,
}

/// The rows that carry a `scope` column, as `migratescopes` renames them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRows {
    /// Every access token (expired ones too, until `cleartokens`).
    AccessTokens,
    /// Every ID token record.
    IdTokens,
    /// Authorization codes not yet consumed.
    Grants,
    /// Device grants still pending or authorized.
    DeviceGrants,
}

impl ScopeRows {
    /// Every kind, in the order the command works through them.
    pub const ALL: [ScopeRows; 4] = [
        ScopeRows::AccessTokens,
        ScopeRows::IdTokens,
        ScopeRows::Grants,
        ScopeRows::DeviceGrants,
    ];
}

/// `scope` (space-separated tokens) with the whole token `old` replaced by `new`, or `None`
/// when `old` is not one of its tokens. A `new` already present is not repeated (`old` is
/// dropped instead); the order of the other tokens is kept, runs of spaces become one.
pub fn rename_scope(scope: &str, old: &str, new: &str) -> Option<String> {
    let tokens: Vec<&str> = scope.split_whitespace().collect();
    if !tokens.contains(&old) {
        return None;
    }
    let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
    for t in tokens {
        let t = if t == old { new } else { t };
        if !(t == new && out.contains(&new)) {
            out.push(t);
        }
    }
    Some(out.join(" "))
}

/// Counts for the operator's commands. Optional for a store a library user brings:
/// [`Store::operations`](super::Store::operations) returns `None` by default and the
/// commands then say that the store does not offer them.
#[async_trait]
pub trait OperationsStore: Send + Sync {
    /// Row counts, live judged at `now`. Read-only.
    async fn stats(&self, now: OffsetDateTime) -> Result<Stats, StoreError>;

    /// Live access and refresh tokens created before `older_than`, and the `top`
    /// applications by live access tokens. Read-only.
    async fn audit_tokens(
        &self,
        now: OffsetDateTime,
        older_than: OffsetDateTime,
        top: u32,
    ) -> Result<TokenAudit, StoreError>;

    /// What [`AdminStore::revoke_user_tokens`] would revoke now, for the same arguments
    /// (the same rows: the same conditions), without changing anything.
    async fn count_user_tokens(
        &self,
        user_id: Id,
        application_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<RevokedCounts, StoreError>;

    /// Every application, oldest first, with why `cleanupapplications` would keep it: a live
    /// token, code or device grant at `now` ([`KeepReason::LiveTokens`]), else an access or
    /// refresh token created at or after `created_before` ([`KeepReason::RecentTokens`]),
    /// else registered at or after `created_before` ([`KeepReason::RecentlyCreated`]).
    /// Read-only.
    async fn application_activity(
        &self,
        now: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<Vec<ApplicationActivity>, StoreError>;

    /// Delete application `id` (its tokens and codes with it) if it has no reason to be kept
    /// (as [`application_activity`](Self::application_activity) judges), the check and the
    /// delete in one statement. `false`: kept (or no such application).
    async fn delete_application_if_inactive(
        &self,
        id: Id,
        now: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` rows of `rows` with id greater than `after_id` whose scope may contain
    /// the token `scope` (a prefilter: the caller checks whole tokens), as `(id, scope)` by
    /// id. Read-only.
    async fn scope_rows(
        &self,
        rows: ScopeRows,
        scope: &str,
        after_id: Id,
        limit: u64,
    ) -> Result<Vec<(Id, String)>, StoreError>;

    /// Set the scope of each `(id, old, new)` row of `rows` to `new` where it still is
    /// `old`, in one transaction. Rows changed.
    async fn replace_scopes(
        &self,
        rows: ScopeRows,
        changes: &[(Id, String, String)],
    ) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::rename_scope;

    #[test]
    fn renames_whole_tokens() {
        assert_eq!(
            rename_scope("read write", "read", "view"),
            Some("view write".into())
        );
        assert_eq!(rename_scope("readonly write", "read", "view"), None);
        assert_eq!(
            rename_scope("read view", "read", "view"),
            Some("view".into())
        );
        assert_eq!(
            rename_scope("view  read", "read", "view"),
            Some("view".into())
        );
        assert_eq!(rename_scope("read", "read", "view"), Some("view".into()));
        assert_eq!(rename_scope("", "read", "view"), None);
    }
}
