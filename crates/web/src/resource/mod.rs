//! Protecting APIs with access tokens: DOT's resource-server half in axum terms.
//!
//! A [`ResourceServer`] bundles a [`TokenValidator`] (the local store, remote introspection,
//! or both), the settings that shape answers ([`ResourceConfig`]) and, optionally, a way to
//! recognise logged-in session users ([`SessionAuth`]). Handlers reach it through axum state:
//! every extractor works with any state `S` for which `ResourceServer: FromRef<S>` — the
//! provider's [`Provider`], a `ResourceServer` used as the state itself, or an application's
//! own state with a `FromRef` impl.
//!
//! - [`extractors`]: [`Bearer`], [`RequireScopes`], [`ReadWrite`], [`ResourceScoped`],
//!   [`SessionOrToken`], [`AlternativeScopes`], [`Authenticated`].
//! - [`layer`]: the same checks as tower layers for whole routers ([`ResourceServer::protect`],
//!   [`ResourceServer::require_scopes`], [`ResourceServer::read_write`],
//!   [`ResourceServer::resource_scopes`], [`ResourceServer::alternatives`]) and the
//!   "who is calling" middleware ([`ResourceServer::identify`]).
//! - [`error`]: RFC 6750 §3 refusals.
//! - [`metadata`]: the RFC 9728 document (`/.well-known/oauth-protected-resource`).
//! - [`demo`]: the tutorial endpoints `serve --demo-api` mounts.
//!
//! See docs/resource_server.md for the mapping from DOT's classes and the caching rules.

mod cache;
pub mod demo;
pub mod error;
pub mod extractors;
pub mod layer;
mod local;
pub mod metadata;
mod remote;
mod transport;
mod validator;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::FromRef;
use axum::http::request::Parts;
use axum::http::Method;
use oauth_toolkit_core::protected_resource::{metadata_url, origin_of, resource_identifier};
use oauth_toolkit_core::store::Store;
use oauth_toolkit_core::users::UserSource;
use oauth_toolkit_core::{Clock, Settings, SystemClock};
use subtle::ConstantTimeEq;

pub use error::{ResourceError, ResourceRejection};
pub use extractors::{
    AlternativeScopes, Authenticated, Bearer, Caller, MethodScopes, NoScopes, ReadWrite,
    RequireScopes, ResourceScoped, ScopeSet, SessionOrToken,
};
pub use layer::{IdentifyLayer, MethodAlternatives, ProtectLayer};
pub use local::LocalValidator;
pub use remote::{IntrospectionAuth, RemoteConfig, RemoteValidator};
pub use validator::{Fallback, TokenOrigin, TokenValidator, ValidToken, ValidationError};

use crate::session::{Session, SessionUser};
use crate::Provider;
use transport::find_token;
pub(crate) use transport::{find_token_in, Presented};

/// Defines a [`ScopeSet`] marker type: `scopes!(pub Read = ["read"]);` then
/// `RequireScopes<Read>`.
#[macro_export]
macro_rules! scopes {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($scope:expr),* $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;
        impl $crate::resource::ScopeSet for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),*];
        }
    };
}

/// What shapes the answers of protected resources.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// `realm` of the `WWW-Authenticate` challenge (`www_authenticate_realm`, "api").
    pub realm: String,
    /// DOT's `READ_SCOPE` / `WRITE_SCOPE`.
    pub read_scope: String,
    /// The scope unsafe methods need (DOT's `WRITE_SCOPE`).
    pub write_scope: String,
    /// List the required scopes in 403 bodies (`error_response_with_scopes`).
    pub error_response_with_scopes: bool,
    /// Accept `?access_token=` (RFC 6750 §2.3).
    pub accept_query: bool,
    /// Accept `access_token` in form bodies, on routes behind a layer (RFC 6750 §2.2).
    pub accept_body: bool,
    /// Largest form body a layer reads when looking for a token there.
    pub max_body_bytes: usize,
    /// RFC 9728 §5.1: the URL of the resource's metadata, named in every challenge
    /// (`resource_metadata`), while `oauth2_protected_resource_advertise_metadata` is on.
    pub resource_metadata_url: Option<String>,
    /// `scheme://host[:port]` this resource is reached at (the origin of its identifier), which
    /// with the request's path is the URL a token bound to resources (RFC 8707) must cover.
    pub public_origin: String,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Self::from_settings(&Settings::default())
    }
}

impl ResourceConfig {
    /// What the settings say (`www_authenticate_realm`, `read_scope`, `write_scope`, …).
    pub fn from_settings(settings: &Settings) -> Self {
        let methods = &settings
            .resource_server
            .oauth2_protected_resource_bearer_methods_supported;
        let listed = |m: &str| methods.iter().any(|x| x == m);
        Self {
            realm: settings.resource_server.www_authenticate_realm.clone(),
            read_scope: settings.resource_server.read_scope.clone(),
            write_scope: settings.resource_server.write_scope.clone(),
            error_response_with_scopes: settings.provider.error_response_with_scopes,
            accept_query: listed("query")
                && !settings
                    .provider
                    .compliant_bcp_rfc9700_access_token_transport,
            accept_body: listed("body"),
            max_body_bytes: settings.server.max_body_bytes,
            resource_metadata_url: settings
                .resource_server
                .oauth2_protected_resource_advertise_metadata
                .then(|| metadata_url(&resource_identifier(settings))),
            public_origin: origin_of(&resource_identifier(settings)),
        }
    }

    /// DOT's rule: GET, HEAD and OPTIONS are "safe" and need the read scope.
    pub fn is_safe(method: &Method) -> bool {
        matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
    }

    /// `read_scope` for safe methods, else `write_scope`.
    pub fn read_or_write(&self, method: &Method) -> &str {
        if Self::is_safe(method) {
            &self.read_scope
        } else {
            &self.write_scope
        }
    }
}

/// Who is logged in through a browser session, for [`SessionOrToken`] (DRF's
/// `IsAuthenticatedOrTokenHasScope`). Implementations must not accept a cookie alone for
/// unsafe methods (POST, PUT, …): that is cross-site request forgery.
#[async_trait]
pub trait SessionAuth: Send + Sync {
    /// The logged-in user of this request, if any.
    async fn session_user(&self, parts: &Parts) -> Option<SessionUser>;
}

/// The provider's own session (whoever
/// [`ProviderBuilder::current_user`](crate::ProviderBuilder::current_user) says is logged in).
/// For unsafe methods the request
/// must also carry the session's CSRF token in an `X-CSRFToken` header (Django's name).
pub struct ProviderSession(pub Provider);

/// Header carrying the CSRF token on unsafe session requests.
pub const CSRF_HEADER: &str = "x-csrftoken";

#[async_trait]
impl SessionAuth for ProviderSession {
    async fn session_user(&self, parts: &Parts) -> Option<SessionUser> {
        let state = &self.0;
        let user = state.current_user.current_user(parts, state).await?;
        if ResourceConfig::is_safe(&parts.method) {
            return Some(user);
        }
        let session = Session::from_headers(&parts.headers, state)?;
        let sent = parts.headers.get(CSRF_HEADER)?.as_bytes();
        let ok = !session.csrf.is_empty()
            && sent.len() == session.csrf.len()
            && bool::from(sent.ct_eq(session.csrf.as_bytes()));
        ok.then_some(user)
    }
}

/// The validator, the answer settings and the clock a protected route needs. Cheap to clone.
#[derive(Clone)]
pub struct ResourceServer {
    validator: Arc<dyn TokenValidator>,
    config: Arc<ResourceConfig>,
    clock: Arc<dyn Clock>,
    session: Option<Arc<dyn SessionAuth>>,
}

impl std::fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceServer")
            .field("config", &self.config)
            .field("session", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

impl ResourceServer {
    /// A resource server over `validator`, with the default [`ResourceConfig`] and the
    /// system clock.
    pub fn new(validator: impl TokenValidator) -> Self {
        Self {
            validator: Arc::new(validator),
            config: Arc::new(ResourceConfig::default()),
            clock: Arc::new(SystemClock),
            session: None,
        }
    }

    /// Local mode: tokens are looked up in `store` (cached for
    /// `resource_server_local_cache_seconds`, 0 by default).
    pub fn local(settings: &Settings, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let cache =
            Duration::from_secs(settings.resource_server.resource_server_local_cache_seconds);
        Self::new(LocalValidator::new(store, clock.clone()).with_cache(cache))
            .with_config(ResourceConfig::from_settings(settings))
            .with_clock(clock)
    }

    /// Remote mode: tokens are introspected at `resource_server_introspection_url`.
    /// `None` when that setting is unset.
    pub fn remote(settings: &Settings, clock: Arc<dyn Clock>) -> Option<Self> {
        let validator = remote_validator(settings, clock.clone())?;
        Some(Self {
            validator,
            config: Arc::new(ResourceConfig::from_settings(settings)),
            clock,
            session: None,
        })
    }

    /// What the settings describe: the local store when there is one, falling back to
    /// remote introspection for unknown tokens when `resource_server_introspection_url` is
    /// set (DOT's order); remote only without a store.
    pub fn from_settings(
        settings: &Settings,
        store: Option<Arc<dyn Store>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::from_settings_with_users(settings, store, None, clock)
    }

    /// [`Self::from_settings`] for an application that brings its own users: a local
    /// token's owner is asked of `users` (active? subject, username).
    pub fn from_settings_with_users(
        settings: &Settings,
        store: Option<Arc<dyn Store>>,
        users: Option<Arc<dyn UserSource>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let config = ResourceConfig::from_settings(settings);
        let remote = remote_validator(settings, clock.clone());
        let validator: Arc<dyn TokenValidator> = match (store, remote) {
            (Some(store), remote) => {
                let cache = Duration::from_secs(
                    settings.resource_server.resource_server_local_cache_seconds,
                );
                let local = LocalValidator::new(store, clock.clone())
                    .with_cache(cache)
                    .with_users(users);
                match remote {
                    Some(remote) => Arc::new(Fallback {
                        first: local,
                        then: remote,
                    }),
                    None => Arc::new(local),
                }
            }
            (None, Some(remote)) => remote,
            (None, None) => Arc::new(validator::Unavailable(
                "no store and no resource_server_introspection_url".into(),
            )),
        };
        Self {
            validator,
            config: Arc::new(config),
            clock,
            session: None,
        }
    }

    /// Shape answers by `config` instead of the settings.
    pub fn with_config(mut self, config: ResourceConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Judge token expiry by `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Recognise session users for [`SessionOrToken`].
    pub fn with_session(mut self, session: Arc<dyn SessionAuth>) -> Self {
        self.session = Some(session);
        self
    }

    /// What shapes its answers.
    pub fn config(&self) -> &ResourceConfig {
        &self.config
    }

    /// What checks its tokens.
    pub fn validator(&self) -> &Arc<dyn TokenValidator> {
        &self.validator
    }

    /// A refusal carrying this server's answer settings.
    pub fn reject(&self, error: ResourceError) -> ResourceRejection {
        ResourceRejection::new(error, self.config.clone())
    }

    /// The valid, unexpired token the request carries. A token a layer in front already
    /// validated is taken from the request's extensions.
    pub async fn authenticate(&self, parts: &Parts) -> Result<Arc<ValidToken>, ResourceRejection> {
        if let Some(Authenticated(t)) = parts.extensions.get::<Authenticated>() {
            return Ok(t.clone());
        }
        let token = match find_token(parts, &self.config) {
            Presented::None => return Err(self.reject(ResourceError::Missing)),
            Presented::Malformed(d) => return Err(self.reject(ResourceError::Malformed(d))),
            Presented::Token(t) => self.validate(&t).await?,
        };
        // RFC 8707: a token bound to resources only works at a URL one of them covers.
        if !token.audiences.is_empty() {
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map(|u| u.path().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string());
            let url = format!("{}{path}", self.config.public_origin);
            let covered = token
                .audiences
                .iter()
                .any(|a| oauth_toolkit_core::resource_indicators::covers(a, &url));
            if !covered {
                return Err(self.reject(ResourceError::InvalidToken(error::WRONG_RESOURCE)));
            }
        }
        Ok(token)
    }

    /// Whether the request presents a bearer token at all (for optional authentication).
    pub fn presents_token(&self, parts: &Parts) -> bool {
        parts.extensions.get::<Authenticated>().is_some()
            || find_token(parts, &self.config) != Presented::None
    }

    /// Validate a token string: unknown/revoked/inactive and expired tokens are refused with
    /// `invalid_token`.
    pub async fn validate(&self, token: &str) -> Result<Arc<ValidToken>, ResourceRejection> {
        match self.validator.validate(token).await {
            Ok(Some(t)) if t.is_expired(self.clock.now()) => {
                Err(self.reject(ResourceError::InvalidToken(error::EXPIRED_TOKEN)))
            }
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(self.reject(ResourceError::InvalidToken(error::INVALID_TOKEN))),
            Err(ValidationError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "access token validation unavailable");
                Err(self.reject(ResourceError::Unavailable))
            }
            Err(ValidationError::Internal(cause)) => {
                tracing::error!(error = %cause, "access token validation failed");
                Err(self.reject(ResourceError::Internal))
            }
        }
    }

    /// `insufficient_scope` unless `token` has every one of `required`.
    pub fn require<S: AsRef<str>>(
        &self,
        token: &ValidToken,
        required: &[S],
    ) -> Result<(), ResourceRejection> {
        if token.has_scopes(required) {
            Ok(())
        } else {
            Err(self.reject(ResourceError::insufficient(
                required.iter().map(|s| s.as_ref().to_string()).collect(),
            )))
        }
    }

    /// `insufficient_scope` unless `token` satisfies one of `alternatives` entirely (DOT's
    /// `TokenMatchesOASRequirements`; no alternative at all means the method is refused).
    pub fn require_any<S: AsRef<str>>(
        &self,
        token: &ValidToken,
        alternatives: &[&[S]],
    ) -> Result<(), ResourceRejection> {
        if alternatives.iter().any(|alt| token.has_scopes(alt)) {
            return Ok(());
        }
        Err(self.reject(ResourceError::InsufficientScope {
            alternatives: alternatives
                .iter()
                .map(|alt| alt.iter().map(|s| s.as_ref().to_string()).collect())
                .collect(),
        }))
    }

    /// The session user, when a [`SessionAuth`] is configured and recognises one.
    pub async fn session_user(&self, parts: &Parts) -> Option<SessionUser> {
        match &self.session {
            Some(s) => s.session_user(parts).await,
            None => None,
        }
    }
}

fn remote_validator(settings: &Settings, clock: Arc<dyn Clock>) -> Option<Arc<dyn TokenValidator>> {
    let config = RemoteConfig::from_settings(settings)?;
    Some(match RemoteValidator::new(config, clock) {
        Ok(v) => Arc::new(v),
        Err(e) => {
            tracing::error!(error = %e, "cannot build the introspection client; protected resources will answer 503");
            Arc::new(validator::Unavailable(e.to_string()))
        }
    })
}

/// The provider's state: its resource server (local store, plus remote introspection when
/// configured) with its cookie session for [`SessionOrToken`].
impl FromRef<Provider> for ResourceServer {
    fn from_ref(state: &Provider) -> Self {
        let rs = state.resource.clone();
        if rs.session.is_some() {
            return rs;
        }
        rs.with_session(Arc::new(ProviderSession(state.clone())))
    }
}
