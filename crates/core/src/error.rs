//! The error a protocol step returns, shaped like RFC 6749 §5.2: a code, a public
//! description, an HTTP status, and a private cause that is logged and never sent.

use std::fmt;

/// RFC 6749 / 6750 / 7009 / 8628 / OIDC error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed (RFC 6749 §5.2).
    InvalidRequest,
    /// `invalid_client`: client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// `invalid_grant`: the code, refresh token or credentials are invalid, expired or revoked
    /// (RFC 6749 §5.2).
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant or response type (RFC 6749
    /// §5.2).
    UnauthorizedClient,
    /// `unsupported_grant_type`: the provider does not support this grant type (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is unknown or not allowed (RFC 6749 §5.2).
    InvalidScope,
    /// `access_denied`: the user or the provider refused (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// `unsupported_response_type`: the provider does not support this response type (RFC 6749
    /// §4.1.2.1).
    UnsupportedResponseType,
    /// `unsupported_token_type`: revocation of this token type is not supported (RFC 7009
    /// §2.2.1).
    UnsupportedTokenType,
    /// `server_error`: an internal failure; the cause is only logged.
    ServerError,
    /// `temporarily_unavailable`: the provider is overloaded or its store is down; try again
    /// later.
    TemporarilyUnavailable,
    /// `invalid_token`: the bearer token is missing, expired, revoked or malformed (RFC 6750
    /// §3.1).
    InvalidToken,
    /// `insufficient_scope`: the bearer token lacks a scope the resource needs (RFC 6750 §3.1).
    InsufficientScope,
    /// `authorization_pending`: the user has not decided yet; keep polling (RFC 8628 §3.5).
    AuthorizationPending,
    /// `slow_down`: polling too fast; add 5 seconds to the interval (RFC 8628 §3.5).
    SlowDown,
    /// `expired_token`: the device code expired (RFC 8628 §3.5).
    ExpiredToken,
    /// `login_required`: `prompt=none` and no signed-in user (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `consent_required`: `prompt=none` and consent is needed (OIDC Core §3.1.2.6).
    ConsentRequired,
    /// `interaction_required`: `prompt=none` and the user must act on a page (OIDC Core
    /// §3.1.2.6).
    InteractionRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// `invalid_target`: a `resource` is malformed, unknown or beyond what was granted
    /// (RFC 8707 §2).
    InvalidTarget,
}

impl ErrorCode {
    /// The code as sent in the `error` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidTarget => "invalid_target",
        }
    }

    /// The status RFC 6749 §5.2 / RFC 6750 §3.1 give this code at the token endpoint.
    pub fn default_status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A protocol error. `description` is public; `cause` is for logs only.
#[derive(Debug)]
pub struct OAuthError {
    /// What went wrong, as the `error` parameter.
    pub code: ErrorCode,
    /// The public `error_description`; never holds secrets or internals.
    pub description: Option<String>,
    /// The HTTP status of the response.
    pub status: u16,
    /// The internal failure behind it, for the log only; never sent.
    pub cause: Option<Cause>,
    /// Seconds after which a refused caller may try again (`Retry-After`), for throttles.
    /// (Non-zero: a `Retry-After` of 0 says nothing, and the niche keeps the error small.)
    pub retry_after: Option<std::num::NonZeroU32>,
}

impl OAuthError {
    /// An error with this code, its default status and no description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            status: code.default_status(),
            cause: None,
            retry_after: None,
        }
    }

    /// Set the public `error_description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Answer with this HTTP status instead of the code's default.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Ask the caller to wait `seconds` (at least 1) before trying again.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        let seconds = u32::try_from(seconds.max(1)).unwrap_or(u32::MAX);
        self.retry_after = std::num::NonZeroU32::new(seconds);
        self
    }

    /// Keep `cause` for the log (the client never sees it).
    pub fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// An `invalid_request` with this description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest).with_description(description)
    }

    /// An internal failure: the cause is kept for the log, the client sees `server_error`.
    pub fn server_error(cause: impl Into<Cause>) -> Self {
        Self::new(ErrorCode::ServerError).with_cause(cause)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        // Descriptions can quote request input: control characters are escaped, so an
        // error logged with `%` cannot forge log lines.
        if let Some(d) = &self.description {
            write!(f, ": {}", crate::redact::Sanitized(d))?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(_) => {
                OAuthError::new(ErrorCode::TemporarilyUnavailable).with_cause(e)
            }
            crate::store::StoreError::Invalid(_) => {
                OAuthError::invalid_request("Invalid characters in the request.").with_cause(e)
            }
            // Deleted while the request was in flight (or while a cached client
            // authentication was still remembered): the request's fault, not a 500.
            crate::store::StoreError::MissingReference(_) => {
                OAuthError::new(ErrorCode::InvalidGrant)
                    .with_description("The client, user or grant of this request no longer exists.")
                    .with_cause(e)
            }
            _ => OAuthError::server_error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_rfc_6749() {
        assert_eq!(OAuthError::new(ErrorCode::InvalidClient).status, 401);
        assert_eq!(OAuthError::new(ErrorCode::InvalidGrant).status, 400);
        assert_eq!(
            OAuthError::invalid_request("Missing grant type").to_string(),
            "invalid_request: Missing grant type"
        );
    }

    #[test]
    fn cause_is_not_in_display() {
        let e = OAuthError::server_error(std::io::Error::other("db password=hunter2"));
        assert_eq!(e.to_string(), "server_error");
        assert!(std::error::Error::source(&e).is_some());
    }
}
