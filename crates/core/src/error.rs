//! The error a protocol step returns, shaped like RFC 6749 §5.2: a code, a public
//! description, an HTTP status, and a private cause that is logged and never sent.

use std::fmt;

/// RFC 6749 / 6750 / 7009 / 8628 / OIDC error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    UnsupportedTokenType,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InsufficientScope,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
}

impl ErrorCode {
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
    pub code: ErrorCode,
    pub description: Option<String>,
    pub status: u16,
    pub cause: Option<Cause>,
    /// Seconds after which a refused caller may try again (`Retry-After`), for throttles.
    /// (Non-zero: a `Retry-After` of 0 says nothing, and the niche keeps the error small.)
    pub retry_after: Option<std::num::NonZeroU32>,
}

impl OAuthError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            status: code.default_status(),
            cause: None,
            retry_after: None,
        }
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

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

    pub fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(cause.into());
        self
    }

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
