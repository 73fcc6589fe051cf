//! `GET|POST logout/`: OpenID Connect RP-Initiated Logout 1.0. The protocol is in
//! `oauth_toolkit_core::oidc::logout`; this module reads the request and answers:
//!
//! | outcome | response |
//! |---|---|
//! | invalid request (hint, client, redirect URI) | 400 `logout_confirm.html` with the error, no redirect |
//! | the user must confirm ([`must_prompt`]) | 200 `logout_confirm.html` ("Confirm Logout", CSRF form) |
//! | logout (no prompt needed, or confirmed) | session cookie deleted, the client's tokens deleted; 302 to `post_logout_redirect_uri` (+`state`), else 200 `logged_out.html` |
//! | the user pressed Cancel | 400 `logout_denied` (DOT) |
//!
//! A POST without the confirmation form's CSRF field is an RP's logout request sent by POST
//! (RP-Initiated Logout §2: the OP must accept GET and POST): it is validated like a GET but
//! always asks a logged-in user (a form any site can submit must not end a session); a POST
//! with the field is the user's decision and must carry the session's CSRF token.
//!
//! Only the session of the request ends, and only the tokens of its user: the hint names whom
//! the RP believes is logged in, it is no credential. Without a session nothing is deleted.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::error::OAuthError;
use oauth_toolkit_core::oidc::logout::{end_session, must_prompt, validate_logout, LogoutRequest};
use oauth_toolkit_core::params::Params;

use super::authorize::original_path;
use crate::csrf::{csrf_valid, forbidden, CSRF_FIELD};
use crate::form::parse_urlencoded;
use crate::pages::login::read_form;
use crate::pages::{redirect, render, set_cookie};
use crate::session::{current_local_user, Session};
use crate::Provider;

/// The confirmation and error page (DOT's name).
pub const LOGOUT_CONFIRM_TEMPLATE: &str = "oauth2_provider/logout_confirm.html";
/// The page shown after a logout without a post-logout redirect URI.
pub const LOGGED_OUT_TEMPLATE: &str = "oauth2_provider/logged_out.html";

/// `GET logout/`.
pub async fn logout_get(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let params = parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
    logout_request(&state, &parts, &params, false).await
}

/// `POST logout/`: an RP's request by POST, or the user's answer on the confirmation page.
pub async fn logout_post(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if params.all(CSRF_FIELD).is_empty() {
        return logout_request(&state, &parts, &params, true).await;
    }
    let session = Session::from_headers(&parts.headers, &state);
    if !csrf_valid(session.as_ref(), &params) {
        return forbidden(&state);
    }
    let ctx = state.ctx();
    let request = match validate_logout(&ctx, &params).await {
        Ok(r) => r,
        Err(e) => return error_page(&state, &e),
    };
    let allow = params
        .all("allow")
        .first()
        .is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"));
    if !allow {
        tracing::info!("RP-initiated logout refused by the user");
        return render(
            &state,
            LOGOUT_CONFIRM_TEMPLATE,
            context! {
                error => context! {
                    error => "logout_denied",
                    description => "Logout has been refused by the user.",
                },
            },
            StatusCode::BAD_REQUEST,
        );
    }
    let user = current_local_user(&state, &parts).await;
    log_out(&state, &parts, &request, user).await
}

/// A logout request (GET, or POST from the RP): validate, then ask or log out. `by_post`: a
/// form anyone can submit, so a logged-in user is always asked.
async fn logout_request(
    state: &Provider,
    parts: &Parts,
    params: &Params,
    by_post: bool,
) -> Response {
    let ctx = state.ctx();
    let request = match validate_logout(&ctx, params).await {
        Ok(r) => r,
        Err(e) => return error_page(state, &e),
    };
    let user = current_local_user(state, parts).await;
    if (by_post && user.is_some()) || must_prompt(&ctx, &request, user) {
        return confirm_page(state, parts, &request);
    }
    log_out(state, parts, &request, user).await
}

/// End the session (and its user's tokens of the client), then go where the RP asked, or
/// show the "logged out" page.
async fn log_out(
    state: &Provider,
    parts: &Parts,
    request: &LogoutRequest,
    user: Option<i64>,
) -> Response {
    let ctx = state.ctx();
    if let Err(e) = end_session(&ctx, request, user).await {
        return error_page(state, &e);
    }
    if let Some(session) = Session::from_headers(&parts.headers, state) {
        if let Err(e) = session.end(state).await {
            return error_page(state, &OAuthError::from(e));
        }
    }
    if let Some(uid) = user {
        tracing::info!(user_id = uid, client_id = ?request.application.as_ref().map(|a| a.client_id.as_str()), "user logged out (RP-initiated)");
    }
    let mut resp = match request.redirect_location() {
        Some(location) => redirect(state, &location),
        None => render(
            state,
            LOGGED_OUT_TEMPLATE,
            context! { application => app_context(request) },
            StatusCode::OK,
        ),
    };
    set_cookie(&mut resp, Some(Session::clear_cookie(state)));
    resp
}

fn app_context(request: &LogoutRequest) -> Option<minijinja::Value> {
    request.application.as_ref().map(|a| {
        context! {
            name => a.display_name(),
            client_id => a.client_id.clone(),
        }
    })
}

fn confirm_page(state: &Provider, parts: &Parts, request: &LogoutRequest) -> Response {
    let (session, new) = Session::current_or_new(&parts.headers, state);
    let fields: Vec<_> = request
        .fields
        .iter()
        .map(|(name, value)| context! { name => name, value => value })
        .collect();
    let mut resp = render(
        state,
        LOGOUT_CONFIRM_TEMPLATE,
        context! {
            application => app_context(request),
            action => original_path(parts),
            csrf_token => session.csrf.clone(),
            form_fields => fields,
        },
        StatusCode::OK,
    );
    if new {
        set_cookie(&mut resp, session.set_cookie(state));
    }
    resp
}

fn error_page(state: &Provider, err: &OAuthError) -> Response {
    if err.status >= 500 {
        tracing::error!(error = %err, cause = ?err.cause, "logout request failed");
    } else {
        tracing::debug!(error = %err, "logout request refused");
    }
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    render(
        state,
        LOGOUT_CONFIRM_TEMPLATE,
        context! {
            error => context! {
                error => err.code.as_str(),
                description => err.description.clone().unwrap_or_default(),
            },
        },
        status,
    )
}
