//! RFC 6749 §4.1.3: exchanging an authorization code, with PKCE (RFC 7636) and replay
//! detection: a code presented twice is refused and the tokens issued from it are revoked
//! (RFC 6749 §4.1.2; DOT only refuses).
//!
//! Every check runs before the code is spent, so a code presented by another client, with a
//! wrong verifier or redirect URI, or for a deactivated user stays redeemable by its own
//! client. Spending it and writing the tokens (ID token record, access token, refresh token)
//! is one store transaction ([`GrantStore::redeem_grant`](crate::store::GrantStore)), so a
//! concurrent replay revokes either all of the winner's rows or finds none yet and waits.

use async_trait::async_trait;

use super::GrantHandler;
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::issuance::{mint, Issue, TokenResponse};
use crate::models::{Application, CodeChallengeMethod, Grant, GrantType};
use crate::oidc::{prepare_id_token, wants_id_token, IdTokenSpec};
use crate::params::Params;
use crate::pkce;
use crate::resource_indicators::{narrow, requested};
use crate::store::Redemption;
use crate::token_checksum::token_checksum;
use crate::user_status::user_allowed;

/// `grant_type=authorization_code` (RFC 6749 §4.1.3): exchanges a code, with PKCE and OIDC.
pub struct AuthorizationCodeGrant;

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant).with_description(description)
}

fn invalid_code() -> OAuthError {
    invalid_grant("Invalid authorization code.")
}

#[async_trait]
impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> &'static str {
        "authorization_code"
    }

    fn allowed_for(&self) -> &'static [GrantType] {
        &[GrantType::AuthorizationCode, GrantType::OpenIdHybrid]
    }

    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let code = params.required("code")?;
        let redirect_uri = params.single("redirect_uri")?;
        let verifier = params.single("code_verifier")?;

        let Some(grant) = ctx.store.find_grant(&token_checksum(code)).await? else {
            return Err(invalid_code());
        };
        if grant.application_id != client.id {
            // Another client's code: refused, and left for its own client.
            tracing::info!(client_id = %client.client_id, grant_id = grant.id, "authorization code of another client presented");
            return Err(invalid_code());
        }
        if grant.consumed.is_some() {
            return replayed(ctx, client, &grant).await;
        }
        if grant.is_expired(ctx.now) {
            return Err(invalid_code());
        }
        if !user_allowed(ctx, grant.user_id).await? {
            tracing::info!(client_id = %client.client_id, user_id = grant.user_id, "authorization code of an inactive user refused");
            return Err(invalid_code());
        }
        check_pkce(ctx, &grant, verifier)?;
        check_redirect_uri(client, &grant, redirect_uri)?;

        // RFC 8707: the code's resources, or fewer of them.
        let resource = narrow(&requested(params)?, &grant.resource)?;
        let issue_spec = Issue {
            application: client,
            user_id: Some(grant.user_id),
            scope: grant.scope.clone(),
            family: Some(grant.token_family),
            with_refresh_token: true,
            resource,
            refresh_resource: grant.resource.clone(),
        };
        let minted = mint(ctx, &issue_spec);
        // OpenID Connect (Core §3.1.3.3): an ID token with the nonce, auth_time and sid of
        // the authorization, recorded with (and linked to) the access token issued with it.
        let id_token = if wants_id_token(ctx.settings, &grant.scope) {
            let spec = IdTokenSpec {
                user_id: grant.user_id,
                scope: &grant.scope,
                nonce: Some(grant.nonce.as_str()),
                auth_time: grant.auth_time,
                sid: Some(grant.sid.as_str()),
                claims_request: Some(grant.claims.as_str()),
                access_token: Some(&minted.access_token),
                ..IdTokenSpec::default()
            };
            Some(prepare_id_token(ctx, client, &spec).await?)
        } else {
            None
        };
        let record = id_token.as_ref().map(|t| t.record.clone());
        match ctx
            .store
            .redeem_grant(grant.id, client.id, record, minted.pair.clone(), ctx.now)
            .await?
        {
            Redemption::Issued(_) => {
                tracing::info!(
                    client_id = %client.client_id,
                    user_id = grant.user_id,
                    id_token = id_token.is_some(),
                    "authorization code exchanged"
                );
                let mut response = minted.response(grant.scope.clone());
                response.id_token = id_token.map(|t| t.jwt);
                Ok(response)
            }
            // A concurrent exchange spent it first (and has committed): we are a replay.
            Redemption::NotRedeemable => match ctx.store.find_grant(&grant.code_checksum).await? {
                Some(now) if now.consumed.is_some() && now.application_id == client.id => {
                    replayed(ctx, client, &now).await
                }
                _ => Err(invalid_code()),
            },
        }
    }
}

/// RFC 6749 §4.1.2: a used code presented again by its client revokes every token issued
/// from it (one transaction, after the first exchange committed).
async fn replayed(
    ctx: &Ctx<'_>,
    client: &Application,
    grant: &Grant,
) -> Result<TokenResponse, OAuthError> {
    let revoked = ctx
        .store
        .revoke_token_family(grant.token_family, ctx.now)
        .await?;
    metrics::counter!("oauth_authorization_code_replays_total").increment(1);
    tracing::warn!(
        client_id = %client.client_id,
        grant_id = grant.id,
        revoked_refresh_tokens = revoked,
        "authorization code replayed: tokens issued from it revoked"
    );
    Err(invalid_code())
}

/// PKCE (RFC 7636 §4.6). A verifier for a code issued without a challenge is refused
/// (RFC 9700 §2.1.1: otherwise an attacker who injects a stolen code without PKCE passes any
/// verifier the victim's client sends).
fn check_pkce(ctx: &Ctx<'_>, grant: &Grant, verifier: Option<&str>) -> Result<(), OAuthError> {
    if grant.code_challenge.is_empty() {
        return match verifier {
            Some(_) => Err(invalid_grant(
                "A code_verifier was sent for a code issued without a code_challenge.",
            )),
            None if ctx.settings.provider.pkce_required => {
                Err(OAuthError::invalid_request("Code verifier required."))
            }
            None => Ok(()),
        };
    }
    let verifier =
        verifier.ok_or_else(|| OAuthError::invalid_request("Code verifier required."))?;
    let method = grant
        .code_challenge_method
        .unwrap_or(CodeChallengeMethod::Plain);
    if !pkce::verify(verifier, &grant.code_challenge, method) {
        return Err(invalid_grant("Code verifier does not match the challenge."));
    }
    Ok(())
}

/// RFC 6749 §4.1.3: when the authorization request carried `redirect_uri` (recorded on the
/// grant), the token request must carry the identical value (missing: `invalid_request`;
/// different: `invalid_grant`, §5.2). When it did not (the grant records an empty one), the
/// token request may omit it, and a value it sends must be the registered URI that was used.
fn check_redirect_uri(
    client: &Application,
    grant: &Grant,
    sent: Option<&str>,
) -> Result<(), OAuthError> {
    let matches = match (grant.redirect_uri.is_empty(), sent) {
        (false, None) => return Err(OAuthError::invalid_request("Missing redirect URI.")),
        (false, Some(uri)) => grant.redirect_uri_allowed(uri),
        (true, None) => true,
        (true, Some(uri)) => client.default_redirect_uri() == Some(uri),
    };
    if !matches {
        tracing::debug!(
            client_id = %client.client_id,
            "redirect_uri differs from the one of the authorization request (RFC 6749 section 4.1.3)"
        );
        return Err(invalid_grant("Mismatching redirect URI."));
    }
    Ok(())
}
