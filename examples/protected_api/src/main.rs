//! `protected-api`: a small axum API protected by a running `oauth-toolkit serve`.
//!
//! - **local mode** (default): reads the provider's database (`DATABASE_URL` or the
//!   `database_url` setting) and validates tokens there — a revoked token is refused at once.
//! - **remote mode**: when `OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL` is set, it
//!   shares nothing with the provider and asks its `introspect/` endpoint, authenticated by
//!   `OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS='["id", "secret"]'` (Basic) or
//!   `OAUTH_TOOLKIT_RESOURCE_SERVER_AUTH_TOKEN` (a token with the `introspection` scope).
//!
//! It listens on `PROTECTED_API_BIND` (default `127.0.0.1:8001`) and logs the address. Every
//! other `OAUTH_TOOLKIT_*` setting applies as for the provider (realm, read/write scopes,
//! cache times, …). See the README's "Protect your API".

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use oauth_toolkit_axum::resource::{
    Bearer, ReadWrite, RequireScopes, ResourceScoped, ResourceServer, ValidToken,
};
use oauth_toolkit_core::{Settings, SystemClock};
use serde_json::{json, Value};

oauth_toolkit_axum::scopes!(Read = ["read"]);
oauth_toolkit_axum::scopes!(Music = ["music"]);

/// The API. Its state is the `ResourceServer` itself; an application with a state of its
/// own implements `FromRef<MyState> for ResourceServer` instead.
fn app(rs: ResourceServer) -> Router {
    Router::new()
        .route("/api/public", get(|| async { "Hello, OAuth2!" }))
        .route("/api/hello", get(hello).options(preflight))
        .route("/api/scoped", get(scoped).options(preflight))
        .route(
            "/api/rw",
            get(read_write)
                .post(read_write)
                .put(read_write)
                .patch(read_write)
                .delete(read_write)
                .options(preflight),
        )
        .route(
            "/api/music",
            get(music)
                .post(music)
                .put(music)
                .delete(music)
                .options(preflight),
        )
        .with_state(rs)
}

/// Any valid token.
async fn hello(_token: Bearer) -> &'static str {
    "Hello, OAuth2!"
}

/// Scope `read`.
async fn scoped(token: RequireScopes<Read>) -> Json<Value> {
    describe("scoped", &Method::GET, &token)
}

/// `read` for GET/HEAD/OPTIONS, `write` otherwise.
async fn read_write(method: Method, token: ReadWrite) -> Json<Value> {
    describe("rw", &method, &token)
}

/// `music:read` / `music:write`.
async fn music(method: Method, token: ResourceScoped<Music>) -> Json<Value> {
    describe("music", &method, &token)
}

/// CORS preflights pass without a token, as in DOT.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [(
            header::ALLOW,
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        )],
    )
}

fn describe(endpoint: &str, method: &Method, t: &ValidToken) -> Json<Value> {
    Json(json!({
        "endpoint": endpoint,
        "method": method.as_str(),
        "scope": t.scope,
        "username": t.username,
        "client_id": t.client_id,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let config = std::env::var_os("OAUTH_TOOLKIT_CONFIG").map(std::path::PathBuf::from);
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let settings = Settings::load(config.as_deref(), env).context("cannot load settings")?;
    let clock = Arc::new(SystemClock);

    // Remote mode needs no database; local mode keeps the pool open while serving.
    let (rs, mode, db) = match ResourceServer::remote(&settings, clock.clone()) {
        Some(rs) => (rs, "remote", None),
        None => {
            let url = settings.database_url();
            let db = oauth_toolkit_store::Database::open(url, &Default::default())
                .await
                .context("cannot open the provider's database")?;
            db.migrate().await.context("cannot migrate the database")?;
            let rs = ResourceServer::local(&settings, db.store(), clock);
            (rs, "local", Some(db))
        }
    };

    let bind = std::env::var("PROTECTED_API_BIND").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let addr: SocketAddr = bind
        .parse()
        .with_context(|| format!("PROTECTED_API_BIND: `{bind}` is not an address"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!("protected-api listening on http://{local} ({mode} mode)");
    axum::serve(listener, app(rs))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(db) = db {
        db.close().await;
    }
    Ok(())
}
