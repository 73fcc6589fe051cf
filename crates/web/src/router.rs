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

/// The provider's routes, ready to serve or to merge into an application's router.
pub fn router(state: AppState, limits: &ServerLimits) -> Router {
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
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server),
        );
    let prefix = state.settings.url_prefix.clone();
    let max_body = state.settings.max_body_bytes;
    let app = Router::new()
        .route("/", get(crate::home::home))
        .route("/health", get(crate::health::health))
        .merge(crate::pages::routes(&state.settings));
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
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
