//! Storage traits, one per concern, owned by the core. The `oauth-toolkit-store` crate
//! implements them with sqlx on SQLite and PostgreSQL; a library user can implement them
//! over their own tables.
//!
//! Every single-use step is one method, so an implementation can make it one conditional
//! statement (`UPDATE … WHERE consumed IS NULL RETURNING …`), never read-then-write.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::models::*;

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure. "Not found" is not an error (methods return `Option`), and the
/// cause of a real failure is kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what was duplicated.
    #[error("{0} already exists")]
    Conflict(String),
    /// A referenced row (user, application, token) does not exist.
    #[error("{0} does not exist")]
    MissingReference(String),
    /// A value the database cannot hold (e.g. a NUL byte in text on PostgreSQL).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The database cannot be reached or is overloaded (maps to 503).
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    /// Any other database failure.
    #[error("database error")]
    Backend(#[source] Cause),
}

/// The outcome of consuming a single-use item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed<T> {
    /// This call consumed it.
    Now(T),
    /// It had been consumed before (a replay).
    Already(T),
    /// No such item.
    Missing,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> Result<User, StoreError>;
    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError>;
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn set_user_password(&self, id: Id, password_hash: &str) -> Result<(), StoreError>;
    async fn record_login(&self, id: Id, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Save `email`, `is_active`, `is_staff` and `password` of `user` (matched by id);
    /// `None` when there is no such user.
    async fn update_user(&self, user: &User) -> Result<Option<User>, StoreError>;
}

/// Signed-in browser sessions, kept in the database so that ending one (logout, deactivation,
/// a new password) holds in every process and for every copy of its cookie.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Record a new session: the SHA-256 of its id, its user, when the user authenticated and
    /// when it stops being valid.
    async fn create_session(
        &self,
        sid_checksum: &str,
        user_id: Id,
        auth_time: OffsetDateTime,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The user of the live (unexpired) session with this id checksum, in one statement.
    async fn find_session_user(
        &self,
        sid_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;
    /// End one session; `false` when there was none.
    async fn delete_session(&self, sid_checksum: &str) -> Result<bool, StoreError>;
    /// End every session of a user (deactivation, a new password). Returns how many went.
    async fn delete_user_sessions(&self, user_id: Id) -> Result<u64, StoreError>;
}

/// The attempts counted under one throttle key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleWindow {
    pub attempts: i64,
    /// When the window closes (attempts are forgotten then).
    pub window_end: OffsetDateTime,
}

/// Counters of attempts (failed sign-ins, user codes, client secrets) shared by every process;
/// see [`crate::throttle`].
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Count one attempt under `key`, atomically: a window of `window_seconds` opens at `now`
    /// when none is open. Returns the count including this attempt.
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_seconds: i64,
    ) -> Result<ThrottleWindow, StoreError>;
    /// The open window of `key`, if any (a read: counts nothing).
    async fn attempts(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ThrottleWindow>, StoreError>;
    /// Forget `key` (a success resets the count).
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn create_application(
        &self,
        app: NewApplication,
        now: OffsetDateTime,
    ) -> Result<Application, StoreError>;
    async fn get_application(&self, id: Id) -> Result<Option<Application>, StoreError>;
    async fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError>;
    async fn list_applications_for_user(&self, user_id: Id)
        -> Result<Vec<Application>, StoreError>;
    /// Save every editable field of `app` (matched by id); returns the stored row.
    async fn update_application(
        &self,
        app: &Application,
        now: OffsetDateTime,
    ) -> Result<Option<Application>, StoreError>;
    /// Delete an application and (by cascade) its grants and tokens.
    async fn delete_application(&self, id: Id) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn create_grant(&self, grant: NewGrant, now: OffsetDateTime)
        -> Result<Grant, StoreError>;
    async fn find_grant(&self, code_checksum: &str) -> Result<Option<Grant>, StoreError>;
    /// Mark the code used, atomically: of any number of concurrent callers exactly one
    /// gets [`Consumed::Now`].
    async fn consume_grant(
        &self,
        code_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Consumed<Grant>, StoreError>;
    async fn delete_grant(&self, id: Id) -> Result<bool, StoreError>;
    /// Exchange a code, in one transaction: consume it only if it is unconsumed and was
    /// issued to `application_id`, then write the ID token record (if any), the access token
    /// linked to it and the refresh token. All of it happens or none of it, so a replay that
    /// sees the code consumed and revokes its family finds every row of the winner.
    async fn redeem_grant(
        &self,
        grant_id: Id,
        application_id: Id,
        id_token: Option<NewIdToken>,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError>;
}

/// The outcome of [`GrantStore::redeem_grant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// This call consumed the code and wrote these rows (the tokens, the ID token record).
    Issued(Box<(IssuedTokens, Option<IdToken>)>),
    /// The code is consumed (by a concurrent call, or before), gone, or another
    /// application's: nothing was written.
    NotRedeemable,
}

/// The outcome of [`TokenStore::rotate_refresh_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This call rotated it: the new access and refresh tokens.
    Rotated(Box<(AccessToken, RefreshToken)>),
    /// It was revoked before (a replay, or a concurrent rotation won).
    AlreadyRevoked,
    /// No such refresh token.
    Missing,
}

/// What an issuance wrote: the access token and, when one was asked for, its refresh token.
pub type IssuedTokens = (AccessToken, Option<RefreshToken>);

/// The rows one token issuance writes together. The refresh token's `access_token_id` is
/// ignored: it is bound to the access token created with it.
#[derive(Debug, Clone)]
pub struct NewTokenPair {
    pub access: NewAccessToken,
    pub refresh: Option<NewRefreshToken>,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Write an access token and (optionally) its refresh token in one transaction.
    async fn issue_tokens(
        &self,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, StoreError>;
    /// Rotation in one transaction: claim `old_refresh_id` if still live (else
    /// [`Rotation::AlreadyRevoked`] / [`Rotation::Missing`] and nothing is written), delete its access
    /// token, and write `pair` with the new access token's `source_refresh_token_id` set to
    /// the old refresh token.
    async fn rotate_refresh_token(
        &self,
        old_refresh_id: Id,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError>;
    /// Refresh without rotation (DOT): give the existing access token row a new value,
    /// expiry and scope, so the old value stops working at once.
    #[allow(clippy::too_many_arguments)]
    async fn replace_access_token(
        &self,
        access_token_id: Id,
        token: &str,
        token_checksum: &str,
        expires: OffsetDateTime,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AccessToken>, StoreError>;
    /// The access token minted by rotating this refresh token, if it still exists.
    async fn find_access_token_by_source(
        &self,
        refresh_token_id: Id,
    ) -> Result<Option<AccessToken>, StoreError>;
    /// The refresh token bound to this access token.
    async fn find_refresh_token_by_access_token(
        &self,
        access_token_id: Id,
    ) -> Result<Option<RefreshToken>, StoreError>;
    /// Unexpired access tokens of a user for an application (`approval_prompt=auto`).
    async fn list_live_access_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessToken>, StoreError>;

    async fn create_access_token(
        &self,
        token: NewAccessToken,
        now: OffsetDateTime,
    ) -> Result<AccessToken, StoreError>;
    async fn get_access_token(&self, id: Id) -> Result<Option<AccessToken>, StoreError>;
    async fn find_access_token(&self, checksum: &str) -> Result<Option<AccessToken>, StoreError>;
    /// The user's access tokens (any expiry), newest first.
    async fn list_access_tokens_for_user(
        &self,
        user_id: Id,
    ) -> Result<Vec<AccessToken>, StoreError>;
    /// DOT's `AccessToken.revoke()`: delete the row.
    async fn delete_access_token(&self, id: Id) -> Result<bool, StoreError>;
    /// DOT's `revoke_access_token`: revoke the refresh token bound to it if any (which
    /// deletes the access token), else delete the access token. One transaction.
    async fn revoke_access_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError>;

    async fn create_refresh_token(
        &self,
        token: NewRefreshToken,
        now: OffsetDateTime,
    ) -> Result<RefreshToken, StoreError>;
    async fn get_refresh_token(&self, id: Id) -> Result<Option<RefreshToken>, StoreError>;
    async fn find_refresh_token(&self, checksum: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Bind a refresh token to (another) access token.
    async fn set_refresh_token_access_token(
        &self,
        id: Id,
        access_token_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// DOT's `RefreshToken.revoke()`: atomically mark it revoked, unbind and delete its
    /// access token. Returns false when it was already revoked (a no-op).
    async fn revoke_refresh_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// The single-use step of rotation: mark revoked only if still live, atomically.
    /// Of concurrent callers exactly one gets [`Consumed::Now`]; its access token is kept
    /// (the caller decides, e.g. for the grace period).
    async fn claim_refresh_token(
        &self,
        id: Id,
        now: OffsetDateTime,
    ) -> Result<Consumed<RefreshToken>, StoreError>;
    /// DOT's `revoke_family`: revoke every live refresh token of the family and delete every
    /// access token of the family or bound to one of its refresh tokens, and the ID token
    /// records linked to those access tokens, in one transaction. Returns the number of
    /// refresh tokens revoked.
    async fn revoke_token_family(
        &self,
        family: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait IdTokenStore: Send + Sync {
    async fn create_id_token(
        &self,
        token: NewIdToken,
        now: OffsetDateTime,
    ) -> Result<IdToken, StoreError>;
    async fn find_id_token_by_jti(&self, jti: Uuid) -> Result<Option<IdToken>, StoreError>;
    /// Unexpired ID tokens of a user for an application: the consent record of
    /// `response_type=id_token`, which issues no access token.
    async fn list_live_id_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<IdToken>, StoreError>;
    async fn get_id_token(&self, id: Id) -> Result<Option<IdToken>, StoreError>;
    /// RP-initiated logout: delete the user's ID tokens and access tokens of one application
    /// and revoke the refresh tokens bound to them, in one transaction. Returns how many
    /// access tokens went.
    async fn delete_user_tokens_for_application(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Delete the record; the access token linked to it goes too (DOT's cascade).
    async fn delete_id_token(&self, id: Id) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait DeviceGrantStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`] if the user code is taken (callers retry with a new one).
    async fn create_device_grant(
        &self,
        grant: NewDeviceGrant,
        now: OffsetDateTime,
    ) -> Result<DeviceGrant, StoreError>;
    async fn find_device_grant(
        &self,
        device_code_checksum: &str,
    ) -> Result<Option<DeviceGrant>, StoreError>;
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
    SlowDown { interval: i64 },
    /// No such grant (any more).
    Missing,
}

/// Server-wide secrets kept in the database so that every process shares them
/// (session cookie keys, and later signing keys).
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Return the secret named `name`, storing `candidate` first if there is none. Two
    /// processes racing both end up with the same value.
    async fn get_or_create_secret(&self, name: &str, candidate: &str)
        -> Result<String, StoreError>;
}

/// OpenID Connect signing keys (see [`crate::oidc::keys`]).
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every stored key, newest first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Add a key (rotation): it becomes the newest.
    async fn add_signing_key(
        &self,
        key: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<SigningKey, StoreError>;
    /// Store the deployment's first key unless another process stored one first (one
    /// conditional insert); either way the keys are then listed.
    async fn create_initial_signing_key(
        &self,
        key: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<Vec<SigningKey>, StoreError>;
    /// Delete the key `kid` (retirement; see [`crate::oidc::keys::retire_key`] for the
    /// checks). `false` when there is no such key.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
}

/// Batched deletion for `cleartokens` (see [`crate::clear_expired`]).
#[async_trait]
pub trait CleanupStore: Send + Sync {
    /// Delete at most `limit` rows matching `step` under `plan` whose id is above `after_id`,
    /// lowest ids first. Returns how many went and the highest id deleted, which the caller
    /// passes as the next `after_id` (a keyset walk: no batch rescans what earlier ones
    /// deleted, which PostgreSQL would otherwise wade through as dead tuples).
    async fn delete_expired_batch(
        &self,
        step: crate::clear_expired::ClearStep,
        plan: &crate::clear_expired::ClearExpiredPlan,
        after_id: Id,
        limit: u64,
    ) -> Result<(u64, Option<Id>), StoreError>;
    /// True when one writer locks the whole database (SQLite): `cleartokens` then paces its
    /// batches so that other writers get in between (see `clear_expired`).
    fn single_writer(&self) -> bool {
        false
    }
}

/// Everything the provider stores.
#[async_trait]
pub trait Store:
    UserStore
    + ApplicationStore
    + GrantStore
    + TokenStore
    + IdTokenStore
    + DeviceGrantStore
    + SecretStore
    + SigningKeyStore
    + CleanupStore
    + SessionStore
    + ThrottleStore
    + Send
    + Sync
{
    /// A cheap round trip to check the database answers (`/health`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// "sqlite" or "postgres", for logs.
    fn backend_name(&self) -> &'static str;

    /// The access token with this checksum and the application and user rows it names, for
    /// the hot paths (bearer validation, introspection). The default reads them one by one;
    /// the sqlx store answers with a single statement (a join).
    async fn find_access_token_with_owners(
        &self,
        checksum: &str,
    ) -> Result<Option<AccessTokenWithOwners>, StoreError> {
        let Some(token) = self.find_access_token(checksum).await? else {
            return Ok(None);
        };
        let application = match token.application_id {
            Some(id) => self.get_application(id).await?,
            None => None,
        };
        let user = match token.user_id {
            Some(id) => self.get_user(id).await?,
            None => None,
        };
        Ok(Some(AccessTokenWithOwners {
            token,
            application,
            user,
        }))
    }
}
