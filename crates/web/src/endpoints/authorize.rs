//! `GET|POST authorize/` (RFC 6749 §3.1): login, prompt handling, the consent page and the
//! consent decision. The protocol is in `oauth_toolkit_core::authorization`; this module
//! only reads the request and turns the outcome into HTTP.
//!
//! A `POST` is one of two things, told apart by the consent form's CSRF field
//! (`csrfmiddlewaretoken`):
//!
//! * with it, the consent decision (CSRF-checked; a bad or missing token is a 403);
//! * without it, an authorization request sent by POST (OIDC Core §3.1.2.1: the endpoint
//!   MUST support GET and POST), form-encoded, handled exactly as the same parameters by GET.
//!   The query string is not read: the parameters are the form body's.
//!
//! The second kind needs no CSRF token because it cannot do anything a GET cannot: every
//! decision to answer the client without a consent click (a `skip_authorization`
//! application, an existing grant, `prompt=none`) is also taken for the same request by GET,
//! which any site can trigger with a link, and `allow` and every consent-form field are
//! ignored on this path. Only the consent decision approves, and it needs the CSRF token.
//! (The session cookie is `SameSite=Lax`, so a cross-site POST even arrives logged out:
//! the user is sent to the login page, or `prompt=none` gets `login_required`.)
//!
//!
//! | outcome | response |
//! |---|---|
//! | nobody logged in | 302 to `login_url?next=<this request>` |
//! | fatal error (client / redirect URI) | 400 page, no `Location` |
//! | error for the client | 302 to the redirect URI, error in query or fragment |
//! | auto-approved, or consent decided | 302 to the redirect URI |
//! | either, with `response_mode=form_post` | 200 auto-submitting form ([`super::form_post`]) |
//! | consent needed | 200 consent page (CSRF-protected form) |

use axum::extract::{OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::authorization::{
    self, AuthorizationError, AuthorizationRequest, EndUser, Next,
};
use oauth_toolkit_core::error::OAuthError;
use oauth_toolkit_core::params::Params;

use super::form_post::client_response;
use crate::csrf::{csrf_valid, forbidden, CSRF_FIELD};
use crate::form::parse_urlencoded;
use crate::pages::login::read_form;
use crate::pages::{login_location, redirect, render, set_cookie};
use crate::session::Session;
use crate::Provider;

/// The consent page and the fatal-error page (DOT's name).
pub const AUTHORIZE_TEMPLATE: &str = "oauth2_provider/authorize.html";

/// The path (with the mount prefix) this request was sent to.
pub(crate) fn original_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

/// The GET URL (path and query) of this authorization request, as `next` for the login
/// page; with `prompt` removed when asked (so that the login is not requested again after
/// it). `raw_query` is the GET request's query, kept as sent; a POST has none, and its
/// parameters are encoded into the query (the login page continues with a GET).
fn next_of(path: &str, params: &Params, raw_query: Option<&str>, strip_prompt: bool) -> String {
    let query = match raw_query {
        Some(raw) if !strip_prompt => raw.to_string(),
        _ => form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                params
                    .iter()
                    .filter(|(k, _)| !strip_prompt || *k != "prompt"),
            )
            .finish(),
    };
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// `GET authorize/`: an authorization request.
pub async fn authorize_get(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let params = parse_urlencoded(raw_query.as_bytes());
    authorization_request(&state, &parts, &params, Some(&raw_query)).await
}

/// An authorization request, by GET (`raw_query`: its query) or by POST (`None`).
async fn authorization_request(
    state: &Provider,
    parts: &Parts,
    params: &Params,
    raw_query: Option<&str>,
) -> Response {
    let end_user = match state.current_user.current_user(parts, state).await {
        Some(user) => match end_user(state, &user).await {
            Ok(found) => found,
            Err(e) => return error_response(state, AuthorizationError::Fatal(e)),
        },
        None => None,
    };
    let ctx = state.ctx();
    let outcome = authorization::authorize(&ctx, params, end_user.as_ref()).await;
    match outcome {
        Ok(Next::Login {
            strip_prompt,
            reauthenticate,
        }) => {
            let next = next_of(&original_path(parts), params, raw_query, strip_prompt);
            if reauthenticate {
                // prompt=login: the user signs in again on the login page (which `next`
                // brings back here without the prompt). The current session stays until
                // that login succeeds, so a cross-site link with prompt=login cannot log
                // anyone out.
                tracing::debug!("prompt=login: asking the user to log in again");
            }
            redirect(state, &login_location(&state.settings, &next))
        }
        Ok(Next::Consent(request)) => {
            let user = end_user.as_ref().map(|u| u.id);
            consent_page(state, parts, &request, user).await
        }
        Ok(Next::Redirect(response)) => client_response(state, &response),
        Err(e) => error_response(state, e),
    }
}

/// `POST authorize/`: with the consent form's CSRF field, the consent decision
/// (CSRF-checked; every field is validated again); without it, an authorization request
/// sent by POST (see the module documentation for why that needs no CSRF token).
pub async fn authorize_post(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if params.all(CSRF_FIELD).is_empty() {
        // Not the consent form: an authorization request, never a decision. Auto-approval
        // (skip_authorization, an existing grant, prompt=none) is exactly what the same
        // request by GET gets, so a cross-site POST gains nothing over a link.
        return authorization_request(&state, &parts, &params, None).await;
    }
    let session = Session::from_headers(&parts.headers, &state);
    if !csrf_valid(session.as_ref(), &params) {
        return forbidden(&state);
    }
    let user = match state.current_user.current_user(&parts, &state).await {
        Some(user) => match end_user(&state, &user).await {
            Ok(found) => found,
            Err(e) => return error_response(&state, AuthorizationError::Fatal(e)),
        },
        None => None,
    };
    let Some(user) = user else {
        // Logged out meanwhile: log in again, then see the consent page again.
        let params: Params = params
            .iter()
            .filter(|(k, _)| *k != CSRF_FIELD && *k != "allow")
            .collect();
        let next = next_of(&original_path(&parts), &params, None, true);
        return redirect(&state, &login_location(&state.settings, &next));
    };
    let allow = is_truthy(params.all("allow").first().copied());
    let ctx = state.ctx();
    match authorization::decide(&ctx, &params, &user, allow).await {
        Ok(response) => client_response(&state, &response),
        Err(e) => error_response(&state, e),
    }
}

/// The session's user as the protocol core sees them (`auth_time` and `sid` feed OIDC);
/// `None` when the subject names no user.
async fn end_user(
    state: &Provider,
    user: &crate::session::SessionUser,
) -> Result<Option<EndUser>, OAuthError> {
    let id = user
        .local_id(state)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(id.map(|id| EndUser {
        id,
        auth_time: time::OffsetDateTime::from_unix_timestamp(user.auth_time).ok(),
        sid: user.sid.clone(),
    }))
}

/// Django's checkbox rule: absent, empty and "false" (any case) are false.
fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
}

async fn consent_page(
    state: &Provider,
    parts: &Parts,
    request: &AuthorizationRequest,
    user_id: Option<oauth_toolkit_core::models::Id>,
) -> Response {
    let (session, new) = Session::current_or_new(&parts.headers, state);
    // The header names who is consenting (a failed read only leaves the name out).
    let current_user = match user_id {
        Some(id) => state.store.get_user(id).await.ok().flatten().map(|u| {
            context! { username => u.username, is_staff => u.is_staff }
        }),
        None => None,
    };
    let fields: Vec<_> = request
        .form_fields()
        .into_iter()
        .map(|(name, value)| context! { name => name, value => value })
        .collect();
    let described = request.scope_descriptions(&state.settings);
    let app = &request.application;
    let mut resp = render(
        state,
        AUTHORIZE_TEMPLATE,
        context! {
            application => context! {
                name => app.display_name(),
                client_id => app.client_id.clone(),
            },
            action => original_path(parts),
            csrf_token => session.csrf.clone(),
            form_fields => fields,
            client_id => app.client_id.clone(),
            redirect_uri => request.redirect_uri.clone(),
            response_type => request.response_type.as_str(),
            state => request.state.clone().unwrap_or_default(),
            scopes => request.scopes.clone(),
            scopes_descriptions => described.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
            scope_items => described
                .iter()
                .map(|(n, d)| context! { name => n, description => d })
                .collect::<Vec<_>>(),
            code_challenge => request.code_challenge.clone().unwrap_or_default(),
            code_challenge_method => request
                .code_challenge_method
                .map(|m| m.as_str())
                .unwrap_or_default(),
            nonce => request.nonce.clone().unwrap_or_default(),
            claims => request.claims.clone().unwrap_or_default(),
            current_user => current_user,
            resources => request.resources.clone(),
        },
        StatusCode::OK,
    );
    if new {
        set_cookie(&mut resp, session.set_cookie(state));
    }
    resp
}

/// A fatal error renders the page (its status, no `Location`); any other goes to the client.
fn error_response(state: &Provider, e: AuthorizationError) -> Response {
    if let Some(response) = e.response() {
        tracing::debug!(error = %e.error(), "authorization error sent to the client");
        return client_response(state, &response);
    }
    let err = e.error();
    if err.status >= 500 {
        tracing::error!(error = %err, cause = ?err.cause, "authorization request failed");
    } else {
        tracing::debug!(error = %err, "authorization request refused");
    }
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    render(
        state,
        AUTHORIZE_TEMPLATE,
        context! {
            error => context! {
                error => err.code.as_str(),
                description => err.description.clone().unwrap_or_default(),
            },
            url => e.fatal_query(),
        },
        status,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_like_django() {
        assert!(is_truthy(Some("Authorize")));
        assert!(is_truthy(Some("True")));
        assert!(is_truthy(Some("0")));
        assert!(!is_truthy(Some("False")));
        assert!(!is_truthy(Some("")));
        assert!(!is_truthy(None));
    }

    #[test]
    fn next_without_prompt() {
        let p = parse_urlencoded(b"client_id=a&prompt=login&scope=read+write");
        assert_eq!(
            next_of(
                "/o/authorize/",
                &p,
                Some("client_id=a&prompt=login&scope=read+write"),
                true
            ),
            "/o/authorize/?client_id=a&scope=read+write"
        );
        assert_eq!(
            next_of("/o/authorize/", &p, Some("x=1"), false),
            "/o/authorize/?x=1"
        );
        assert_eq!(
            next_of("/o/authorize/", &Params::default(), Some(""), false),
            "/o/authorize/"
        );
    }

    #[test]
    fn next_of_a_post_is_its_get_url() {
        let p = parse_urlencoded(b"client_id=a&prompt=login&scope=read+write");
        assert_eq!(
            next_of("/o/authorize/", &p, None, false),
            "/o/authorize/?client_id=a&prompt=login&scope=read+write"
        );
        assert_eq!(
            next_of("/o/authorize/", &p, None, true),
            "/o/authorize/?client_id=a&scope=read+write"
        );
    }
}
