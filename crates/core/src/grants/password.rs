//! RFC 6749 §4.3: resource owner password credentials (deprecated by RFC 9700; refused
//! when `compliant_bcp_rfc9700_password_grant` is on).

use async_trait::async_trait;

use super::GrantHandler;
use crate::authentication::{sign_in, SignIn};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::issuance::{issue, Issue, TokenResponse};
use crate::models::{Application, GrantType};
use crate::params::Params;
use crate::resource_indicators::{join, requested};
use crate::scopes::{join_scopes, resolve_for};

/// `grant_type=password` (RFC 6749 §4.3): a user's username and password for tokens.
pub struct PasswordGrant;

#[async_trait]
impl GrantHandler for PasswordGrant {
    fn grant_type(&self) -> &'static str {
        "password"
    }

    fn allowed_for(&self) -> &'static [GrantType] {
        &[GrantType::Password]
    }

    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        if ctx.settings.provider.compliant_bcp_rfc9700_password_grant {
            return Err(OAuthError::new(ErrorCode::UnauthorizedClient)
                .with_description("The password grant is disabled (RFC 9700 §2.4)."));
        }
        let missing = |name: &str| {
            OAuthError::invalid_request(format!("Request is missing {name} parameter."))
        };
        let username = params
            .single("username")?
            .ok_or_else(|| missing("username"))?;
        let password = params
            .single("password")?
            .ok_or_else(|| missing("password"))?;
        let scopes = resolve_for(ctx, Some(client), params.single("scope")?)?;
        let invalid = || {
            OAuthError::new(ErrorCode::InvalidGrant).with_description("Invalid credentials given.")
        };
        if username.contains('\0') || username.len() > 150 || password.len() > 4096 {
            return Err(invalid());
        }
        let user = match sign_in(ctx, username, password).await? {
            SignIn::Success(user) => {
                let account = crate::users::account_of_row(ctx, &user).await?;
                if let Some(account) = account {
                    if !ctx.hooks.application_access.may_use(&account, client).await {
                        tracing::info!(client_id = %client.client_id, "password grant: the user may not use this application");
                        return Err(invalid());
                    }
                }
                user
            }
            SignIn::Failed => {
                tracing::info!(client_id = %client.client_id, "password grant: invalid credentials");
                return Err(invalid());
            }
            // With Retry-After: the client learns when to try again, not whether the
            // password was right.
            SignIn::Throttled(t) => {
                return Err(OAuthError::new(ErrorCode::InvalidGrant)
                    .with_description("Too many failed sign-in attempts. Try again later.")
                    .with_status(429)
                    .with_retry_after(t.retry_after_seconds));
            }
        };
        let resource = join(&requested(params)?);
        issue(
            ctx,
            Issue {
                application: client,
                user_id: Some(user.id),
                scope: join_scopes(&scopes),
                family: None,
                with_refresh_token: true,
                resource: resource.clone(),
                refresh_resource: resource,
            },
        )
        .await
    }
}
