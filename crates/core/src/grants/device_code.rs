//! RFC 8628 §3.4–3.5: the device polls the token endpoint with its `device_code`.
//!
//! check the code (missing → `invalid_request`; unknown or another client's → `invalid_grant`)
//! → expired? (every poll, marks it) → by status: denied → `access_denied`; pending → the
//! polling rate (`slow_down`, interval + 5 s) else `authorization_pending`; authorized → take
//! it (one conditional `DELETE … RETURNING`: single use under any race) and issue tokens with
//! a refresh token for the approving user and the scope frozen at device authorization.

use async_trait::async_trait;

use super::GrantHandler;
use crate::context::Ctx;
use crate::device_authorization::configured_interval;
use crate::error::{ErrorCode, OAuthError};
use crate::issuance::{issue, Issue, TokenResponse};
use crate::models::{Application, DeviceGrant, DeviceGrantStatus, GrantType};
use crate::params::Params;
use crate::resource_indicators::{join, requested};
use crate::store::DevicePoll;
use crate::token_checksum::token_checksum;
use crate::user_status::user_allowed;

/// The RFC 8628 grant type.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How far `slow_down` may push a grant's interval beyond the configured one (seconds).
const MAX_SLOW_DOWN_EXTRA: i64 = 60;
/// Longer values are no device code of ours: refused without a lookup.
const MAX_DEVICE_CODE: usize = 512;

/// The RFC 8628 device code grant: the device polls with its `device_code`.
pub struct DeviceCodeGrant;

fn invalid_grant() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant).with_description("Invalid device_code.")
}

fn expired() -> OAuthError {
    OAuthError::new(ErrorCode::ExpiredToken)
        .with_description("The device_code has expired: start a new device authorization request.")
}

#[async_trait]
impl GrantHandler for DeviceCodeGrant {
    fn grant_type(&self) -> &'static str {
        DEVICE_CODE_GRANT_TYPE
    }

    fn allowed_for(&self) -> &'static [GrantType] {
        &[GrantType::DeviceCode]
    }

    async fn handle(
        &self,
        ctx: &Ctx<'_>,
        client: &Application,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let code = params.required("device_code")?;
        // Checked before the grant can be taken: a bad `resource` spends nothing.
        let resource = join(&requested(params)?);
        if code.len() > MAX_DEVICE_CODE {
            return Err(invalid_grant());
        }
        let checksum = token_checksum(code);
        // RFC 8628 §3.5 has no "not found" error: an unknown code is `invalid_grant` (RFC 6749
        // §5.2), like an unknown authorization code. Another client's code looks the same.
        let grant = match ctx.store.find_device_grant(&checksum).await? {
            Some(g) if g.client_id == client.client_id => g,
            _ => return Err(invalid_grant()),
        };
        if grant.is_expired(ctx.now) {
            mark_expired(ctx, &grant).await?;
            return Err(expired());
        }
        match grant.status {
            DeviceGrantStatus::Denied => Err(OAuthError::new(ErrorCode::AccessDenied)
                .with_description("The user denied the authorization request.")),
            DeviceGrantStatus::Expired => Err(expired()),
            DeviceGrantStatus::AuthorizationPending => {
                let max = configured_interval(ctx.settings).saturating_add(MAX_SLOW_DOWN_EXTRA);
                match ctx.store.poll_device_grant(grant.id, ctx.now, max).await? {
                    DevicePoll::Accepted => Err(OAuthError::new(ErrorCode::AuthorizationPending)
                        .with_description("The user has not approved the request yet.")),
                    DevicePoll::SlowDown { interval } => {
                        tracing::info!(client_id = %client.client_id, grant_id = grant.id, interval, "device polling too fast");
                        Err(
                            OAuthError::new(ErrorCode::SlowDown).with_description(format!(
                            "Polling too fast: wait at least {interval} seconds between requests."
                        )),
                        )
                    }
                    DevicePoll::Missing => Err(invalid_grant()),
                }
            }
            DeviceGrantStatus::Authorized => {
                // Checked before the grant is taken: a deactivated user's device code is
                // refused and stays redeemable should the user be re-activated in time.
                match grant.user_id {
                    Some(user_id) if !user_allowed(ctx, user_id).await? => {
                        tracing::info!(client_id = %client.client_id, user_id, "device code of an inactive user refused");
                        Err(invalid_grant())
                    }
                    _ => redeem(ctx, client, &checksum, resource).await,
                }
            }
        }
    }
}

async fn mark_expired(ctx: &Ctx<'_>, grant: &DeviceGrant) -> Result<(), OAuthError> {
    if grant.status == DeviceGrantStatus::AuthorizationPending {
        ctx.store
            .transition_device_grant(
                grant.id,
                DeviceGrantStatus::AuthorizationPending,
                DeviceGrantStatus::Expired,
                None,
            )
            .await?;
    }
    Ok(())
}

/// Take the authorized grant (exactly one racing poll gets it) and issue its tokens.
async fn redeem(
    ctx: &Ctx<'_>,
    client: &Application,
    checksum: &str,
    resource: String,
) -> Result<TokenResponse, OAuthError> {
    let Some(grant) = ctx.store.take_authorized_device_grant(checksum).await? else {
        // Another poll took it first: the code is spent.
        return Err(invalid_grant());
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant());
    }
    if grant.is_expired(ctx.now) {
        return Err(expired());
    }
    let Some(user_id) = grant.user_id else {
        tracing::warn!(
            grant_id = grant.id,
            "authorized device grant without a user: refused"
        );
        return Err(invalid_grant());
    };
    tracing::info!(client_id = %client.client_id, grant_id = grant.id, user_id, "device grant redeemed");
    issue(
        ctx,
        Issue {
            application: client,
            user_id: Some(user_id),
            scope: grant.scope,
            family: None,
            with_refresh_token: true,
            refresh_resource: resource.clone(),
            resource,
        },
    )
    .await
}
