//! The validated request: what the consent page shows and the approval needs, and who the user is.

use super::*;
use time::OffsetDateTime;

use crate::error::OAuthError;
use crate::models::{Application, CodeChallengeMethod, Id};
use crate::scopes::join_scopes;
use crate::settings::{ApprovalPrompt, Settings};

// ---------------------------------------------------------------------------------------------
// Prompt
// ---------------------------------------------------------------------------------------------

/// The OIDC `prompt` parameter as a set (unknown values are ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no login or consent page may be shown.
    pub none: bool,
    /// `login`: the user must authenticate again.
    pub login: bool,
    /// `consent`: the user must be asked even when consent was given before.
    pub consent: bool,
    /// `select_account`: the user should be able to choose an account.
    pub select_account: bool,
    /// `create`: the user should be offered to create an account.
    pub create: bool,
}

impl Prompt {
    /// Parse a space-separated `prompt` value.
    pub fn parse(value: &str) -> Prompt {
        let mut p = Prompt::default();
        for word in value.split(' ') {
            match word {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                "create" => p.create = true,
                _ => {}
            }
        }
        p
    }

    pub(super) fn others_than_none(self) -> bool {
        self.login || self.consent || self.select_account || self.create
    }
}

// ---------------------------------------------------------------------------------------------
// The validated request
// ---------------------------------------------------------------------------------------------

/// A request that passed [`validate`]: everything the consent page shows and the approval
/// needs.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client, found by `client_id`.
    pub application: Application,
    /// What the client asked to receive.
    pub response_type: ResponseType,
    /// How the answer travels back, resolved from `response_mode` and the response type.
    pub response_mode: ResponseMode,
    /// The URI the response goes to: the requested one, or the single registered one.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri` (RFC 6749 §4.1.3: then the token request
    /// must repeat it).
    pub redirect_uri_requested: bool,
    /// The resolved scopes (the defaults when none were requested).
    pub scopes: Vec<String>,
    /// RFC 8707 `resource` values (checked, without repeats): what the tokens are for.
    pub resources: Vec<String>,
    /// The client's `state`, echoed back in the response.
    pub state: Option<String>,
    /// PKCE `code_challenge` (RFC 7636).
    pub code_challenge: Option<String>,
    /// PKCE `code_challenge_method`, when a challenge was sent.
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// OIDC `nonce`, copied into the ID token.
    pub nonce: Option<String>,
    /// The OIDC `claims` request as sent (a JSON object).
    pub claims: Option<String>,
    /// OIDC `prompt`.
    pub prompt: Prompt,
    /// DOT's `approval_prompt`, or `request_approval_prompt` when the request sent none.
    pub approval_prompt: ApprovalPrompt,
    /// RFC 9207 issuer to add to responses, when configured.
    pub iss: Option<String>,
    /// OIDC `max_age` (seconds): an older authentication must be repeated.
    pub max_age: Option<i64>,
    /// OIDC `id_token_hint`, as sent (verified by [`authorize`]).
    pub id_token_hint: Option<String>,
}

/// The logged-in user as the authorization endpoint needs to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUser {
    /// The user's row in the provider's user table.
    pub id: Id,
    /// When the user really authenticated in this session (OIDC `auth_time`).
    pub auth_time: Option<OffsetDateTime>,
    /// The session id (OIDC `sid`).
    pub sid: Option<String>,
}

impl EndUser {
    /// A user known only by id (no session details).
    pub fn id_only(id: Id) -> EndUser {
        EndUser {
            id,
            auth_time: None,
            sid: None,
        }
    }
}

impl AuthorizationRequest {
    /// The `redirect_uri` parameter of the request: empty when it had none (the registered
    /// default is then used). Recorded on the code (RFC 6749 §4.1.3).
    pub fn requested_redirect_uri(&self) -> &str {
        if self.redirect_uri_requested {
            &self.redirect_uri
        } else {
            ""
        }
    }

    /// The scope string (space-joined).
    pub fn scope(&self) -> String {
        join_scopes(&self.scopes)
    }

    /// An error for this request's client, in this request's response mode.
    pub fn error_redirect(&self, error: OAuthError) -> AuthorizationError {
        AuthorizationError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            state: self.state.clone(),
            mode: self.response_mode,
            iss: self.iss.clone(),
        }
    }

    /// The hidden fields of the consent form (DOT's `AllowForm`), in DOT's order, then the
    /// resolved `response_mode` (so that the decision is answered the way it was asked).
    /// Absent values are empty strings.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            // Empty when the request had none, so that the decision is the same request.
            ("redirect_uri", self.requested_redirect_uri().to_string()),
            ("scope", self.scope()),
            ("nonce", opt(&self.nonce)),
            ("client_id", self.application.client_id.clone()),
            ("state", opt(&self.state)),
            ("response_type", self.response_type.as_str().to_string()),
            ("code_challenge", opt(&self.code_challenge)),
            (
                "code_challenge_method",
                self.code_challenge_method
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
            ),
            ("claims", opt(&self.claims)),
            ("response_mode", self.response_mode.as_str().to_string()),
        ]
        .into_iter()
        // One hidden field per resource, so that the decision is the same request.
        .chain(self.resources.iter().map(|r| ("resource", r.clone())))
        .collect()
    }

    /// `(scope, description)` for the consent page (DOT's `scopes_descriptions`).
    pub fn scope_descriptions(&self, settings: &Settings) -> Vec<(String, String)> {
        let all = settings.scopes();
        self.scopes
            .iter()
            .map(|s| (s.clone(), all.get(s).cloned().unwrap_or_else(|| s.clone())))
            .collect()
    }
}
