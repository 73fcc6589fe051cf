//! Cross-site request forgery protection for the provider's own forms: every form carries
//! the session's token in a hidden `csrfmiddlewaretoken` field (Django's name), and a POST
//! is refused with 403 unless the field equals the token of the session cookie. The cookie
//! is `SameSite=Lax`, so a cross-site POST does not even carry it.

use axum::http::StatusCode;
use axum::response::Response;
use oauth_toolkit_core::params::Params;
use subtle::ConstantTimeEq;

use crate::session::Session;
use crate::Provider;

/// The hidden form field holding the token.
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// True when `params` carries exactly one token and it equals the session's (constant time).
pub fn csrf_valid(session: Option<&Session>, params: &Params) -> bool {
    let Some(session) = session else {
        return false;
    };
    let sent = params.all(CSRF_FIELD);
    let [sent] = sent.as_slice() else {
        return false;
    };
    !session.csrf.is_empty()
        && sent.len() == session.csrf.len()
        && bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes()))
}

/// The 403 page of a failed check.
pub fn forbidden(state: &Provider) -> Response {
    tracing::info!("CSRF verification failed");
    crate::pages::error_page(
        state,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "CSRF verification failed. Request aborted.",
    )
}
