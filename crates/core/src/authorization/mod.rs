//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–4.1.2, §4.2.1–4.2.2) as pure steps:
//! validate the request, decide what the user agent sees next, and issue or refuse.
//!
//! Read [`validate`] as the list DOT and oauthlib apply:
//!
//! 1. duplicated `client_id`, `response_type`, `redirect_uri`, `scope` or `state` → fatal;
//! 2. `client_id` missing or unknown → fatal;
//! 3. `redirect_uri` checked against the registration (or the single registered URI used) →
//!    fatal when it fails. Only from here on is the redirect URI trusted;
//! 4. `response_type` present, known, implemented, allowed for the client's grant type →
//!    else an error *redirected to the client*;
//! 5. PKCE (RFC 7636) for response types that issue a code;
//! 6. `scope`, `nonce`, `claims`, `prompt`, `approval_prompt`.
//!
//! A fatal error is shown to the user (the web layer renders a page, status 400) and never
//! redirects, so an attacker cannot use the endpoint as an open redirector, and the registered
//! URIs are never disclosed. Any later error is sent back to the client: in the query for
//! response types that issue a code, in the fragment for those that issue tokens from this
//! endpoint (RFC 6749 §4.2.2.1; DOT always uses the query), or, with
//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode), in an auto-submitting form
//! the web layer renders from the [`ClientResponse`].
//!
//! [`authorize`] runs the GET side (login and prompt handling, auto-approval, consent page),
//! [`decide`] the consent POST. Neither knows HTTP: they return locations and decisions.

mod decisions;
mod errors;
mod request;
mod response;
#[cfg(test)]
mod tests;
mod validate;

pub use decisions::*;
pub use errors::*;
pub use request::*;
pub use response::*;
pub use validate::*;
