//! RFC 7009 token revocation (DOT's view), read as a list of steps:
//!
//! 1. read `token` (required) and `token_type_hint` (an unknown hint is ignored, §2.1);
//! 2. authenticate the client as at the token endpoint (public clients by `client_id`);
//! 3. look the token up by its digest **among the client's own tokens**, in the hinted table
//!    first and then the other (§2.1: "MUST extend its search");
//! 4. revoke it: an access token takes its bound refresh token with it, a refresh token takes
//!    its access token with it (§2: "SHOULD also invalidate" related tokens).
//!
//! Unknown tokens, already revoked tokens and other clients' tokens all answer 200 (§2.2):
//! a client cannot learn whether a value it does not own exists.

use crate::client_auth::{authenticate_client, extract_credentials, Requirement};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::models::Application;
use crate::params::Params;
use crate::token_checksum::token_checksum;

/// RFC 7009 §2.1 / RFC 7662 §2.1 `token_type_hint` values we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The hint, or `None` for an absent or unknown value (which is ignored, not an error).
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            Some("access_token") => Some(Self::AccessToken),
            Some("refresh_token") => Some(Self::RefreshToken),
            _ => None,
        }
    }

    /// The tables to search, hinted one first (access tokens first without a hint).
    pub fn search_order(hint: Option<Self>) -> [Self; 2] {
        match hint {
            Some(Self::RefreshToken) => [Self::RefreshToken, Self::AccessToken],
            _ => [Self::AccessToken, Self::RefreshToken],
        }
    }
}

/// What a revocation request did (for logs and events; the response is the same 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// An access token of the client was deleted (and its refresh token revoked).
    AccessToken,
    /// A refresh token of the client was revoked (and its access token deleted).
    RefreshToken,
    /// No token of this client has this value (or it was already revoked).
    Nothing,
}

/// A handled revocation request.
#[derive(Debug)]
pub struct RevocationOutcome {
    /// The authenticated client (the web layer decides CORS on it).
    pub client: Application,
    /// What the request did.
    pub revoked: Revoked,
}

/// Handle `POST revoke_token/`. `params` is the form body; `authorization` the
/// `Authorization` header value, if any.
pub async fn revoke_token(
    ctx: &Ctx<'_>,
    authorization: Option<&str>,
    params: &Params,
) -> Result<RevocationOutcome, OAuthError> {
    let token = params.required("token")?;
    let hint = TokenTypeHint::parse(params.single("token_type_hint")?);
    let credentials = extract_credentials(authorization, params)?;
    let client = authenticate_client(ctx, credentials.as_ref(), Requirement::ByClientType)
        .await
        .inspect_err(|e| {
            if e.code == ErrorCode::InvalidClient {
                tracing::info!(
                    client_id = ?credentials.as_ref().map(|c| &c.client_id),
                    "revocation: client authentication failed"
                );
            }
        })?;
    let revoked = revoke_client_token(ctx, &client, token, hint).await?;
    tracing::info!(client_id = %client.client_id, ?revoked, "token revocation");
    Ok(RevocationOutcome { client, revoked })
}

/// Steps 3 and 4: find `token` among `client`'s tokens and revoke it.
pub async fn revoke_client_token(
    ctx: &Ctx<'_>,
    client: &Application,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<Revoked, OAuthError> {
    let checksum = token_checksum(token);
    for kind in TokenTypeHint::search_order(hint) {
        match kind {
            TokenTypeHint::AccessToken => {
                let found = ctx.store.find_access_token(&checksum).await?;
                if let Some(at) = found.filter(|at| at.application_id == Some(client.id)) {
                    ctx.store.revoke_access_token(at.id, ctx.now).await?;
                    return Ok(Revoked::AccessToken);
                }
            }
            TokenTypeHint::RefreshToken => {
                let found = ctx.store.find_refresh_token(&checksum).await?;
                if let Some(rt) = found.filter(|rt| rt.application_id == client.id) {
                    // Already revoked: a no-op, still a success (§2.2).
                    let now_revoked = ctx.store.revoke_refresh_token(rt.id, ctx.now).await?;
                    return Ok(if now_revoked {
                        Revoked::RefreshToken
                    } else {
                        Revoked::Nothing
                    });
                }
            }
        }
    }
    Ok(Revoked::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        use TokenTypeHint::*;
        assert_eq!(
            TokenTypeHint::parse(Some("access_token")),
            Some(AccessToken)
        );
        assert_eq!(
            TokenTypeHint::parse(Some("refresh_token")),
            Some(RefreshToken)
        );
        assert_eq!(TokenTypeHint::parse(Some("bad_hint")), None);
        assert_eq!(TokenTypeHint::parse(Some("Refresh_Token")), None);
        assert_eq!(TokenTypeHint::parse(None), None);
        assert_eq!(
            TokenTypeHint::search_order(None),
            [AccessToken, RefreshToken]
        );
        assert_eq!(
            TokenTypeHint::search_order(Some(AccessToken)),
            [AccessToken, RefreshToken]
        );
        assert_eq!(
            TokenTypeHint::search_order(Some(RefreshToken)),
            [RefreshToken, AccessToken]
        );
    }
}
