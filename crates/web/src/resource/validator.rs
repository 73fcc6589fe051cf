//! What a validated token tells a handler, and the [`TokenValidator`] trait that finds out.
//!
//! Two implementations ship: [`LocalValidator`](super::LocalValidator) reads the provider's
//! store (the resource server shares the database), [`RemoteValidator`](super::RemoteValidator)
//! asks an RFC 7662 introspection endpoint. [`Fallback`] chains them as DOT does when
//! `resource_server_introspection_url` is set on a server that also has a store: a token not
//! found locally is introspected remotely. A library user can implement the trait over
//! anything else (JWT verification, another cache, …).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use oauth_toolkit_core::models::{Application, Id, User};
use time::OffsetDateTime;

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where a [`ValidToken`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    /// The provider's store (this process shares its database).
    Local,
    /// An RFC 7662 introspection answer.
    Introspection,
}

/// A token the validator recognised, and what it grants.
///
/// Local tokens carry the [`User`] and [`Application`] rows (DOT's `request.user` /
/// `request.client`); introspected ones carry what the answer said (`username`,
/// `client_id`, `sub`) and no rows. `Debug` prints neither password hashes nor secrets.
#[derive(Clone)]
pub struct ValidToken {
    /// Space-separated granted scopes.
    pub scope: String,
    /// When the token stops being valid (`None`: the introspection answer had no `exp`).
    pub expires: Option<OffsetDateTime>,
    /// The `client_id` of the application the token was issued to.
    pub client_id: Option<String>,
    /// The username of the token's user.
    pub username: Option<String>,
    /// The user's id as a string (local: the user row's id; remote: `sub`).
    pub subject: Option<String>,
    /// The token's user (local mode).
    pub user: Option<User>,
    /// The token's application (local mode).
    pub application: Option<Application>,
    /// The access token row's id (local mode).
    pub token_id: Option<Id>,
    /// Where the answer came from.
    pub origin: TokenOrigin,
    /// RFC 8707: the resources the token is bound to (empty: none, valid at any resource).
    pub audiences: Vec<String>,
}

impl ValidToken {
    /// The granted scope names.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// DOT's `allow_scopes`: every one of `required` is granted (an empty list always is).
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        oauth_toolkit_core::scopes::allow_scopes(&self.scope, required)
    }

    /// Expired at and after `expires` (DOT's `is_expired`).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }

    /// The user's id in the provider's store (local mode).
    pub fn user_id(&self) -> Option<Id> {
        self.user.as_ref().map(|u| u.id)
    }
}

impl fmt::Debug for ValidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidToken")
            .field("scope", &self.scope)
            .field("expires", &self.expires)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("subject", &self.subject)
            .field("token_id", &self.token_id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be checked (as opposed to "checked, and not valid", which is
/// `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// The store or the introspection endpoint cannot answer now (down, slow, refusing our
    /// credentials, answering nonsense): `503`, and the client keeps its token.
    #[error("the access token cannot be checked right now")]
    Unavailable(#[source] Cause),
    /// Anything else: `500`.
    #[error("access token validation failed")]
    Internal(#[source] Cause),
}

impl ValidationError {
    /// A [`ValidationError::Unavailable`] with this cause.
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        ValidationError::Unavailable(cause.into())
    }
}

/// Checks presented bearer tokens.
#[async_trait]
pub trait TokenValidator: Send + Sync + 'static {
    /// `Ok(Some(_))` for a token this validator knows (it may be expired: the caller checks
    /// [`ValidToken::expires`] against its clock), `Ok(None)` for an unknown, revoked or
    /// inactive one, `Err` when it cannot tell. Implementations must not log `token`.
    async fn validate(&self, token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError>;
}

#[async_trait]
impl<T: TokenValidator + ?Sized> TokenValidator for Arc<T> {
    async fn validate(&self, token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError> {
        (**self).validate(token).await
    }
}

/// Ask `first`; when it does not know the token, ask `then` (DOT: the local store, then
/// remote introspection).
pub struct Fallback<A, B> {
    /// Asked first.
    pub first: A,
    /// Asked when `first` does not know the token.
    pub then: B,
}

#[async_trait]
impl<A: TokenValidator, B: TokenValidator> TokenValidator for Fallback<A, B> {
    async fn validate(&self, token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError> {
        match self.first.validate(token).await? {
            Some(t) => Ok(Some(t)),
            None => self.then.validate(token).await,
        }
    }
}

/// A validator that can never check anything (used when the remote client cannot be built,
/// so that protected routes answer 503 instead of the process refusing to start).
pub(crate) struct Unavailable(pub String);

#[async_trait]
impl TokenValidator for Unavailable {
    async fn validate(&self, _token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError> {
        Err(ValidationError::unavailable(self.0.clone()))
    }
}
