//! The router: `/health`, `/`, and the OAuth endpoints under `url_prefix` (DOT's `o/`).

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// Limits that keep one client from holding the server.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Whole-request handling time (reading the body included) before a 408.
    pub request_timeout: Duration,
    /// Time a connection has to deliver a request's headers, counted from when the server
    /// starts waiting for them (so it also closes idle keep-alive connections). See `serve`.
    pub header_read_timeout: Duration,
    /// Most connections `serve` holds open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// How long `serve` lets requests in flight finish after the shutdown signal.
    pub shutdown_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// RFC 8628: the device authorization endpoint and the user's pages (DOT's paths).
fn device_routes() -> Router<AppState> {
    use crate::endpoints::device_authorization::device_authorization;
    use crate::pages::device;
    Router::new()
        .route(
            "/device-authorization/",
            axum::routing::post(device_authorization),
        )
        .route(
            "/device/",
            get(device::user_code_page).post(device::user_code_submit),
        )
        .route(
            "/device-confirm/{client_id}/{user_code}",
            get(device::confirm_page).post(device::confirm_submit),
        )
        .route(
            "/device-grant-status/{client_id}/{user_code}",
            get(device::status_page),
        )
}

/// OpenID Connect: discovery, JWKS, userinfo, and RP-initiated logout while
/// `oidc_rp_initiated_logout_enabled`.
fn oidc_routes(settings: &oauth_toolkit_core::Settings) -> Router<AppState> {
    use crate::endpoints::{oidc, oidc_logout};
    let r = if settings.oidc_rp_initiated_logout_enabled {
        Router::new().route(
            "/logout/",
            get(oidc_logout::logout_get).post(oidc_logout::logout_post),
        )
    } else {
        Router::new()
    };
    r.route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/.well-known/openid-configuration/", get(oidc::discovery))
        .route("/.well-known/jwks.json", get(oidc::jwks))
        .route(
            "/userinfo/",
            get(oidc::userinfo)
                .post(oidc::userinfo)
                .options(oidc::userinfo_preflight),
        )
}

/// The provider's routes, ready to serve or to merge into an application's router.
pub fn router(state: AppState, limits: &ServerLimits) -> Router {
    router_with(state, limits, Router::new())
}

/// The provider's routes plus `extra` (an API protected with [`crate::resource`], such as
/// [`crate::resource::demo::router`]) under the same limits, fallback and tracing.
pub fn router_with(state: AppState, limits: &ServerLimits, extra: Router<AppState>) -> Router {
    use crate::endpoints::{introspect, metadata, revoke, token};
    let oauth = Router::new()
        .route(
            "/authorize/",
            get(crate::endpoints::authorize::authorize_get)
                .post(crate::endpoints::authorize::authorize_post),
        )
        .route(
            "/token/",
            axum::routing::post(token::token).options(token::token_preflight),
        )
        .route(
            "/revoke_token/",
            axum::routing::post(revoke::revoke).options(token::token_preflight),
        )
        .route(
            "/introspect/",
            get(introspect::introspect).post(introspect::introspect),
        )
        .merge(device_routes())
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server),
        );
    let oauth = if state.settings.oidc_enabled {
        oauth.merge(oidc_routes(&state.settings))
    } else {
        oauth
    };
    let prefix = state.settings.url_prefix.clone();
    let max_body = state.settings.max_body_bytes;
    let app = Router::new()
        .route("/", get(crate::home::home))
        .route("/health", get(crate::health::health))
        .merge(crate::pages::routes(&state.settings))
        .merge(extra);
    let app = if prefix.is_empty() {
        app.merge(oauth)
    } else {
        // RFC 8414 §3.1: the well-known location of an issuer with a path (`{prefix}`).
        app.nest(&prefix, oauth).route(
            &format!("/.well-known/oauth-authorization-server{prefix}"),
            get(metadata::authorization_server),
        )
    };
    app.fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(close_after_413))
        .layer(axum::middleware::from_fn(crate::peer::fair_slow_hashes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of a request: method and path only. The query string is left out, since it
/// can carry an `access_token` (userinfo, protected resources) or other credentials.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %oauth_toolkit_core::redact::Sanitized(req.uri().path()),
    )
}

/// A 413 is sent before the body is read, so the connection cannot be reused: say so, so
/// that clients do not send their next request on a connection the server is closing.
async fn close_after_413(mut resp: axum::response::Response) -> axum::response::Response {
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    resp
}
