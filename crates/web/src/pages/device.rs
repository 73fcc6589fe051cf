//! The user's side of the device flow (RFC 8628 §3.3), DOT's pages and templates:
//!
//! | page | |
//! |---|---|
//! | `GET {prefix}/device/` | "Enter code displayed on device" (`?user_code=` pre-fills it) |
//! | `POST {prefix}/device/` | error messages on the form, else 302 to the confirmation page |
//! | `GET\|POST {prefix}/device-confirm/<client_id>/<user_code>` | Accept / Deny → 302 to the status page |
//! | `GET {prefix}/device-grant-status/<client_id>/<user_code>` | "Device Authorized", … |
//!
//! Every page needs a logged-in user (else 302 to `login_url?next=…`), every form is
//! CSRF-checked, and a grant is only ever shown to the user who entered its code (anyone else
//! gets 404). The rules are in `oauth_toolkit_core::device_verification`.
//!
//! Path segments are percent-encoded when the URLs are built and decoded when they are read,
//! so a `client_id` with `/`, `:` or spaces routes (DOT's slug converters cannot).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::device_authorization::display_user_code;
use oauth_toolkit_core::device_verification::{
    current_status, decide, enter_user_code, grant_of_user, scope_descriptions, status_display,
    Decision, EntryError,
};
use oauth_toolkit_core::error::OAuthError;
use oauth_toolkit_core::models::{Application, DeviceGrant, DeviceGrantStatus, Id};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::throttle::describe_wait;

use super::account::{chrome_of, Account};
use super::login::read_form;
use super::{error_page, login_location, redirect, render, set_cookie};
use crate::csrf::{csrf_valid, forbidden};
use crate::endpoints::authorize::original_path;
use crate::form::parse_urlencoded;
use crate::session::Session;
use crate::Provider;

/// DOT's template names.
pub const USER_CODE_TEMPLATE: &str = "oauth2_provider/device/user_code.html";
pub const ACCEPT_DENY_TEMPLATE: &str = "oauth2_provider/device/accept_deny.html";
pub const STATUS_TEMPLATE: &str = "oauth2_provider/device/device_grant_status.html";

/// Where the pages are mounted under the prefix.
pub const CONFIRM_PATH: &str = "/device-confirm/";
pub const STATUS_PATH: &str = "/device-grant-status/";

/// A path segment: everything but RFC 3986 unreserved characters percent-encoded.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{prefix}{page}<client_id>/<user_code>`.
fn grant_path(state: &Provider, page: &str, client_id: &str, user_code: &str) -> String {
    format!(
        "{}{page}{}/{}",
        state.settings.server.url_prefix,
        segment(client_id),
        segment(user_code)
    )
}

/// The logged-in user's row id, or the redirect to the login page that comes back here.
async fn require_user(state: &Provider, parts: &Parts) -> Result<Id, Response> {
    if let Some(user) = state.current_user.current_user(parts, state).await {
        match user.local_id(state).await {
            Ok(Some(id)) => return Ok(id),
            Ok(None) => {}
            Err(e) => return Err(failure(state, OAuthError::server_error(e))),
        }
    }
    let path = original_path(parts);
    let next = match parts.uri.query().filter(|q| !q.is_empty()) {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    Err(redirect(state, &login_location(&state.settings, &next)))
}

/// A failure of the store behind a page: logged, and a page with its status.
fn failure(state: &Provider, e: OAuthError) -> Response {
    if e.status >= 500 {
        tracing::error!(error = %e, cause = ?e.cause, "device page failed");
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let description = if e.status >= 500 {
        "Please try again later.".to_string()
    } else {
        e.description.clone().unwrap_or_default()
    };
    error_page(state, status, e.code.as_str(), &description)
}

fn not_found(state: &Provider, description: &str) -> Response {
    error_page(state, StatusCode::NOT_FOUND, "Not Found", description)
}

const NO_SUCH_GRANT: &str = "There is no device authorization here for you.";
/// The status page's 404: once the device has its tokens the grant is gone (single use).
const GONE: &str = "There is no device authorization here for you (any more): the device \
                    may have completed it, or it expired.";

/// Render a page with the session's CSRF token (and the session cookie when it is new, as
/// with an application's own login, which has no provider session yet).
async fn page(
    state: &Provider,
    parts: &Parts,
    template: &str,
    build: impl FnOnce(&str) -> minijinja::Value,
    status: StatusCode,
) -> Response {
    let (session, new) = Session::current_or_new(&parts.headers, state);
    // The header shows who is signed in (the page's own values win).
    let chrome = chrome_of(Account::current(state, parts).await.as_ref());
    let ctx = context! { ..build(&session.csrf), ..chrome };
    let mut resp = render(state, template, ctx, status);
    if new {
        set_cookie(&mut resp, session.set_cookie(state));
    }
    resp
}

async fn user_code_form(state: &Provider, parts: &Parts, value: &str, error: &str) -> Response {
    user_code_form_with_status(state, parts, value, error, StatusCode::OK).await
}

async fn user_code_form_with_status(
    state: &Provider,
    parts: &Parts,
    value: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    let action = original_path(parts);
    page(
        state,
        parts,
        USER_CODE_TEMPLATE,
        |csrf| {
            context! {
                action => action,
                csrf_token => csrf,
                user_code => value,
                error => error,
            }
        },
        status,
    )
    .await
}

/// `GET {prefix}/device/`.
pub async fn user_code_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if let Err(login) = require_user(&state, &parts).await {
        return login;
    }
    let query = parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
    let prefill = query.all("user_code").first().copied().unwrap_or("");
    user_code_form(&state, &parts, prefill, "").await
}

/// `POST {prefix}/device/`: look the code up, bind it to the user, go to the confirmation.
pub async fn user_code_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let session = Session::from_headers(&parts.headers, &state);
    if !csrf_valid(session.as_ref(), &params) {
        return forbidden(&state);
    }
    let user = or_page!(require_user(&state, &parts).await);
    let input = params.all("user_code").first().copied().unwrap_or("");
    let ctx = state.ctx();
    match enter_user_code(&ctx, user, input).await {
        Ok(Ok(grant)) => redirect(
            &state,
            &grant_path(&state, CONFIRM_PATH, &grant.client_id, &grant.user_code),
        ),
        Ok(Err(EntryError::Throttled(t))) => {
            let message = format!(
                "Too many incorrect user codes. Try again in {}.",
                describe_wait(t.retry_after_seconds)
            );
            let mut resp = user_code_form_with_status(
                &state,
                &parts,
                input,
                &message,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(t.retry_after_seconds),
            );
            resp
        }
        Ok(Err(refused)) => user_code_form(&state, &parts, input, refused.message()).await,
        Err(e) => failure(&state, e),
    }
}

/// The grant of a confirmation or status URL for the logged-in user, or the response to send.
async fn load(
    state: &Provider,
    parts: &Parts,
    path: Result<Path<(String, String)>, PathRejection>,
    missing: &str,
) -> Result<(Id, DeviceGrant, Application), Response> {
    let user = require_user(state, parts).await?;
    // Undecodable segments (bad escapes, not UTF-8) name no grant.
    let Ok(Path((client_id, user_code))) = path else {
        return Err(not_found(state, missing));
    };
    let ctx = state.ctx();
    match grant_of_user(&ctx, &client_id, &user_code, user).await {
        Ok(Some((grant, app))) => Ok((user, grant, app)),
        Ok(None) => Err(not_found(state, missing)),
        Err(e) => Err(failure(state, e)),
    }
}

fn status_location(state: &Provider, grant: &DeviceGrant) -> String {
    grant_path(state, STATUS_PATH, &grant.client_id, &grant.user_code)
}

/// `GET {prefix}/device-confirm/<client_id>/<user_code>`: Accept / Deny for a pending grant;
/// a decided or expired one sends the user to its status page.
pub async fn confirm_page(
    State(state): State<Provider>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let (_, grant, app) = or_page!(load(&state, &parts, path, NO_SUCH_GRANT).await);
    match current_status(&state.ctx(), &grant).await {
        Ok(DeviceGrantStatus::AuthorizationPending) => {}
        Ok(_) => return redirect(&state, &status_location(&state, &grant)),
        Err(e) => return failure(&state, e),
    }
    let described = scope_descriptions(&state.settings, &grant);
    let action = original_path(&parts);
    page(
        &state,
        &parts,
        ACCEPT_DENY_TEMPLATE,
        |csrf| {
            context! {
                action => action,
                csrf_token => csrf,
                application => context! {
                    name => app.display_name(),
                    client_id => app.client_id.clone(),
                },
                user_code => display_user_code(&grant.user_code),
                scopes => described.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                scopes_descriptions => described.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
                scope_items => described
                    .iter()
                    .map(|(n, d)| context! { name => n, description => d })
                    .collect::<Vec<_>>(),
            }
        },
        StatusCode::OK,
    )
    .await
}

/// `POST {prefix}/device-confirm/<client_id>/<user_code>`: `action=accept|deny`.
pub async fn confirm_submit(
    State(state): State<Provider>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let session = Session::from_headers(&parts.headers, &state);
    if !csrf_valid(session.as_ref(), &params) {
        return forbidden(&state);
    }
    let (user, grant, _) = or_page!(load(&state, &parts, path, NO_SUCH_GRANT).await);
    let Some(decision) = single(&params, "action").and_then(Decision::parse) else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "Choose Accept or Deny.",
        );
    };
    match decide(&state.ctx(), &grant, user, decision).await {
        Ok(_) => redirect(&state, &status_location(&state, &grant)),
        Err(e) => failure(&state, e),
    }
}

/// The one value of a form field (none, or several, is `None`).
fn single<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    match params.all(name).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// `GET {prefix}/device-grant-status/<client_id>/<user_code>`.
pub async fn status_page(
    State(state): State<Provider>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let (_, grant, app) = or_page!(load(&state, &parts, path, GONE).await);
    let status = match current_status(&state.ctx(), &grant).await {
        Ok(s) => s,
        Err(e) => return failure(&state, e),
    };
    render(
        &state,
        STATUS_TEMPLATE,
        context! {
            status => status.as_str(),
            status_display => status_display(status),
            application => context! {
                name => app.display_name(),
                client_id => app.client_id.clone(),
            },
            user_code => display_user_code(&grant.user_code),
        },
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("AbC-1._~"), "AbC-1._~");
        assert_eq!(
            segment("https://app.example/c d"),
            "https%3A%2F%2Fapp.example%2Fc%20d"
        );
        assert_eq!(segment("é"), "%C3%A9");
    }
}
