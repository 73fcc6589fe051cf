//! The existing app: its own `/`, `/health`, fallback and API, with the provider nested under
//! `/oauth/`. `run` is the whole program of both examples; only the login differs.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use oauth_toolkit_axum::resource::{RequireScopes, ResourceServer};
use oauth_toolkit_axum::{server_layers, Provider, ServerLimits};
use oauth_toolkit_core::hooks::{ClaimsHook, ClaimsTarget};
use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::users::{Account, UserSource};
use oauth_toolkit_core::{async_trait, Settings, SystemClock};
use serde_json::{json, Map, Value};

use crate::own_login::{self, AppSessionUser};
use crate::users::AppUsers;

/// Which login the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The app's own login page (`/login`); the provider asks the app who is signed in.
    Own,
    /// The provider's login pages (`/accounts/login/`), checking passwords with the app's
    /// [`UserSource`].
    Provider,
}

/// The app's state: its users and the provider's bearer-token validation for its API.
#[derive(Clone)]
pub struct AppState {
    pub users: AppUsers,
    pub resource: ResourceServer,
}

// The extractors of `oauth_toolkit_axum::resource` find the validator through this.
impl FromRef<AppState> for ResourceServer {
    fn from_ref(state: &AppState) -> ResourceServer {
        state.resource.clone()
    }
}

oauth_toolkit_axum::scopes!(Read = ["read"]);

/// A claims hook: every ID token and userinfo answer says which app issued it.
struct AppClaims;

#[async_trait]
impl ClaimsHook for AppClaims {
    async fn additional_claims(
        &self,
        _account: &Account,
        _application: Option<&Application>,
        _scopes: &[String],
        _target: ClaimsTarget,
    ) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("app".into(), "embedded-app".into());
        claims
    }
}

async fn home(State(state): State<AppState>, parts: axum::http::request::Parts) -> Html<String> {
    let who = own_login::signed_in(&state.users, &parts.headers).await;
    Html(format!(
        "<!doctype html><title>Embedded app</title><h1>The app's home</h1><p>{}</p>",
        match who {
            Some((subject, _)) => format!("Signed in as {}.", own_login::escape(&subject)),
            None => "Not signed in.".into(),
        }
    ))
}

async fn health() -> Json<Value> {
    Json(json!({ "app": "ok" }))
}

/// The app's API, protected by the provider's tokens: who the token's user is, in the app's
/// own terms (its subject and its table's email).
async fn me(State(state): State<AppState>, token: RequireScopes<Read>) -> impl IntoResponse {
    let Some(subject) = token.subject.clone() else {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "a user's token is needed"})),
        );
    };
    match state.users.find_by_subject(&subject).await {
        Ok(Some(account)) => (
            StatusCode::OK,
            Json(json!({
                "subject": account.subject,
                "username": account.username,
                "email": account.claims.get("email"),
                "client_id": token.client_id,
                "scope": token.scope,
            })),
        ),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such user"})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the app's users");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "try again later"})),
            )
        }
    }
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "Not found (the app's own fallback).")
}

/// The program: settings and the provider's database as for `oauth-toolkit serve`
/// (`OAUTH_TOOLKIT_CONFIG`, `OAUTH_TOOLKIT_*`, `DATABASE_URL`), plus the app's own:
/// `APP_BIND` (default `127.0.0.1:8080`), `APP_PUBLIC_URL` (default `http://<bound address>`),
/// `APP_DATABASE_URL` (default `sqlite://app.sqlite3`) and `APP_USERS` (demo users).
pub async fn run(login: Login) -> anyhow::Result<()> {
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
    let mut settings = Settings::load(config.as_deref(), env).context("cannot load settings")?;
    if login == Login::Own {
        // Where the provider sends a browser that must sign in (with `next`).
        settings.server.login_url = own_login::LOGIN_PATH.into();
    }

    let db = oauth_toolkit_store::Database::open(settings.database_url(), &Default::default())
        .await
        .context("cannot open the provider's database")?;
    db.migrate()
        .await
        .context("cannot migrate the provider's database")?;
    let app_db =
        std::env::var("APP_DATABASE_URL").unwrap_or_else(|_| "sqlite://app.sqlite3".into());
    let users = AppUsers::open(&app_db)
        .await
        .with_context(|| format!("cannot open the app's database {app_db}"))?;
    if let Ok(spec) = std::env::var("APP_USERS") {
        users.seed(&spec).await?;
    }

    let bind = std::env::var("APP_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let addr: SocketAddr = bind
        .parse()
        .with_context(|| format!("APP_BIND: `{bind}` is not an address"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let public = std::env::var("APP_PUBLIC_URL").unwrap_or_else(|_| format!("http://{local}"));

    let mut provider = Provider::builder(settings, db.store())
        .clock(Arc::new(SystemClock))
        .issuer(&format!("{}/oauth", public.trim_end_matches('/')))
        .users(users.clone())
        .claims(AppClaims);
    if login == Login::Own {
        provider = provider.current_user(AppSessionUser(users.clone()));
    }
    let provider = provider.build().await?;

    let state = AppState {
        users: users.clone(),
        resource: provider.resource_server().clone(),
    };
    let mut app = Router::new()
        .route("/", get(home))
        .route("/health", get(health))
        .route("/api/me", get(me));
    if login == Login::Own {
        app = app.merge(own_login::routes());
    }
    let mut app = app
        .with_state(state)
        .nest(provider.mount_path(), provider.endpoints())
        .merge(provider.well_known());
    if login == Login::Provider {
        app = app.merge(provider.login_pages());
    }
    let app = server_layers(
        app.fallback(not_found),
        provider.settings(),
        &ServerLimits::default(),
    );

    tracing::info!(
        "embedded app listening on http://{local} (provider at {}/oauth/, {login:?} login)",
        public.trim_end_matches('/')
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    db.close().await;
    Ok(())
}
