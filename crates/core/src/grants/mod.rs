//! The token endpoint (RFC 6749 §3.2): one handler per grant type, registered in a list.
//! Adding a grant is adding a module and one line in [`default_grants`].

mod authorization_code;
mod client_credentials;
mod device_code;
mod password;
mod refresh_token;

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use device_code::{DeviceCodeGrant, DEVICE_CODE_GRANT_TYPE};
pub use password::PasswordGrant;
pub use refresh_token::RefreshTokenGrant;

use async_trait::async_trait;

use crate::client_auth::{authenticate_client, extract_credentials, Requirement};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::issuance::TokenResponse;
use crate::models::{Application, GrantType};
use crate::params::Params;

/// One grant type of the token endpoint.
#[async_trait]
pub trait GrantHandler: Send + Sync {
    /// The `grant_type` value it answers.
    fn grant_type(&self) -> &'static str;
    /// The application grant types (DOT's `authorization_grant_type`) that may use it.
    fn allowed_for(&self) -> &'static [GrantType];
    /// What client authentication it demands.
    fn client_requirement(&self) -> Requirement {
        Requirement::ByClientType
    }
    /// Issue tokens for an authenticated client, or refuse.
    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError>;
}

/// The grants the provider serves.
pub fn default_grants() -> Vec<Box<dyn GrantHandler>> {
    vec![
        Box::new(AuthorizationCodeGrant),
        Box::new(PasswordGrant),
        Box::new(ClientCredentialsGrant),
        Box::new(RefreshTokenGrant),
        Box::new(DeviceCodeGrant),
    ]
}

/// A successful token request: the response and who asked (for CORS).
#[derive(Debug)]
pub struct TokenOutcome {
    /// The token response to send.
    pub response: TokenResponse,
    /// The authenticated client that asked.
    pub client: Application,
    /// The `grant_type` that was used.
    pub grant_type: &'static str,
}

/// Handle a token request: pick the grant, authenticate the client, check the client may
/// use the grant, and run it.
pub async fn token_request(
    ctx: &Ctx<'_>,
    grants: &[Box<dyn GrantHandler>],
    authorization: Option<&str>,
    params: &Params,
) -> Result<TokenOutcome, OAuthError> {
    let grant_type = params.required("grant_type")?;
    let Some(handler) = grants.iter().find(|g| g.grant_type() == grant_type) else {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType));
    };
    let credentials = extract_credentials(authorization, params)?;
    let client =
        authenticate_client(ctx, credentials.as_ref(), handler.client_requirement())
            .await
            .inspect_err(|_| {
                tracing::info!(client_id = ?credentials.as_ref().map(|c| &c.client_id), grant_type, "client authentication failed");
            })?;
    if !client.allows_grant_type(handler.allowed_for()) {
        return Err(
            OAuthError::new(ErrorCode::UnauthorizedClient).with_description(format!(
                "The client is not authorized to use the {grant_type} grant."
            )),
        );
    }
    let response = handler.handle(ctx, &client, params).await?;
    Ok(TokenOutcome {
        response,
        client,
        grant_type: handler.grant_type(),
    })
}
