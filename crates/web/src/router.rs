//! The routers a [`crate::Provider`] hands out, and the binary's whole router built from them.

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::Provider;

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
fn device_routes() -> Router<Provider> {
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
fn oidc_routes(settings: &oauth_toolkit_core::Settings) -> Router<Provider> {
    use crate::endpoints::{oidc, oidc_logout};
    let r = if settings.oidc.oidc_rp_initiated_logout_enabled {
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

impl Provider {
    /// The protocol endpoints (`authorize/`, `token/`, `revoke_token/`, `introspect/`, the
    /// device flow, RFC 8414 metadata and, while OIDC is on, discovery, JWKS, userinfo and
    /// RP-initiated logout), at paths relative to where they are nested:
    /// `app.nest(provider.mount_path(), provider.endpoints())`. No fallback, no layers
    /// beyond the fair slow-hash gate the endpoints need; a mount elsewhere than
    /// [`Provider::mount_path`] is logged once (the metadata would name wrong URLs).
    pub fn endpoints<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        endpoint_routes(&self.settings)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                check_mount,
            ))
            .layer(axum::middleware::from_fn(crate::peer::fair_slow_hashes))
            .with_state(self.clone())
    }

    /// RFC 8414 §3.1: an issuer with a path (`/o`) has its metadata at the root under
    /// `/.well-known/oauth-authorization-server/o`. Merge at the application's root.
    /// RFC 9728 too: `/.well-known/oauth-protected-resource[/<path of the resource
    /// identifier>]` and DOT's `<url_prefix>/.well-known/oauth-protected-resource`, naming
    /// this provider as the authorization server of its own resources.
    pub fn well_known<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let prefix = self.settings.server.url_prefix.clone();
        let issuer = oauth_toolkit_core::metadata::issuer(&self.settings);
        let dot_path = format!(
            "{prefix}{}",
            oauth_toolkit_core::protected_resource::WELL_KNOWN
        );
        let r = Router::new().merge(crate::resource::metadata::metadata_router(
            &self.settings,
            Some(&issuer),
            &[dot_path],
        ));
        let r = if prefix.is_empty() {
            r
        } else {
            r.route(
                &format!("/.well-known/oauth-authorization-server{prefix}"),
                get(crate::endpoints::metadata::authorization_server),
            )
        };
        r.with_state(self.clone())
    }

    /// The provider's login (at `login_url` when it is a local path) and logout
    /// (`/accounts/logout/`) pages. Optional: an application with its own login brings a
    /// [`crate::CurrentUser`] instead. Merge at the application's root.
    pub fn login_pages<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::pages::routes(&self.settings)
            .layer(axum::middleware::from_fn(crate::peer::fair_slow_hashes))
            .with_state(self.clone())
    }

    /// DOT's management pages under `url_prefix` (`applications/…`, `authorized_tokens/…`),
    /// at their full paths: merge at the application's root. Login required (through
    /// [`crate::CurrentUser`]); each user sees only their own rows.
    pub fn management_pages<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::pages::management_routes(&self.settings)
            .layer(axum::middleware::map_response(protect_405))
            .layer(axum::middleware::from_fn(crate::peer::fair_slow_hashes))
            .with_state(self.clone())
    }

    /// The staff admin at `/admin/`: signed-in users with `is_staff` only. Merge at the
    /// application's root.
    pub fn admin_pages<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::admin::routes()
            .layer(axum::middleware::map_response(protect_405))
            .with_state(self.clone())
    }

    /// The pages' stylesheet and script under `/static/`. Merge at the application's root
    /// with any of the page routers.
    pub fn assets<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::assets::routes()
    }

    /// `GET /`: a page linking what a user can do (the binary's home page).
    pub fn home<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/", get(crate::home::home))
            .with_state(self.clone())
    }

    /// `GET /health`: 200 while the database answers, else 503; and `GET /health/details`,
    /// the health report, for staff sessions and tokens with `health_details_scope`.
    pub fn health<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/health", get(crate::health::health))
            .route("/health/details", get(crate::health::health_details))
            .with_state(self.clone())
    }

    /// `app` with the endpoints nested at [`Provider::mount_path`] and the root metadata.
    pub fn mount<S: Clone + Send + Sync + 'static>(&self, app: Router<S>) -> Router<S> {
        let prefix = self.settings.server.url_prefix.clone();
        let app = if prefix.is_empty() {
            app.merge(self.endpoints())
        } else {
            app.nest(&prefix, self.endpoints())
        };
        app.merge(self.well_known())
    }
}

/// The layers the binary puts around everything: the body limit (413, closing the
/// connection), the request timeout (408) and request tracing without query strings.
pub fn server_layers(
    router: Router,
    settings: &oauth_toolkit_core::Settings,
    limits: &ServerLimits,
) -> Router {
    // Inside the routing, so that each request's matched route is known; only when metrics
    // are on (the facade is cheap, the label strings are not free).
    let router = if settings.server.metrics_enabled {
        router.layer(axum::middleware::from_fn(crate::metrics::record))
    } else {
        router
    };
    router
        .layer(RequestBodyLimitLayer::new(settings.server.max_body_bytes))
        .layer(axum::middleware::map_response(close_after_413))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

fn endpoint_routes(settings: &oauth_toolkit_core::Settings) -> Router<Provider> {
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
    if settings.oidc.oidc_enabled {
        oauth.merge(oidc_routes(settings))
    } else {
        oauth
    }
}

/// Logs once when the endpoints are nested somewhere else than the configured mount path:
/// the issuer and every URL in the metadata would then be wrong.
async fn check_mount(
    axum::extract::State(state): axum::extract::State<Provider>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(original) = request.extensions().get::<axum::extract::OriginalUri>() {
            let full = original.path();
            let mounted = full.strip_suffix(request.uri().path()).unwrap_or("");
            if mounted != state.settings.server.url_prefix
                && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::error!(
                    mounted_at = %oauth_toolkit_core::redact::Sanitized(mounted),
                    mount_path = %state.settings.server.url_prefix,
                    "the endpoints are nested at another path than the provider's mount path; \
                     set it with ProviderBuilder::issuer or url_prefix"
                );
            }
        }
    }
    next.run(request).await
}

/// Everything the `oauth-toolkit` binary serves: home, health, login pages, the endpoints
/// under `url_prefix`, with a 404 fallback and the server layers.
pub fn router(state: Provider, limits: &ServerLimits) -> Router {
    router_with(state, limits, Router::new())
}

/// [`router`] plus `extra` (an API protected with [`crate::resource`], such as
/// [`crate::resource::demo::router`]).
pub fn router_with(state: Provider, limits: &ServerLimits, extra: Router<Provider>) -> Router {
    let app: Router = Router::new()
        .merge(state.home())
        .merge(state.health())
        .merge(state.login_pages())
        .merge(state.management_pages())
        .merge(state.admin_pages())
        .merge(state.assets())
        .merge(extra.with_state(state.clone()));
    let not_found = state.clone();
    let app = state.mount(app).fallback(move || {
        let state = not_found.clone();
        async move {
            crate::pages::error_page(
                &state,
                StatusCode::NOT_FOUND,
                "Not Found",
                "There is nothing at this address.",
            )
        }
    });
    server_layers(app, &state.settings, limits)
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

/// A page's 405 (a method the page does not take; its `Allow` header kept) gets the pages'
/// headers too: no caching, no framing, the CSP.
async fn protect_405(mut resp: axum::response::Response) -> axum::response::Response {
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        crate::pages::protect(&mut resp);
    }
    resp
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
