//! RFC 6749 §4.1.3: exchanging an authorization code, with PKCE (RFC 7636) and replay
//! detection: a code presented twice is refused and the tokens issued from it are revoked
//! (RFC 6749 §4.1.2; DOT only refuses).

use async_trait::async_trait;

use super::GrantHandler;
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::issuance::{issue, mint, Issue, TokenResponse};
use crate::models::{Application, GrantType};
use crate::oidc::{attach_id_token, wants_id_token, IdTokenSpec};
use crate::params::Params;
use crate::pkce;
use crate::store::Consumed;
use crate::token_checksum::token_checksum;

pub struct AuthorizationCodeGrant;

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant).with_description(description)
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

        let grant = match ctx
            .store
            .consume_grant(&token_checksum(code), ctx.now)
            .await?
        {
            Consumed::Now(g) => g,
            Consumed::Already(g) => {
                if g.application_id == client.id {
                    let revoked = ctx
                        .store
                        .revoke_token_family(g.token_family, ctx.now)
                        .await?;
                    tracing::warn!(
                        client_id = %client.client_id,
                        grant_id = g.id,
                        revoked_refresh_tokens = revoked,
                        "authorization code replayed: tokens issued from it revoked"
                    );
                }
                return Err(invalid_grant("Invalid authorization code."));
            }
            Consumed::Missing => return Err(invalid_grant("Invalid authorization code.")),
        };
        if grant.application_id != client.id || grant.is_expired(ctx.now) {
            return Err(invalid_grant("Invalid authorization code."));
        }

        // PKCE (RFC 7636 §4.6).
        if !grant.code_challenge.is_empty() {
            let verifier =
                verifier.ok_or_else(|| OAuthError::invalid_request("Code verifier required."))?;
            let method = grant
                .code_challenge_method
                .unwrap_or(crate::models::CodeChallengeMethod::Plain);
            if !pkce::verify(verifier, &grant.code_challenge, method) {
                return Err(invalid_grant("Code verifier does not match the challenge."));
            }
        } else if ctx.settings.pkce_required {
            return Err(match verifier {
                None => OAuthError::invalid_request("Code verifier required."),
                Some(_) => invalid_grant("Challenge not found"),
            });
        }

        // The redirect URI must be the one used at the authorization endpoint, character for
        // character (RFC 6749 §4.1.3).
        let redirect_uri = match redirect_uri {
            Some(uri) => uri,
            None => client
                .default_redirect_uri()
                .ok_or_else(|| OAuthError::invalid_request("Missing redirect URI."))?,
        };
        if !grant.redirect_uri_allowed(redirect_uri) {
            tracing::debug!(
                client_id = %client.client_id,
                "redirect_uri differs from the one of the authorization request (RFC 6749 section 4.1.3)"
            );
            return Err(OAuthError::invalid_request("Mismatching redirect URI."));
        }

        let issue_spec = Issue {
            application: client,
            user_id: Some(grant.user_id),
            scope: grant.scope.clone(),
            family: Some(grant.token_family),
            with_refresh_token: true,
        };
        if !wants_id_token(ctx.settings, &grant.scope) {
            return issue(ctx, issue_spec).await;
        }
        // OpenID Connect (Core §3.1.3.3): an ID token with the nonce, auth_time and sid of
        // the authorization, linked to the access token issued with it.
        let mut minted = mint(ctx, &issue_spec);
        let id_token = attach_id_token(
            ctx,
            client,
            &mut minted,
            IdTokenSpec {
                user_id: grant.user_id,
                scope: &grant.scope,
                nonce: Some(grant.nonce.as_str()),
                auth_time: grant.auth_time,
                sid: Some(grant.sid.as_str()),
                claims_request: Some(grant.claims.as_str()),
                ..IdTokenSpec::default()
            },
        )
        .await?;
        ctx.store.issue_tokens(minted.pair.clone(), ctx.now).await?;
        tracing::info!(client_id = %client.client_id, user_id = grant.user_id, "tokens issued with an ID token");
        let mut response = minted.response(grant.scope.clone());
        response.id_token = Some(id_token);
        Ok(response)
    }
}
