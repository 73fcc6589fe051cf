//! Tower layers: protect whole routers instead of single handlers.
//!
//! ```ignore
//! let api = Router::new()
//!     .route("/songs", get(list).post(create))
//!     .route_layer(rs.read_write());          // GET needs read, POST needs write
//! ```
//!
//! - [`ProtectLayer`] (from [`ResourceServer::protect`], [`ResourceServer::require_scopes`],
//!   [`ResourceServer::read_write`], [`ResourceServer::resource_scopes`],
//!   [`ResourceServer::alternatives`]): refuses requests without a fitting token with the
//!   RFC 6750 answer; lets OPTIONS through untouched (DOT: CORS preflights carry no token);
//!   hands the token to the handler as [`Authenticated`].
//! - [`IdentifyLayer`] (from [`ResourceServer::identify`]; DOT's
//!   `OAuth2TokenMiddleware`): never refuses; when the request carries a valid token the
//!   handler finds it as `Option<Authenticated>`, otherwise the request is anonymous.
//!
//! Both add `Vary: Authorization` to responses, and both read `access_token` from form
//! bodies when `oauth2_protected_resource_bearer_methods_supported` lists `body`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::extractors::{read_write_scopes, resource_scopes, Authenticated, LayerConfig};
use super::transport::BodyToken;
use super::{ResourceError, ResourceRejection, ResourceServer, ValidToken};
use crate::form::is_form_encoded;

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Scope sets per HTTP method, any one of which suffices (DOT's
/// `TokenMatchesOASRequirements`): `MethodAlternatives::new().on(Method::GET, [["read"]])`.
/// A method without an entry is refused whatever the token.
#[derive(Debug, Clone, Default)]
pub struct MethodAlternatives {
    entries: Vec<(Method, Vec<Vec<String>>)>,
}

impl MethodAlternatives {
    /// No method accepted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept `method` with any one of `alternatives` (each a list of scopes all required).
    pub fn on<I, J, T>(mut self, method: Method, alternatives: I) -> Self
    where
        I: IntoIterator<Item = J>,
        J: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let alts = alternatives
            .into_iter()
            .map(|alt| alt.into_iter().map(Into::into).collect())
            .collect();
        self.entries.retain(|(m, _)| *m != method);
        self.entries.push((method, alts));
        self
    }

    /// The alternatives for `method` (empty: refused).
    pub fn for_method(&self, method: &Method) -> &[Vec<String>] {
        self.entries
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, a)| a.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone)]
enum Rule {
    Any,
    Scopes(Vec<String>),
    ReadWrite(Vec<String>),
    Resources(Vec<String>),
    Alternatives(MethodAlternatives),
}

impl Rule {
    fn check(
        &self,
        rs: &ResourceServer,
        method: &Method,
        token: &ValidToken,
    ) -> Result<(), ResourceRejection> {
        match self {
            Rule::Any => Ok(()),
            Rule::Scopes(s) => rs.require(token, s),
            Rule::ReadWrite(extra) => {
                let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                rs.require(token, &read_write_scopes(rs.config(), method, &extra))
            }
            Rule::Resources(r) => rs.require(token, &resource_scopes(rs.config(), method, r)),
            Rule::Alternatives(a) => {
                let alts: Vec<&[String]> = a.for_method(method).iter().map(Vec::as_slice).collect();
                rs.require_any(token, &alts)
            }
        }
    }
}

fn strings<I, T>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    scopes.into_iter().map(Into::into).collect()
}

impl ResourceServer {
    /// Any valid token (DOT's `ProtectedResourceView`).
    pub fn protect(&self) -> ProtectLayer {
        self.layer(Rule::Any)
    }

    /// A token with every one of `scopes` (`ScopedProtectedResourceView`, `TokenHasScope`).
    pub fn require_scopes<I, T>(&self, scopes: I) -> ProtectLayer
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.layer(Rule::Scopes(strings(scopes)))
    }

    /// `read_scope` for GET/HEAD, else `write_scope` (`ReadWriteScopedResourceView`).
    pub fn read_write(&self) -> ProtectLayer {
        self.layer(Rule::ReadWrite(Vec::new()))
    }

    /// [`Self::read_write`] plus `scopes` (`@rw_protected_resource(scopes=[…])`).
    pub fn read_write_with<I, T>(&self, scopes: I) -> ProtectLayer
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.layer(Rule::ReadWrite(strings(scopes)))
    }

    /// `r:read` / `r:write` by method for every resource `r` (`TokenHasResourceScope`).
    pub fn resource_scopes<I, T>(&self, resources: I) -> ProtectLayer
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.layer(Rule::Resources(strings(resources)))
    }

    /// One of the method's scope sets (`TokenMatchesOASRequirements`).
    pub fn alternatives(&self, alternatives: MethodAlternatives) -> ProtectLayer {
        self.layer(Rule::Alternatives(alternatives))
    }

    /// DOT's `OAuth2TokenMiddleware`: identify the caller when it presents a valid token,
    /// refuse nothing.
    pub fn identify(&self) -> IdentifyLayer {
        IdentifyLayer { rs: self.clone() }
    }

    fn layer(&self, rule: Rule) -> ProtectLayer {
        ProtectLayer {
            rs: self.clone(),
            rule: Arc::new(rule),
        }
    }
}

/// [`ResourceServer::protect`] as a free function.
pub fn protect(rs: &ResourceServer) -> ProtectLayer {
    rs.protect()
}

/// [`ResourceServer::require_scopes`] as a free function: `require_scopes(&rs, ["read"])`.
pub fn require_scopes<I, T>(rs: &ResourceServer, scopes: I) -> ProtectLayer
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    rs.require_scopes(scopes)
}

/// [`ResourceServer::read_write`] as a free function.
pub fn read_write(rs: &ResourceServer) -> ProtectLayer {
    rs.read_write()
}

/// [`ResourceServer::identify`] as a free function.
pub fn identify(rs: &ResourceServer) -> IdentifyLayer {
    rs.identify()
}

/// Refuses requests without a fitting token; see the module docs.
#[derive(Debug, Clone)]
pub struct ProtectLayer {
    rs: ResourceServer,
    rule: Arc<Rule>,
}

impl<S> Layer<S> for ProtectLayer {
    type Service = Protect<S>;

    fn layer(&self, inner: S) -> Protect<S> {
        Protect {
            inner,
            rs: self.rs.clone(),
            rule: self.rule.clone(),
        }
    }
}

/// The service a [`ProtectLayer`] puts around the routes it wraps.
#[derive(Debug, Clone)]
pub struct Protect<S> {
    inner: S,
    rs: ResourceServer,
    rule: Arc<Rule>,
}

impl<S> Service<Request<Body>> for Protect<S>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> BoxFuture {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rs = self.rs.clone();
        let rule = self.rule.clone();
        Box::pin(async move {
            if req.method() == Method::OPTIONS {
                return Ok(with_vary(call(&mut inner, req).await));
            }
            let req = match body_token(&rs, req).await {
                Ok(r) => r,
                Err(resp) => return Ok(resp),
            };
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(LayerConfig(rs.config.clone()));
            let checked = match rs.authenticate(&parts).await {
                Ok(token) => rule.check(&rs, &parts.method, &token).map(|()| token),
                Err(e) => Err(e),
            };
            match checked {
                Ok(token) => {
                    parts.extensions.insert(Authenticated(token));
                    let resp = call(&mut inner, Request::from_parts(parts, body)).await;
                    Ok(with_vary(resp))
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// DOT's `OAuth2TokenMiddleware`; see the module docs.
#[derive(Debug, Clone)]
pub struct IdentifyLayer {
    rs: ResourceServer,
}

impl<S> Layer<S> for IdentifyLayer {
    type Service = Identify<S>;

    fn layer(&self, inner: S) -> Identify<S> {
        Identify {
            inner,
            rs: self.rs.clone(),
        }
    }
}

/// The service an [`IdentifyLayer`] puts around the routes it wraps.
#[derive(Debug, Clone)]
pub struct Identify<S> {
    inner: S,
    rs: ResourceServer,
}

impl<S> Service<Request<Body>> for Identify<S>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> BoxFuture {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rs = self.rs.clone();
        Box::pin(async move {
            let req = match body_token(&rs, req).await {
                Ok(r) => r,
                Err(resp) => return Ok(resp),
            };
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(LayerConfig(rs.config.clone()));
            if rs.presents_token(&parts) {
                match rs.authenticate(&parts).await {
                    Ok(token) => {
                        parts.extensions.insert(Authenticated(token));
                    }
                    Err(rejection) => {
                        tracing::debug!(reason = ?rejection.error, "bearer token not accepted; the request is anonymous");
                    }
                }
            }
            let resp = call(&mut inner, Request::from_parts(parts, body)).await;
            Ok(with_vary(resp))
        })
    }
}

async fn call<S>(inner: &mut S, req: Request<Body>) -> Response
where
    S: Service<Request<Body>, Error = Infallible>,
    S::Response: IntoResponse,
{
    match inner.call(req).await {
        Ok(r) => r.into_response(),
        Err(never) => match never {},
    }
}

fn with_vary(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    let present = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("authorization") || p.trim() == "*")
        })
    });
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("Authorization"));
    }
    resp
}

/// When form-body tokens are accepted, read the body of a form POST/PUT/… (within
/// `max_body_bytes`) and leave its `access_token` for [`ResourceServer::authenticate`]; the
/// handler still receives the whole body.
async fn body_token(rs: &ResourceServer, req: Request<Body>) -> Result<Request<Body>, Response> {
    let cfg = rs.config();
    if !cfg.accept_body
        || matches!(*req.method(), Method::GET | Method::HEAD)
        || !is_form_encoded(req.headers())
    {
        return Ok(req);
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
    };
    let tokens: Vec<String> = form_urlencoded::parse(&bytes)
        .filter(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .collect();
    match tokens.as_slice() {
        [] => {}
        [one] => {
            parts.extensions.insert(BodyToken(one.clone()));
        }
        _ => {
            return Err(rs
                .reject(ResourceError::Malformed(
                    "The request carries more than one access token.",
                ))
                .into_response())
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
