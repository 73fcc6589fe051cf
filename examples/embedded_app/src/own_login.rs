//! The app's own login: a form at `/login`, sessions in the app's own table, and the
//! [`CurrentUser`] that tells the provider who is signed in.
//!
//! A real app would also throttle password guesses here (the provider's own login pages
//! do); this example keeps to what the provider needs from an app's login.

use axum::extract::State;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use oauth_toolkit_axum::{CurrentUser, Provider, SessionUser};
use oauth_toolkit_core::async_trait;
use oauth_toolkit_core::generators::{random_string, ALPHANUMERIC};
use oauth_toolkit_core::token_checksum::token_checksum;
use oauth_toolkit_core::users::UserSource;
use serde::Deserialize;
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::users::AppUsers;

/// The login page (the provider's `login_url` in this example).
pub const LOGIN_PATH: &str = "/login";
const SESSION_COOKIE: &str = "app_session";
const CSRF_COOKIE: &str = "app_csrf";
const SESSION_SECONDS: i64 = 8 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOGIN_PATH, get(login_form).post(login))
        .route("/logout", post(logout))
}

/// The app's session cookie names a row of `app_sessions` (by its SHA-256): the signed-in
/// subject and when they signed in, while the row lives and the user is active.
pub struct AppSessionUser(pub AppUsers);

#[async_trait]
impl CurrentUser for AppSessionUser {
    async fn current_user(&self, parts: &Parts, _provider: &Provider) -> Option<SessionUser> {
        let (subject, auth_time) = signed_in(&self.0, &parts.headers).await?;
        Some(SessionUser {
            subject,
            auth_time,
            // No OpenID Connect session id: this app does not do front-channel logout.
            sid: None,
        })
    }
}

/// The signed-in subject and their sign-in time, if the request has a live session of an
/// active user.
pub async fn signed_in(users: &AppUsers, headers: &HeaderMap) -> Option<(String, i64)> {
    let value = cookie(headers, SESSION_COOKIE)?;
    let row =
        sqlx::query("SELECT subject, auth_time FROM app_sessions WHERE digest = ? AND expires > ?")
            .bind(token_checksum(value))
            .bind(now())
            .fetch_optional(users.pool())
            .await
            .map_err(|e| tracing::warn!(error = %e, "cannot read the app's sessions"))
            .ok()??;
    let subject: String = row.get(0);
    let active = users
        .find_by_subject(&subject)
        .await
        .ok()?
        .is_some_and(|a| a.is_active);
    active.then(|| (subject, row.get(1)))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One cookie's value from the `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// HTML text and attribute escaping.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Only a path of this site: never `//host` or `/\host`, which browsers treat as another
/// site (an open redirect).
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local {
        next
    } else {
        "/"
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

fn page(status: StatusCode, csrf: &str, next: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Sign in to the app</title><h1>Sign in to the app</h1>\
         <p class=\"error\">{message}</p>\
         <form method=\"post\" action=\"{LOGIN_PATH}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" \
         autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Sign in</button></form>",
        message = escape(message),
        csrf = escape(csrf),
        next = escape(next),
    );
    // A fresh double-submit CSRF token with every form.
    let set = format!("{CSRF_COOKIE}={csrf}; Path={LOGIN_PATH}; HttpOnly; SameSite=Strict");
    (
        status,
        [
            (SET_COOKIE, set),
            (axum::http::header::CACHE_CONTROL, "no-store".into()),
        ],
        Html(body),
    )
        .into_response()
}

async fn login_form(axum::extract::Query(q): axum::extract::Query<LoginQuery>) -> Response {
    let csrf = random_string(32, ALPHANUMERIC);
    page(StatusCode::OK, &csrf, safe_next(&q.next), "")
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(&f.next).to_string();
    let fresh = random_string(32, ALPHANUMERIC);
    let sent = cookie(&headers, CSRF_COOKIE).unwrap_or("");
    let csrf_ok = !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(f.csrf.as_bytes()));
    if !csrf_ok {
        return page(
            StatusCode::FORBIDDEN,
            &fresh,
            &next,
            "The form expired; try again.",
        );
    }
    let account = match state.users.authenticate(&f.username, &f.password).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            return page(
                StatusCode::UNAUTHORIZED,
                &fresh,
                &next,
                "Wrong username or password.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check the password");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                &fresh,
                &next,
                "Try again later.",
            );
        }
    };
    let session = random_string(40, ALPHANUMERIC);
    let created = sqlx::query(
        "INSERT INTO app_sessions (digest, subject, auth_time, expires) VALUES (?, ?, ?, ?)",
    )
    .bind(token_checksum(&session))
    .bind(&account.subject)
    .bind(now())
    .bind(now() + SESSION_SECONDS)
    .execute(state.users.pool())
    .await;
    if let Err(e) = created {
        tracing::error!(error = %e, "cannot create a session");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            &fresh,
            &next,
            "Try again later.",
        );
    }
    tracing::info!(subject = %account.subject, "signed in to the app");
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}"
    );
    (
        StatusCode::SEE_OTHER,
        [(SET_COOKIE, cookie), (LOCATION, next)],
    )
        .into_response()
}

/// Ends the session. `SameSite=Lax` keeps other sites from posting here with the cookie.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        let deleted = sqlx::query("DELETE FROM app_sessions WHERE digest = ?")
            .bind(token_checksum(value))
            .execute(state.users.pool())
            .await;
        if let Err(e) = deleted {
            tracing::error!(error = %e, "cannot end a session");
        }
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [(SET_COOKIE, clear), (LOCATION, "/".into())],
    )
        .into_response()
}
