//! Why an authorization request failed, and where that answer goes (never to an untrusted URI).

use super::*;

use crate::error::OAuthError;
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an authorization request failed, and where the answer goes.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    /// The client or its redirect URI cannot be trusted: show an error page, never redirect.
    #[error("fatal authorization error: {0}")]
    Fatal(OAuthError),
    /// Send the error to the client's (validated) redirect URI.
    #[error("authorization error for the client: {error}")]
    Redirect {
        /// The client's validated redirect URI.
        redirect_uri: String,
        /// The error to send.
        error: OAuthError,
        /// The request's `state`, echoed back.
        state: Option<String>,
        /// How the error travels to the client.
        mode: ResponseMode,
        /// RFC 9207 `iss`, when `compliant_bcp_rfc9700_authz_response_iss` is on.
        iss: Option<String>,
    },
}

impl AuthorizationError {
    /// The `Location` of a redirected error (RFC 6749 §4.1.2.1 / §4.2.2.1); `None` if fatal
    /// or sent with `form_post` (use [`AuthorizationError::response`]).
    pub fn location(&self) -> Option<String> {
        self.response()?.location()
    }

    /// The error response for the client; `None` if fatal.
    pub fn response(&self) -> Option<ClientResponse> {
        match self {
            AuthorizationError::Fatal(_) => None,
            AuthorizationError::Redirect {
                redirect_uri,
                error,
                state,
                mode,
                iss,
            } => {
                let mut params: Vec<(&str, &str)> = vec![("error", error.code.as_str())];
                if let Some(d) = &error.description {
                    params.push(("error_description", d));
                }
                if let Some(s) = state {
                    params.push(("state", s));
                }
                if let Some(i) = iss {
                    params.push(("iss", i));
                }
                Some(ClientResponse::new(redirect_uri, *mode, &params))
            }
        }
    }

    /// The protocol error itself.
    pub fn error(&self) -> &OAuthError {
        match self {
            AuthorizationError::Fatal(e) => e,
            AuthorizationError::Redirect { error, .. } => error,
        }
    }

    /// DOT's `url` template variable for a fatal error: `?error=…&error_description=…`.
    pub fn fatal_query(&self) -> String {
        let e = self.error();
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("error", e.code.as_str());
        if let Some(d) = &e.description {
            s.append_pair("error_description", d);
        }
        format!("?{}", s.finish())
    }
}

pub(super) fn fatal(description: &str) -> AuthorizationError {
    AuthorizationError::Fatal(OAuthError::invalid_request(description))
}

pub(super) fn store_failure(request: &AuthorizationRequest, e: StoreError) -> AuthorizationError {
    let err = OAuthError::from(e);
    tracing::error!(error = %err, cause = ?err.cause, "cannot store the authorization code");
    request.error_redirect(strip_cause(err))
}

/// The client sees the code and description; the cause has been logged.
pub(super) fn strip_cause(mut e: OAuthError) -> OAuthError {
    e.cause = None;
    e
}
