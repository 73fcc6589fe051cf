//! The tutorial's API, mounted by `oauth-toolkit serve --demo-api` beside the provider so
//! that DOT's tutorial ("Part 2 – protect your APIs") can be walked with one binary. Every
//! endpoint is built with the public extractors and layers of [`crate::resource`]:
//!
//! | endpoint | protection |
//! |---|---|
//! | `GET /api/public` | none (the baseline of the benchmark) |
//! | `GET /api/hello` | [`Bearer`]: any valid token → `Hello, OAuth2!` |
//! | `GET /api/scoped` | [`RequireScopes`]`<Read>`: scope `read` |
//! | `/api/rw` | [`ReadWrite`]: `read` for GET/HEAD/OPTIONS, `write` otherwise |
//! | `/api/music` | [`ResourceScoped`]`<Music>`: `music:read` / `music:write` by method |
//! | `/api/session-or-token` | [`SessionOrToken`]`<Read>`: a logged-in user, or a token with `read` |
//! | `/api/alternatives` | [`AlternativeScopes`]: GET `read`; POST `write`; PUT `write music:write` or `write admin`; DELETE `admin` |
//! | `/api/whoami` | the "who is calling" layer: never refuses, says who the token belongs to |
//! | `/api/layer/{hello,scoped,rw,music,alternatives}` | the same rules as tower layers |
//!
//! OPTIONS is answered `204` without a token on every protected endpoint (DOT lets CORS
//! preflights through). The JSON answers show what the handler learned from the token.

use std::collections::BTreeMap;

use axum::extract::FromRef;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::{Json, Router};
use oauth_toolkit_core::Settings;
use serde_json::{json, Value};

use super::{
    AlternativeScopes, Authenticated, Bearer, Caller, MethodAlternatives, MethodScopes,
    ProtectLayer, ReadWrite, RequireScopes, ResourceScoped, ResourceServer, SessionOrToken,
    TokenOrigin, ValidToken,
};
use crate::Provider;

crate::scopes!(
    /// The `read` scope.
    pub Read = ["read"]
);
crate::scopes!(
    /// The `music` resource (`music:read`, `music:write`).
    pub Music = ["music"]
);

/// The demo's per-method alternatives.
pub struct DemoAlternatives;

impl MethodScopes for DemoAlternatives {
    fn alternatives(method: &Method) -> &'static [&'static [&'static str]] {
        match *method {
            Method::GET => &[&["read"]],
            Method::POST => &[&["write"]],
            Method::PUT => &[&["write", "music:write"], &["write", "admin"]],
            Method::DELETE => &[&["admin"]],
            _ => &[],
        }
    }
}

/// The same alternatives for the layer.
fn demo_alternatives() -> MethodAlternatives {
    let mut m = MethodAlternatives::new();
    for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
        let alts = DemoAlternatives::alternatives(&method)
            .iter()
            .map(|alt| alt.iter().copied());
        m = m.on(method.clone(), alts);
    }
    m
}

/// When `scopes` is not configured, add `music:read` and `music:write` to the default
/// scopes so that the tutorial's resource scopes can be requested. Returns whether it did.
pub fn add_demo_scopes(settings: &mut Settings) -> bool {
    if settings.provider.scopes.is_some() {
        return false;
    }
    let mut scopes: BTreeMap<String, String> = settings.scopes();
    scopes.insert("music:read".into(), "Read your music".into());
    scopes.insert("music:write".into(), "Change your music".into());
    settings.provider.scopes = Some(scopes);
    true
}

/// The demo API, to merge into the provider's router
/// ([`crate::router_with`]).
pub fn router(state: &Provider) -> Router<Provider> {
    let rs = ResourceServer::from_ref(state);
    let protected = |m: MethodRouter<Provider>| m.options(preflight);
    Router::new()
        .route("/api/public", get(public))
        .route("/api/hello", protected(get(hello)))
        .route("/api/scoped", protected(get(scoped)))
        .route("/api/rw", protected(every(read_write)))
        .route("/api/music", protected(every(music)))
        .route(
            "/api/session-or-token",
            protected(get(session_or_token).post(session_or_token)),
        )
        .route("/api/alternatives", protected(every(alternatives)))
        .route("/api/whoami", get(whoami).post(whoami).layer(rs.identify()))
        .merge(behind("/api/layer/hello", rs.protect()))
        .merge(behind("/api/layer/scoped", rs.require_scopes(["read"])))
        .merge(behind("/api/layer/rw", rs.read_write()))
        .merge(behind("/api/layer/music", rs.resource_scopes(["music"])))
        .merge(behind(
            "/api/layer/alternatives",
            rs.alternatives(demo_alternatives()),
        ))
}

/// Every method of `path` to [`layered`], behind `layer`.
fn behind(path: &str, layer: ProtectLayer) -> Router<Provider> {
    Router::new().route(path, any(layered)).route_layer(layer)
}

/// GET, HEAD (from GET), POST, PUT, PATCH and DELETE to one handler.
fn every<H, T>(handler: H) -> MethodRouter<Provider>
where
    H: axum::handler::Handler<T, Provider> + Clone,
    T: 'static,
{
    get(handler.clone())
        .post(handler.clone())
        .put(handler.clone())
        .patch(handler.clone())
        .delete(handler)
}

const HELLO: &str = "Hello, OAuth2!";

async fn public() -> &'static str {
    HELLO
}

async fn hello(_token: Bearer) -> &'static str {
    HELLO
}

/// CORS preflights pass without a token (DOT's `ProtectedResourceMixin`).
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(
            header::ALLOW,
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        )],
    )
        .into_response()
}

fn describe(endpoint: &str, method: &Method, t: &ValidToken) -> Json<Value> {
    Json(json!({
        "endpoint": endpoint,
        "method": method.as_str(),
        "scope": t.scope,
        "username": t.username,
        "client_id": t.client_id,
        "subject": t.subject,
        "origin": match t.origin {
            TokenOrigin::Local => "local",
            TokenOrigin::Introspection => "introspection",
        },
    }))
}

async fn scoped(method: Method, t: RequireScopes<Read>) -> Json<Value> {
    describe("scoped", &method, &t)
}

async fn read_write(method: Method, t: ReadWrite) -> Json<Value> {
    describe("rw", &method, &t)
}

async fn music(method: Method, t: ResourceScoped<Music>) -> Json<Value> {
    describe("music", &method, &t)
}

async fn alternatives(method: Method, t: AlternativeScopes<DemoAlternatives>) -> Json<Value> {
    describe("alternatives", &method, &t)
}

async fn session_or_token(method: Method, who: SessionOrToken<Read>) -> Json<Value> {
    match who.caller {
        Caller::Token(t) => describe("session-or-token", &method, &t),
        Caller::Session(user) => Json(json!({
            "endpoint": "session-or-token",
            "method": method.as_str(),
            // The provider's own users: the subject is their numeric id.
            "session_user_id": user.subject.parse::<i64>().ok(),
            "session_subject": user.subject,
        })),
    }
}

async fn whoami(caller: Option<Authenticated>) -> Json<Value> {
    match caller {
        Some(t) => Json(json!({
            "anonymous": false,
            "username": t.username,
            "client_id": t.client_id,
            "scope": t.scope,
        })),
        None => Json(json!({ "anonymous": true })),
    }
}

/// Behind a layer: OPTIONS arrives unauthenticated (204); everything else carries the token.
async fn layered(method: Method, uri: axum::http::Uri, caller: Option<Authenticated>) -> Response {
    match caller {
        Some(t) => describe(uri.path(), &method, &t).into_response(),
        None if method == Method::OPTIONS => preflight().await,
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
