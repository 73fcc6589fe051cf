//! The UserInfo endpoint (OIDC Core §5.3): the claims of the user an access token was issued
//! for, released by its scopes and by the `claims` request of the authorization (§5.5).
//!
//! Errors follow RFC 6750 §3.1: a missing, unknown or expired token is `invalid_token` (401);
//! a valid token without the `openid` scope is `insufficient_scope` (403; DOT answers 401).

use serde_json::{Map, Value};

use super::claims::{account_claims, ClaimsRequest};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::hooks::{merge_claims, ClaimsTarget};
use crate::scopes::parse_scopes;
use crate::token_checksum::token_checksum;
use crate::users::account_by_id;

/// RFC 6750 `invalid_token`, with DOT's description.
pub fn invalid_token() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken).with_description(
        "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
    )
}

/// The claims for the bearer `token`.
pub async fn userinfo(ctx: &Ctx<'_>, token: &str) -> Result<Map<String, Value>, OAuthError> {
    if token.is_empty() || token.len() > 1024 {
        return Err(invalid_token());
    }
    let Some(at) = ctx.store.find_access_token(&token_checksum(token)).await? else {
        return Err(invalid_token());
    };
    if at.is_expired(ctx.now) {
        return Err(invalid_token());
    }
    let scopes = parse_scopes(&at.scope);
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(ErrorCode::InsufficientScope)
            .with_description("The access token was not granted the openid scope."));
    }
    let Some(user_id) = at.user_id else {
        return Err(OAuthError::new(ErrorCode::InsufficientScope)
            .with_description("The access token was not issued for a user."));
    };
    // A deactivated (or deleted) user's tokens are refused while they are.
    let account = match account_by_id(ctx, user_id).await? {
        Some(a) if a.is_active => a,
        _ => return Err(invalid_token()),
    };
    let request = match at.id_token_id {
        Some(id) => match ctx.store.get_id_token(id).await? {
            Some(row) => ClaimsRequest::parse(Some(&row.claims)),
            None => ClaimsRequest::default(),
        },
        None => ClaimsRequest::default(),
    };
    let mut claims = account_claims(&account, &scopes, &request.userinfo);
    let application = match at.application_id {
        Some(id) => ctx.store.get_application(id).await?,
        None => None,
    };
    let extra = ctx
        .hooks
        .claims
        .additional_claims(
            &account,
            application.as_ref(),
            &scopes,
            ClaimsTarget::Userinfo,
        )
        .await;
    merge_claims(&mut claims, extra);
    Ok(claims)
}
