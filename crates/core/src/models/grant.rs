use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::Id;

/// RFC 7636 `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChallengeMethod {
    /// `plain`: the verifier is compared as is.
    Plain,
    /// `S256`: the challenge is the base64url SHA-256 of the verifier.
    S256,
}

impl CodeChallengeMethod {
    /// The parameter value (`plain` or `S256`).
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::Plain => "plain",
            CodeChallengeMethod::S256 => "S256",
        }
    }
}

impl FromStr for CodeChallengeMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "plain" => Ok(CodeChallengeMethod::Plain),
            "S256" => Ok(CodeChallengeMethod::S256),
            other => Err(format!("unsupported code_challenge_method `{other}`")),
        }
    }
}

impl fmt::Display for CodeChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authorization code. The code itself is stored only as its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The row id.
    pub id: Id,
    /// The user who approved the request.
    pub user_id: Id,
    /// SHA-256 hex digest of the code (the lookup key; the plaintext is never stored).
    pub code_checksum: String,
    /// The application the code was issued to.
    pub application_id: Id,
    /// When the code stops being accepted.
    pub expires: OffsetDateTime,
    /// The `redirect_uri` of the authorization request; empty when it had none (the
    /// registered default was used, and the token request may omit it, RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The approved scopes, space-separated.
    pub scope: String,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
    /// The PKCE `code_challenge` of the authorization request; empty when it had none.
    pub code_challenge: String,
    /// How `code_challenge` was derived; `None` when the request had no challenge.
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// The OIDC `nonce` of the authorization request, echoed in the ID token; empty when none.
    pub nonce: String,
    /// JSON of the OIDC `claims` request (`{}` when none).
    pub claims: String,
    /// Tokens minted from this code carry this family (a replayed code revokes them).
    pub token_family: Uuid,
    /// When the code was exchanged (single use); `None` while unused.
    pub consumed: Option<OffsetDateTime>,
    /// When the user really authenticated in the session that approved (OIDC `auth_time`).
    pub auth_time: Option<OffsetDateTime>,
    /// The session id of that session (OIDC `sid`; empty when unknown).
    pub sid: String,
    /// When the row was written.
    pub created: OffsetDateTime,
    /// When the row was last changed.
    pub updated: OffsetDateTime,
}

/// The fields of an authorization code to write; the store digests the code and assigns the id
/// and timestamps.
#[derive(Clone)]
pub struct NewGrant {
    /// The user who approved the request.
    pub user_id: Id,
    /// The plaintext code handed to the client; only its digest is stored.
    pub code: String,
    /// The application the code is issued to.
    pub application_id: Id,
    /// When the code stops being accepted.
    pub expires: OffsetDateTime,
    /// The `redirect_uri` of the authorization request; empty when it had none.
    pub redirect_uri: String,
    /// The approved scopes, space-separated.
    pub scope: String,
    /// The resources (RFC 8707; absolute URIs, space-separated) it is bound to; empty: none.
    pub resource: String,
    /// The PKCE `code_challenge`; empty when none.
    pub code_challenge: String,
    /// How `code_challenge` was derived; `None` when there is no challenge.
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// The OIDC `nonce` of the request; empty when none.
    pub nonce: String,
    /// JSON of the OIDC `claims` request (`{}` when none).
    pub claims: String,
    /// The family the tokens minted from this code will carry.
    pub token_family: Uuid,
    /// When the user really authenticated (OIDC `auth_time`), if known.
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (OIDC `sid`), empty when unknown.
    pub sid: String,
}

impl std::fmt::Debug for NewGrant {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewGrant {
            user_id,
            code,
            application_id,
            expires,
            redirect_uri,
            scope,
            resource,
            code_challenge,
            code_challenge_method,
            nonce,
            claims,
            token_family,
            auth_time,
            sid,
        } = self;
        f.debug_struct("NewGrant")
            .field("user_id", user_id)
            .field("code", &crate::redact::Redacted(code))
            .field("application_id", application_id)
            .field("expires", expires)
            .field("redirect_uri", redirect_uri)
            .field("scope", scope)
            .field("resource", resource)
            .field("code_challenge", code_challenge)
            .field("code_challenge_method", code_challenge_method)
            .field("nonce", nonce)
            .field("claims", claims)
            .field("token_family", token_family)
            .field("auth_time", auth_time)
            .field("sid", sid)
            .finish()
    }
}

impl Grant {
    /// DOT's `Grant.is_expired`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        super::is_expired(self.expires, now)
    }

    /// DOT's `Grant.redirect_uri_allowed`: plain string equality with the URI used at authorize.
    pub fn redirect_uri_allowed(&self, uri: &str) -> bool {
        self.redirect_uri == uri
    }
}
