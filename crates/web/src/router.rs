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
    /// Whole-request handling time before a 408.
    pub request_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The provider's routes, ready to serve or to merge into an application's router.
pub fn router(state: AppState, limits: &ServerLimits) -> Router {
    use crate::endpoints::token;
    let oauth = Router::new().route(
        "/token/",
        axum::routing::post(token::token).options(token::token_preflight),
    );
    let prefix = state.settings.url_prefix.clone();
    let max_body = state.settings.max_body_bytes;
    let app = Router::new()
        .route("/", get(crate::home::home))
        .route("/health", get(crate::health::health));
    let app = if prefix.is_empty() {
        app.merge(oauth)
    } else {
        app.nest(&prefix, oauth)
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
