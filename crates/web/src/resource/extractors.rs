//! axum extractors for protected handlers: put one in a handler's arguments and the handler
//! only runs for requests that pass; the others get the RFC 6750 refusal
//! ([`ResourceRejection`]).
//!
//! | extractor | DOT | passes when |
//! |---|---|---|
//! | [`Bearer`] | `ProtectedResourceView`, `@protected_resource()`, DRF `OAuth2Authentication` | any valid token |
//! | `Option<Bearer>` | — | no token, or a valid one (a bad token is still refused) |
//! | [`RequireScopes<S>`] | `ScopedProtectedResourceView`, `TokenHasScope` | the token has every scope of `S` |
//! | [`ReadWrite<S>`] | `ReadWriteScopedResourceView`, `@rw_protected_resource`, `TokenHasReadWriteScope` | `read_scope` for GET/HEAD/OPTIONS, else `write_scope`, plus `S` |
//! | [`ResourceScoped<R>`] | `TokenHasResourceScope` | `r:read` / `r:write` (by method) for every `r` of `R` |
//! | [`SessionOrToken<S>`] | `IsAuthenticatedOrTokenHasScope` | a logged-in session user, or a token with `S` |
//! | [`AlternativeScopes<A>`] | `TokenMatchesOASRequirements` | one of the method's scope sets (unlisted methods: never) |
//! | [`Authenticated`] | `request.access_token` after `OAuth2TokenMiddleware` | a layer in front validated a token |
//!
//! Extractors check every request routed to their handler, OPTIONS included. DOT's views
//! let OPTIONS through unauthenticated for CORS preflights: do the same by answering
//! OPTIONS with a handler of its own (or a CORS layer), or use the [layers](super::layer),
//! which pass OPTIONS untouched.
//!
//! They all find the [`ResourceServer`] through `FromRef` on the router's state.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::Method;

use super::{ResourceConfig, ResourceError, ResourceRejection, ResourceServer, ValidToken};
use crate::session::SessionUser;

/// A fixed list of scopes, as a type: `scopes!(pub Read = ["read"]);`.
pub trait ScopeSet: Send + Sync + 'static {
    /// The scopes, all required.
    const SCOPES: &'static [&'static str];
}

/// No scope at all (the default extra of [`ReadWrite`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScopes;

impl ScopeSet for NoScopes {
    const SCOPES: &'static [&'static str] = &[];
}

/// Per-method alternative scope sets, as a type (DOT's `required_alternate_scopes`).
///
/// ```
/// use axum::http::Method;
/// use oauth_toolkit_axum::resource::MethodScopes;
/// struct Songs;
/// impl MethodScopes for Songs {
///     fn alternatives(method: &Method) -> &'static [&'static [&'static str]] {
///         match *method {
///             Method::GET => &[&["read"]],
///             Method::PUT => &[&["update", "put"], &["update", "edit"]],
///             _ => &[],
///         }
///     }
/// }
/// ```
pub trait MethodScopes: Send + Sync + 'static {
    /// The acceptable scope sets for `method`; empty: the method is refused.
    fn alternatives(method: &Method) -> &'static [&'static [&'static str]];
}

macro_rules! token_deref {
    ($($t:ident),*) => { $(
        impl<X> Deref for $t<X> {
            type Target = ValidToken;
            fn deref(&self) -> &ValidToken {
                &self.token
            }
        }
        impl<X> $t<X> {
            /// The validated token.
            pub fn token(&self) -> &Arc<ValidToken> {
                &self.token
            }
        }
    )* };
}

/// Any valid, unexpired token.
#[derive(Debug, Clone)]
pub struct Bearer(pub Arc<ValidToken>);

impl Deref for Bearer {
    type Target = ValidToken;
    fn deref(&self) -> &ValidToken {
        &self.0
    }
}

impl<S> FromRequestParts<S> for Bearer
where
    ResourceServer: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ResourceServer::from_ref(state)
            .authenticate(parts)
            .await
            .map(Bearer)
    }
}

impl<S> OptionalFromRequestParts<S> for Bearer
where
    ResourceServer: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        if !rs.presents_token(parts) {
            return Ok(None);
        }
        rs.authenticate(parts).await.map(|t| Some(Bearer(t)))
    }
}

/// A valid token with every scope of `S`.
pub struct RequireScopes<S> {
    token: Arc<ValidToken>,
    _scopes: PhantomData<fn() -> S>,
}

impl<St, S> FromRequestParts<St> for RequireScopes<S>
where
    ResourceServer: FromRef<St>,
    St: Send + Sync,
    S: ScopeSet,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        let token = rs.authenticate(parts).await?;
        rs.require(&token, S::SCOPES)?;
        Ok(Self {
            token,
            _scopes: PhantomData,
        })
    }
}

/// `read_scope` for GET/HEAD/OPTIONS, `write_scope` otherwise, plus every scope of `S`.
pub struct ReadWrite<S = NoScopes> {
    token: Arc<ValidToken>,
    _scopes: PhantomData<fn() -> S>,
}

/// The scopes [`ReadWrite`] requires for `method`.
pub fn read_write_scopes(config: &ResourceConfig, method: &Method, extra: &[&str]) -> Vec<String> {
    let mut required = vec![config.read_or_write(method).to_string()];
    required.extend(extra.iter().map(|s| s.to_string()));
    required
}

impl<St, S> FromRequestParts<St> for ReadWrite<S>
where
    ResourceServer: FromRef<St>,
    St: Send + Sync,
    S: ScopeSet,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        let token = rs.authenticate(parts).await?;
        rs.require(
            &token,
            &read_write_scopes(rs.config(), &parts.method, S::SCOPES),
        )?;
        Ok(Self {
            token,
            _scopes: PhantomData,
        })
    }
}

/// For every resource `r` of `R`: `r:<read_scope>` for safe methods, else `r:<write_scope>`
/// (`music` → `music:read` / `music:write`).
pub struct ResourceScoped<R> {
    token: Arc<ValidToken>,
    _resources: PhantomData<fn() -> R>,
}

/// The scopes [`ResourceScoped`] requires for `method`.
pub fn resource_scopes<S: AsRef<str>>(
    config: &ResourceConfig,
    method: &Method,
    resources: &[S],
) -> Vec<String> {
    let suffix = config.read_or_write(method);
    resources
        .iter()
        .map(|r| format!("{}:{suffix}", r.as_ref()))
        .collect()
}

impl<St, R> FromRequestParts<St> for ResourceScoped<R>
where
    ResourceServer: FromRef<St>,
    St: Send + Sync,
    R: ScopeSet,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        let token = rs.authenticate(parts).await?;
        rs.require(
            &token,
            &resource_scopes(rs.config(), &parts.method, R::SCOPES),
        )?;
        Ok(Self {
            token,
            _resources: PhantomData,
        })
    }
}

/// One of the scope sets `A` lists for the request's method.
pub struct AlternativeScopes<A> {
    token: Arc<ValidToken>,
    _alternatives: PhantomData<fn() -> A>,
}

impl<St, A> FromRequestParts<St> for AlternativeScopes<A>
where
    ResourceServer: FromRef<St>,
    St: Send + Sync,
    A: MethodScopes,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        let token = rs.authenticate(parts).await?;
        rs.require_any(&token, A::alternatives(&parts.method))?;
        Ok(Self {
            token,
            _alternatives: PhantomData,
        })
    }
}

token_deref!(RequireScopes, ReadWrite, ResourceScoped, AlternativeScopes);

/// Who a [`SessionOrToken`] request comes from.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A logged-in user of a browser session.
    Session(SessionUser),
    /// A bearer token with the required scopes.
    Token(Arc<ValidToken>),
}

/// A logged-in session user, or a token with every scope of `S` (DRF's
/// `IsAuthenticatedOrTokenHasScope`). A request that presents a token is judged by the
/// token (an invalid one is 401 even with a session, a token lacking scope is 403); one
/// that presents none needs a session (the [`SessionAuth`](super::SessionAuth) of the
/// [`ResourceServer`]; the provider's own asks for `X-CSRFToken` on unsafe methods).
pub struct SessionOrToken<S> {
    /// Who the request comes from.
    pub caller: Caller,
    _scopes: PhantomData<fn() -> S>,
}

impl<St, S> FromRequestParts<St> for SessionOrToken<S>
where
    ResourceServer: FromRef<St>,
    St: Send + Sync,
    S: ScopeSet,
{
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let rs = ResourceServer::from_ref(state);
        let caller = if !rs.presents_token(parts) {
            match rs.session_user(parts).await {
                Some(user) => Caller::Session(user),
                None => return Err(rs.reject(ResourceError::Missing)),
            }
        } else {
            let token = rs.authenticate(parts).await?;
            rs.require(&token, S::SCOPES)?;
            Caller::Token(token)
        };
        Ok(Self {
            caller,
            _scopes: PhantomData,
        })
    }
}

/// The token a [layer](super::layer) in front validated (the "who is calling" middleware,
/// or any protecting layer). `Option<Authenticated>` is `None` for anonymous requests; a
/// plain `Authenticated` refuses them with 401.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Arc<ValidToken>);

impl Deref for Authenticated {
    type Target = ValidToken;
    fn deref(&self) -> &ValidToken {
        &self.0
    }
}

/// The answer settings a layer leaves for [`Authenticated`]'s refusal.
#[derive(Clone)]
pub(crate) struct LayerConfig(pub Arc<ResourceConfig>);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ResourceRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(a) = parts.extensions.get::<Authenticated>() {
            return Ok(a.clone());
        }
        let config = parts
            .extensions
            .get::<LayerConfig>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        Err(ResourceRejection::new(ResourceError::Missing, config))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Authenticated>().cloned())
    }
}
