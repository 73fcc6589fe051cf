//! RFC 6749 §4.4: the client acts for itself. Always authenticated by its secret, even a
//! public client (DOT); no refresh token; no user.

use async_trait::async_trait;

use super::GrantHandler;
use crate::client_auth::Requirement;
use crate::context::Ctx;
use crate::error::OAuthError;
use crate::issuance::{issue, Issue, TokenResponse};
use crate::models::{Application, GrantType};
use crate::params::Params;
use crate::resource_indicators::{join, requested};
use crate::scopes::{join_scopes, resolve_for};

/// `grant_type=client_credentials` (RFC 6749 §4.4): a token for the application itself.
pub struct ClientCredentialsGrant;

#[async_trait]
impl GrantHandler for ClientCredentialsGrant {
    fn grant_type(&self) -> &'static str {
        "client_credentials"
    }

    fn allowed_for(&self) -> &'static [GrantType] {
        &[GrantType::ClientCredentials]
    }

    fn client_requirement(&self) -> Requirement {
        Requirement::Secret
    }

    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let scopes = resolve_for(ctx, Some(client), params.single("scope")?)?;
        let resource = join(&requested(params)?);
        issue(
            ctx,
            Issue {
                application: client,
                user_id: None,
                scope: join_scopes(&scopes),
                family: None,
                with_refresh_token: false,
                resource: resource.clone(),
                refresh_resource: resource,
            },
        )
        .await
    }
}
