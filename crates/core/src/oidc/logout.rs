//! OpenID Connect RP-Initiated Logout 1.0: the `logout/` request read as steps.
//!
//! [`validate_logout`], in DOT's order:
//! 1. every parameter at most once (`invalid_request`);
//! 2. `id_token_hint`, when sent, is an ID token of ours (the colleague's fail-closed
//!    [`verify_id_token`]; expired ones pass while `oidc_rp_initiated_logout_accept_expired_tokens`);
//! 3. `client_id`, when sent, names a registered client (unknown → 400, never a 500: DOT
//!    #5), and agrees with the hint's audience when both are sent;
//! 4. the requesting client is the `client_id` one, else the hint's audience;
//! 5. `post_logout_redirect_uri` needs an identified client and must be registered for it
//!    (DOT §4.4 rules and messages, [`validate_post_logout_redirect_uri`]).
//!
//! Every failure is a 400 page: nothing is ever redirected to an unverified target.
//! [`must_prompt`] decides whether the user confirms; [`end_session`] deletes the tokens the
//! logout ends — only the requesting client's (DOT deletes every application's).

use crate::context::Ctx;
use crate::error::OAuthError;
use crate::models::{Application, Id};
use crate::params::Params;
use crate::redirect_uri::validate_post_logout_redirect_uri;
use crate::store::StoreError;

use super::id_token::verify_id_token;

/// The parameters of a logout request (RP-Initiated Logout §2), all optional.
pub const LOGOUT_PARAMETERS: [&str; 6] = [
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

/// Longest value accepted for any logout parameter (an ID token is well below this).
const MAX_PARAMETER_LENGTH: usize = 16 * 1024;

/// DOT's message when no client can be identified where one is needed.
pub const CLIENT_UNKNOWN: &str = "The client is unknown or no client has been included.";
/// DOT's message when the hint's audience and `client_id` differ.
pub const CLIENT_MISMATCH: &str =
    "Mismatch between the Client ID of the ID Token and the Client ID that was provided.";

/// A logout request that passed validation.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    /// The requesting client (from `client_id` or the hint's audience), when identified.
    pub application: Option<Application>,
    /// The validated post-logout redirect URI.
    pub post_logout_redirect_uri: Option<String>,
    /// The request's `state`, added to the post-logout redirect.
    pub state: Option<String>,
    /// The user the hint names, when its ID token record still exists (DOT: an "orphaned"
    /// hint, whose record was deleted by a logout or revocation, names nobody).
    pub hint_user: Option<Id>,
    /// The request's parameters as sent (non-empty ones), to carry through the confirmation.
    pub fields: Vec<(&'static str, String)>,
}

impl LogoutRequest {
    /// Where to send the user agent after the logout: the registered URI with `state` added
    /// to its query (§3), or `None` (show the "logged out" page).
    pub fn redirect_location(&self) -> Option<String> {
        let uri = self.post_logout_redirect_uri.as_deref()?;
        let params: Vec<(&str, &str)> = self
            .state
            .as_deref()
            .map(|s| vec![("state", s)])
            .unwrap_or_default();
        if params.is_empty() {
            return Some(uri.to_string());
        }
        Some(crate::authorization::redirect_location(
            uri,
            crate::authorization::ResponseMode::Query,
            &params,
        ))
    }
}

/// Validate a logout request (GET query or POST form).
pub async fn validate_logout(ctx: &Ctx<'_>, params: &Params) -> Result<LogoutRequest, OAuthError> {
    let mut fields = Vec::new();
    for name in LOGOUT_PARAMETERS {
        if let Some(v) = params.single(name)? {
            if v.len() > MAX_PARAMETER_LENGTH {
                return Err(OAuthError::invalid_request(format!(
                    "The {name} parameter is too long."
                )));
            }
            fields.push((name, v.to_string()));
        }
    }
    let one = |name: &str| params.single(name).ok().flatten();

    // 2. The hint.
    let hint = match one("id_token_hint") {
        Some(h) => Some(
            verify_id_token(
                ctx,
                h,
                ctx.settings
                    .oidc
                    .oidc_rp_initiated_logout_accept_expired_tokens,
            )
            .await?,
        ),
        None => None,
    };

    // 3–4. The client.
    let application = match one("client_id") {
        Some(client_id) => {
            if client_id.len() > 255 || client_id.chars().any(char::is_control) {
                return Err(OAuthError::invalid_request(CLIENT_UNKNOWN));
            }
            let app = match ctx.store.find_application_by_client_id(client_id).await {
                Ok(Some(app)) => app,
                Ok(None) | Err(StoreError::Invalid(_)) => {
                    tracing::debug!("logout request for an unknown client_id");
                    return Err(OAuthError::invalid_request(CLIENT_UNKNOWN));
                }
                Err(e) => return Err(OAuthError::from(e)),
            };
            if let Some(h) = &hint {
                if h.application.id != app.id {
                    return Err(OAuthError::invalid_request(CLIENT_MISMATCH));
                }
            }
            Some(app)
        }
        None => hint.as_ref().map(|h| h.application.clone()),
    };

    // 5. The redirect target.
    let post_logout_redirect_uri = match one("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let app = application
                .as_ref()
                .ok_or_else(|| OAuthError::invalid_request(CLIENT_UNKNOWN))?;
            validate_post_logout_redirect_uri(
                uri,
                &app.post_logout_redirect_uris,
                &ctx.settings.uri_rules(),
                ctx.settings
                    .oidc
                    .oidc_rp_initiated_logout_strict_redirect_uris,
                app.is_confidential(),
            )
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
            Some(uri.to_string())
        }
    };

    let hint_user = hint
        .as_ref()
        .filter(|h| h.row.is_some())
        .and_then(|h| h.user_id());
    Ok(LogoutRequest {
        application,
        post_logout_redirect_uri,
        state: one("state").map(str::to_owned),
        hint_user,
        fields,
    })
}

/// DOT's `must_prompt`: nobody logged in → no; `always_prompt` → yes; a hint that names
/// nobody, or another user than the session's → yes; no hint → yes (RP-Initiated Logout §2:
/// without a hint the OP should ask); else no.
pub fn must_prompt(ctx: &Ctx<'_>, request: &LogoutRequest, session_user: Option<Id>) -> bool {
    let Some(session_user) = session_user else {
        return false;
    };
    if ctx.settings.oidc.oidc_rp_initiated_logout_always_prompt {
        return true;
    }
    request.hint_user != Some(session_user)
}

/// What the logout ends besides the session: with `oidc_rp_initiated_logout_delete_tokens`,
/// the tokens of the user **whose session ends** issued to the requesting client — access and
/// ID tokens deleted, refresh tokens revoked. Returns how many access tokens went.
///
/// The hint is a hint, never a credential (RP-Initiated Logout §2): a request that ends no
/// session deletes nothing, and the tokens of the hint's user go only when that user is the
/// one logged in. Callers end a session only when the user confirmed or the hint names them.
pub async fn end_session(
    ctx: &Ctx<'_>,
    request: &LogoutRequest,
    session_user: Option<Id>,
) -> Result<u64, OAuthError> {
    let (Some(user), Some(app)) = (session_user, request.application.as_ref()) else {
        return Ok(0);
    };
    if !ctx.settings.oidc.oidc_rp_initiated_logout_delete_tokens {
        return Ok(0);
    }
    let n = ctx
        .store
        .delete_user_tokens_for_application(user, app.id, ctx.now)
        .await?;
    tracing::info!(client_id = %app.client_id, user_id = user, deleted = n, "RP-initiated logout deleted the client's tokens");
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_with_state() {
        let mut r = LogoutRequest {
            post_logout_redirect_uri: Some("http://example.org".into()),
            ..Default::default()
        };
        assert_eq!(r.redirect_location().as_deref(), Some("http://example.org"));
        r.state = Some("987654321".into());
        assert_eq!(
            r.redirect_location().as_deref(),
            Some("http://example.org?state=987654321")
        );
        r.post_logout_redirect_uri = Some("https://rp.example/bye?x=1".into());
        assert_eq!(
            r.redirect_location().as_deref(),
            Some("https://rp.example/bye?x=1&state=987654321")
        );
        r.post_logout_redirect_uri = None;
        assert_eq!(r.redirect_location(), None);
    }
}
