//! What the operator's commands read (`stats`, `audittokens`, `health`, `revoketokens
//! --dry-run`): counts over whole tables. These are scans, acceptable for a command run by
//! hand or by cron, never on the request path.
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
}
