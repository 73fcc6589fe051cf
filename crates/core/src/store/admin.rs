//! What the staff admin reads and does in bulk: pages of rows, newest first.
//!
//! Pages are keyset pages (`id < before_id ORDER BY id DESC LIMIT n`), so a page costs the
//! same on the millionth row as on the first, and nothing counts the whole table. The token
//! lists filtered by state are ordered by expiry instead, which their `expires` index serves. Filters
//! are on indexed columns (user, application); the text search is for the tables people
//! type names into (applications, users). Searching tokens by username or client id is the
//! caller's job: it resolves the name to an id first and filters by that.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// Longest page the admin asks for.
pub const ADMIN_PAGE_MAX: u32 = 200;

/// Which rows of one admin list to read. `Default` is the first page of everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminQuery {
    /// Only rows of this user (applications: the owner).
    pub user_id: Option<Id>,
    /// Only rows of this application (device grants: of its client id).
    pub application_id: Option<Id>,
    /// Case-insensitive substring: of the name or client id (applications), of the username
    /// or email (users). Ignored by the other lists.
    pub text: Option<String>,
    /// `Some(true)`: only live rows (unexpired; refresh tokens: not revoked; grants: not
    /// consumed; users: active). `Some(false)`: only the others. Ignored by signing keys.
    pub live: Option<bool>,
    /// Applications: only this client type.
    pub client_type: Option<ClientType>,
    /// Applications: only this grant type.
    pub grant_type: Option<GrantType>,
    /// Users: only staff (`true`) or only non-staff (`false`).
    pub staff: Option<bool>,
    /// Only rows whose id is below this one (the last id of the previous page).
    pub before_id: Option<Id>,
    /// Access tokens and ID tokens filtered by `live` alone (no user, no application) are
    /// listed by expiry, latest first, then by id, so that "expired" does not walk every live
    /// row: such a page continues after the row (`before_expires`, `before_id`) of the
    /// previous one. Ignored by the other lists.
    pub before_expires: Option<OffsetDateTime>,
    /// Page length, at most [`ADMIN_PAGE_MAX`] (larger values are clamped).
    pub limit: u32,
    /// The time `live` is judged at.
    pub now: Option<OffsetDateTime>,
}

/// What revoking all of a user's tokens removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevokedCounts {
    /// Access tokens deleted.
    pub access_tokens: u64,
    /// Refresh tokens marked revoked (they were live).
    pub refresh_tokens: u64,
    /// Unconsumed authorization codes deleted.
    pub grants: u64,
    /// ID token records deleted.
    pub id_tokens: u64,
    /// Pending or authorized device grants set to denied.
    pub device_grants: u64,
}

/// The staff admin's reads and bulk actions. Optional for a store a library user brings:
/// [`Store::admin`](super::Store::admin) returns `None` by default and the admin pages then
/// say that the store does not offer them.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// A page of applications, newest first.
    async fn admin_applications(&self, q: &AdminQuery) -> Result<Vec<Application>, StoreError>;
    /// A page of users, newest first.
    async fn admin_users(&self, q: &AdminQuery) -> Result<Vec<User>, StoreError>;
    /// A page of access tokens, newest first.
    async fn admin_access_tokens(&self, q: &AdminQuery) -> Result<Vec<AccessToken>, StoreError>;
    /// A page of refresh tokens, newest first.
    async fn admin_refresh_tokens(&self, q: &AdminQuery) -> Result<Vec<RefreshToken>, StoreError>;
    /// A page of authorization codes, newest first.
    async fn admin_grants(&self, q: &AdminQuery) -> Result<Vec<Grant>, StoreError>;
    /// A page of ID token records, newest first.
    async fn admin_id_tokens(&self, q: &AdminQuery) -> Result<Vec<IdToken>, StoreError>;
    /// A page of device grants, newest first.
    async fn admin_device_grants(&self, q: &AdminQuery) -> Result<Vec<DeviceGrant>, StoreError>;
    /// A page of signing keys, newest first.
    async fn admin_signing_keys(&self, q: &AdminQuery) -> Result<Vec<SigningKey>, StoreError>;

    /// The authorization code with this row id.
    async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError>;
    /// The device grant with this row id.
    async fn get_device_grant(&self, id: Id) -> Result<Option<DeviceGrant>, StoreError>;
    /// The signing key with this row id.
    async fn get_signing_key(&self, id: Id) -> Result<Option<SigningKey>, StoreError>;
    /// Delete a device grant; `false` when there was none.
    async fn delete_device_grant(&self, id: Id) -> Result<bool, StoreError>;
    /// Delete a user and (by cascade) everything of theirs; `false` when there was none.
    async fn delete_user(&self, id: Id) -> Result<bool, StoreError>;

    /// In one transaction: revoke every live refresh token of the user (of one application
    /// when given), delete their access tokens, ID token records and unconsumed codes, and
    /// deny their pending or authorized device grants. Revoked rows stop working at once in
    /// every process, since every check reads the database.
    async fn revoke_user_tokens(
        &self,
        user_id: Id,
        application_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<RevokedCounts, StoreError>;
}
