//! Storage traits, one per concern, owned by the core. The `oauth-toolkit-store` crate
//! implements them with sqlx on SQLite and PostgreSQL; a library user can implement them
//! over their own tables.
//!
//! Every single-use step is one method, so an implementation can make it one conditional
//! statement (`UPDATE … WHERE consumed IS NULL RETURNING …`), never read-then-write.

mod admin;
mod applications;
mod cleanup;
mod device;
mod grants;
mod id_tokens;
mod keys;
mod operations;
mod sessions;
mod tokens;
mod users;

pub use admin::*;
pub use applications::*;
pub use cleanup::*;
pub use device::*;
pub use grants::*;
pub use id_tokens::*;
pub use keys::*;
pub use operations::*;
pub use sessions::*;
pub use tokens::*;
pub use users::*;

use async_trait::async_trait;

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

    /// The staff admin's reads and bulk actions, when this store offers them (the bundled
    /// stores do). `None` by default, so a store a library user brings need not.
    fn admin(&self) -> Option<&dyn AdminStore> {
        None
    }

    /// The counts of the operator's commands (`stats`, `audittokens`, `health`,
    /// `revoketokens --dry-run`), when this store offers them (the bundled stores do).
    /// `None` by default, so a store a library user brings need not.
    fn operations(&self) -> Option<&dyn OperationsStore> {
        None
    }

    /// A refresh token by its SHA-256 hex digest, with the access token it is bound to and
    /// its user, for the first step of every refresh. The default reads them one by one; the
    /// bundled stores answer with a single statement (a join).
    async fn find_refresh_token_with_owners(
        &self,
        checksum: &str,
    ) -> Result<Option<RefreshTokenWithOwners>, StoreError> {
        let Some(refresh) = self.find_refresh_token(checksum).await? else {
            return Ok(None);
        };
        let access = match refresh.access_token_id {
            Some(id) => self.get_access_token(id).await?,
            None => None,
        };
        let user = self.get_user(refresh.user_id).await?;
        Ok(Some(RefreshTokenWithOwners {
            refresh,
            access,
            user,
        }))
    }

    /// The access token with this checksum and the application and user rows it names, for
    /// the hot paths (bearer validation, introspection). The default reads them one by one;
    /// the bundled stores answer with a single statement (a join).
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
