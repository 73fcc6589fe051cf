//! Validation against the provider's own store (the resource server shares its database).
//!
//! A token is recognised when its digest names an access-token row whose application (if
//! any) still exists and is usable and whose user (if any) exists and is active. By default
//! nothing is cached: every request reads the store, so a token revoked through
//! `revoke_token/` (which deletes the row) is refused by the very next request. With
//! [`LocalValidator::with_cache`] (the `resource_server_local_cache_seconds` setting) a
//! recognised token is remembered for at most that long and never past its expiry: a
//! revocation then takes effect within that bound, in every process.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth_toolkit_core::store::{Store, StoreError};
use oauth_toolkit_core::token_checksum::token_checksum;
use oauth_toolkit_core::user_status::owner_allowed;
use oauth_toolkit_core::users::UserSource;
use oauth_toolkit_core::Clock;

use super::cache::{TtlCache, DEFAULT_MAX_ENTRIES};
use super::{TokenOrigin, TokenValidator, ValidToken, ValidationError};

/// Checks tokens against the provider's store (this process shares its database).
pub struct LocalValidator {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cache: Option<(TtlCache, Duration)>,
    users: Option<Arc<dyn UserSource>>,
}

impl LocalValidator {
    /// Read the store on every request (revocation takes effect at once).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            cache: None,
            users: None,
        }
    }

    /// Ask `users` about a token's owner (an application's own users; `None`: the
    /// provider's user table, read with the token).
    pub fn with_users(mut self, users: Option<Arc<dyn UserSource>>) -> Self {
        self.users = users;
        self
    }

    /// Remember recognised tokens for at most `ttl` (zero: no cache), in at most
    /// 10 000 entries. Unknown tokens are never remembered.
    pub fn with_cache(mut self, ttl: Duration) -> Self {
        self.cache = (!ttl.is_zero()).then(|| (TtlCache::new(DEFAULT_MAX_ENTRIES), ttl));
        self
    }

    /// One store call (one statement in the sqlx store): the token with its application
    /// and user rows.
    async fn lookup(&self, checksum: &str) -> Result<Option<ValidToken>, StoreError> {
        let Some(found) = self.store.find_access_token_with_owners(checksum).await? else {
            return Ok(None);
        };
        let at = found.token;
        let application = match (at.application_id, found.application) {
            (None, _) => None,
            (Some(_), Some(app)) if app.is_usable() => Some(app),
            (Some(_), _) => return Ok(None),
        };
        // The provider's one rule for users (`oauth_toolkit_core::user_status`).
        if !owner_allowed(at.user_id, found.user.as_ref()) {
            return Ok(None);
        }
        let user = at.user_id.and(found.user);
        let (subject, username) = match (&user, &self.users) {
            (None, _) => (None, None),
            (Some(u), None) => (Some(u.id.to_string()), Some(u.username.clone())),
            // The row is a link: its username is the application's subject.
            (Some(u), Some(source)) => match source.find_by_subject(&u.username).await? {
                Some(a) if a.is_active => (Some(a.subject), Some(a.username)),
                _ => return Ok(None),
            },
        };
        Ok(Some(ValidToken {
            scope: at.scope,
            expires: Some(at.expires),
            client_id: application.as_ref().map(|a| a.client_id.clone()),
            username,
            subject,
            user,
            application,
            token_id: Some(at.id),
            origin: TokenOrigin::Local,
            audiences: oauth_toolkit_core::resource_indicators::parse(&at.resource),
        }))
    }
}

#[async_trait]
impl TokenValidator for LocalValidator {
    async fn validate(&self, token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError> {
        let checksum = token_checksum(token);
        if let Some((cache, _)) = &self.cache {
            if let Some(Some(hit)) = cache.get(&checksum) {
                return Ok(Some(hit));
            }
        }
        let found = self.lookup(&checksum).await.map_err(|e| match e {
            StoreError::Unavailable(_) => ValidationError::unavailable(e),
            other => ValidationError::Internal(Box::new(other)),
        })?;
        let Some(found) = found.map(Arc::new) else {
            return Ok(None);
        };
        if let Some((cache, ttl)) = &self.cache {
            let remaining = found
                .expires
                .map(|e| e - self.clock.now())
                .and_then(|d| Duration::try_from(d).ok())
                .unwrap_or(Duration::ZERO);
            cache.insert(checksum, Some(found.clone()), remaining.min(*ttl));
        }
        Ok(Some(found))
    }
}
