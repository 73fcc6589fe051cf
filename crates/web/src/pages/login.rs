//! The login page (at `login_url`, Django's `registration/login.html`) and the logout page
//! (`/accounts/logout/`: a confirmation form on GET, the logout on POST).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::authentication::{sign_in, SignIn};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::throttle::describe_wait;

use super::account::{chrome_of, Account};
use super::{error_page, redirect, render, safe_next, set_cookie};
use crate::csrf::{csrf_valid, forbidden};
use crate::form::parse_urlencoded;
use crate::peer::peer_addr;
use crate::session::Session;
use crate::Provider;

/// Django's message: it does not tell which of the two was wrong.
const LOGIN_FAILED: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";
/// Longest username (Django: 150) and password checked; longer ones simply fail.
const MAX_USERNAME: usize = 150;
const MAX_PASSWORD: usize = 4096;

fn first<'a>(params: &'a Params, name: &str) -> &'a str {
    params.all(name).first().copied().unwrap_or("")
}

/// Read a form body within the configured limit.
pub(crate) async fn read_form(
    state: &Provider,
    request: Request,
) -> Result<(axum::http::request::Parts, Params), Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, state.settings.server.max_body_bytes).await {
        Ok(bytes) => Ok((parts, parse_urlencoded(&bytes))),
        Err(_) => Err(error_page(
            state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "The form is larger than this server accepts.",
        )),
    }
}

fn login_form(
    state: &Provider,
    session: &Session,
    action: &str,
    next: &str,
    username: &str,
    error: &str,
) -> Response {
    login_form_with_status(
        state,
        session,
        action,
        next,
        username,
        error,
        StatusCode::OK,
    )
}

fn login_form_with_status(
    state: &Provider,
    session: &Session,
    action: &str,
    next: &str,
    username: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    render(
        state,
        "registration/login.html",
        context! {
            action => action,
            csrf_token => session.csrf.clone(),
            next => next,
            username => username,
            error => error,
        },
        status,
    )
}

/// `GET login_url`: the form. A logged-in user sees it too (to log in again, as
/// `prompt=login` asks).
pub async fn login_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let params = parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
    let (session, new) = Session::current_or_new(&parts.headers, &state);
    let mut resp = login_form(
        &state,
        &session,
        parts.uri.path(),
        first(&params, "next"),
        "",
        "",
    );
    if new {
        set_cookie(&mut resp, session.set_cookie(&state));
    }
    resp
}

/// `POST login_url`: check CSRF and credentials; on success a new session (new id, new CSRF
/// token) and a redirect to `next` if it stays on this site, else to `/`.
pub async fn login_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let Some(session) = Session::from_headers(&parts.headers, &state) else {
        return forbidden(&state);
    };
    if !csrf_valid(Some(&session), &params) {
        return forbidden(&state);
    }
    let (username, password, next) = (
        first(&params, "username"),
        first(&params, "password"),
        first(&params, "next"),
    );
    let now = state.clock.now();
    let plausible = !username.is_empty()
        && !password.is_empty()
        && username.chars().count() <= MAX_USERNAME
        && password.len() <= MAX_PASSWORD;
    let outcome = if plausible {
        let ctx = state.ctx().with_peer(peer_addr(&parts));
        sign_in(&ctx, username, password).await
    } else {
        Ok(SignIn::Failed)
    };
    match outcome {
        Ok(SignIn::Success(user)) => {
            tracing::info!(user_id = user.id, "user logged in");
            let fresh = Session::logged_in(&user, now, &state.secret_key);
            // The session signed in before (if any) ends: one browser, one session.
            let saved = match session.end(&state).await {
                Ok(()) => fresh.save(&state).await,
                Err(e) => Err(e),
            };
            if let Err(e) = saved {
                tracing::error!(error = %e, "login failed: cannot store the session");
                return unavailable(&state);
            }
            let mut resp = redirect(&state, safe_next(next).unwrap_or("/"));
            set_cookie(&mut resp, fresh.set_cookie(&state));
            resp
        }
        Ok(SignIn::Failed) => {
            metrics::counter!("oauth_login_failures_total").increment(1);
            tracing::info!("login failed");
            login_form(
                &state,
                &session,
                parts.uri.path(),
                next,
                username,
                LOGIN_FAILED,
            )
        }
        Ok(SignIn::Throttled(t)) => {
            let message = format!(
                "Too many failed login attempts. Try again in {}.",
                describe_wait(t.retry_after_seconds)
            );
            let mut resp = login_form_with_status(
                &state,
                &session,
                parts.uri.path(),
                next,
                username,
                &message,
                StatusCode::TOO_MANY_REQUESTS,
            );
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(t.retry_after_seconds),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed: storage error");
            unavailable(&state)
        }
    }
}

fn unavailable(state: &Provider) -> Response {
    error_page(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service unavailable",
        "Please try again later.",
    )
}

/// `GET /accounts/logout/`: a confirmation form (a GET never logs out: links and images
/// must not be able to end a session).
pub async fn logout_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (session, new) = Session::current_or_new(&parts.headers, &state);
    // Logged in means a live session (its row still exists), not just a decryptable cookie.
    let logged_in = state
        .current_user
        .current_user(&parts, &state)
        .await
        .is_some();
    let account = Account::current(&state, &parts).await;
    let mut resp = render(
        &state,
        "registration/logout_confirm.html",
        context! {
            action => parts.uri.path(),
            csrf_token => session.csrf.clone(),
            logged_in => logged_in,
            ..chrome_of(account.as_ref())
        },
        StatusCode::OK,
    );
    if new {
        set_cookie(&mut resp, session.set_cookie(&state));
    }
    resp
}

/// `POST /accounts/logout/`: CSRF-checked; deletes the session cookie and goes to `/`.
pub async fn logout_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let session = Session::from_headers(&parts.headers, &state);
    if !csrf_valid(session.as_ref(), &params) {
        return forbidden(&state);
    }
    if let Some(session) = &session {
        if let Err(e) = session.end(&state).await {
            tracing::error!(error = %e, "logout failed: cannot end the session");
            return unavailable(&state);
        }
        if let Some(uid) = session.uid {
            tracing::info!(user_id = uid, "user logged out");
        }
    }
    let mut resp = redirect(&state, "/");
    set_cookie(&mut resp, Some(Session::clear_cookie(&state)));
    resp
}
