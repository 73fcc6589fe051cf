//! RFC 8628 §3.1–3.2: the device authorization endpoint. A device identifies itself (and
//! authenticates, when confidential), and receives a `device_code` to poll the token endpoint
//! with and a `user_code` for the user to enter at the `verification_uri`.
//!
//! Read as a list: check the client → check it may use the device grant → resolve the scope
//! (frozen now, DOT) → store the grant (the device code as a digest only; a taken user code is
//! retried with a new one) → answer.

use serde::Serialize;
use time::Duration;

use crate::client_auth::{authenticate_client, extract_credentials, Requirement};
use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::generators::{generate_token, generate_user_code};
use crate::models::{GrantType, NewDeviceGrant};
use crate::params::Params;
use crate::scopes::{join_scopes, resolve_for};
use crate::settings::{Settings, MAX_DURATION_SECONDS};
use crate::store::StoreError;

/// Where the user enters codes, under the endpoints' prefix (DOT's `device/`).
pub const DEVICE_PATH: &str = "/device/";
/// How often a new user code is drawn when the one drawn is taken.
const USER_CODE_ATTEMPTS: usize = 8;

/// RFC 8628 §3.2 device authorization response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceAuthorizationResponse {
    /// The plaintext device code the device polls with; only its digest is stored.
    pub device_code: String,
    /// The code the user enters, shown with a dash (`WDJB-MJHT`).
    pub user_code: String,
    /// The page where the user enters the code.
    pub verification_uri: String,
    /// The page with the code already filled in, when `oauth_device_verification_uri_complete`
    /// is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// The lifetime of both codes, in seconds.
    pub expires_in: i64,
    /// The minimum time between two polls, in seconds.
    pub interval: i64,
}

/// `oauth_device_verification_uri`, else the provider's own page `<base_url><prefix>/device/`
/// (DOT answers `null` when the setting is unset, which RFC 8628 §3.2 does not allow).
pub fn verification_uri(settings: &Settings) -> String {
    match settings
        .provider
        .oauth_device_verification_uri
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        Some(uri) => uri.to_string(),
        None => format!(
            "{}{}{DEVICE_PATH}",
            settings.base_url().trim_end_matches('/'),
            settings.server.url_prefix
        ),
    }
}

/// `oauth_device_verification_uri_complete` with `{user_code}` replaced, when configured.
pub fn verification_uri_complete(settings: &Settings, user_code: &str) -> Option<String> {
    settings
        .provider
        .oauth_device_verification_uri_complete
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|template| template.replace("{user_code}", user_code))
}

/// The polling interval new grants get (seconds), within what a timestamp can hold.
pub fn configured_interval(settings: &Settings) -> i64 {
    i64::try_from(
        settings
            .provider
            .device_flow_interval
            .min(MAX_DURATION_SECONDS),
    )
    .unwrap_or(5)
}

/// A user code as the user reads it: `WDJB-MJHT` (RFC 8628 §6.1: the dash is for
/// readability and ignored on entry). Codes that are not 8 characters are shown as stored.
pub fn display_user_code(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// Handle a device authorization request.
pub async fn device_authorization(
    ctx: &Ctx<'_>,
    authorization: Option<&str>,
    params: &Params,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    // 1. The client: public clients by `client_id`, confidential ones by their secret.
    let credentials = extract_credentials(authorization, params)?;
    let Some(credentials) = credentials else {
        return Err(OAuthError::invalid_request("Missing client_id parameter."));
    };
    let client = authenticate_client(ctx, Some(&credentials), Requirement::ByClientType)
        .await
        .inspect_err(|_| {
            tracing::info!(client_id = %credentials.client_id, "device authorization: client authentication failed");
        })?;
    // 2. It must be a device-flow client.
    if !client.allows_grant_type(&[GrantType::DeviceCode]) {
        return Err(
            OAuthError::new(ErrorCode::UnauthorizedClient).with_description(
                "The client is not authorized to use the device authorization grant.",
            ),
        );
    }
    // 3. The scope, frozen now: later changes of `default_scopes` do not touch this grant.
    let scope = join_scopes(&resolve_for(ctx, Some(&client), params.single("scope")?)?);
    // 4. Store it.
    let interval = configured_interval(ctx.settings);
    let expires_in =
        i64::try_from(ctx.settings.provider.device_code_expire_seconds).unwrap_or(1800);
    let expires = ctx.now.saturating_add(Duration::seconds(expires_in));
    let mut attempt = 0;
    let (device_code, grant) = loop {
        attempt += 1;
        let device_code = generate_token();
        let new = NewDeviceGrant {
            device_code: device_code.clone(),
            user_code: generate_user_code(),
            scope: scope.clone(),
            interval,
            expires,
            client_id: client.client_id.clone(),
        };
        match ctx.store.create_device_grant(new, ctx.now).await {
            Ok(grant) => break (device_code, grant),
            Err(StoreError::Conflict(what)) if attempt < USER_CODE_ATTEMPTS => {
                tracing::debug!(%what, attempt, "device authorization: code taken, drawing another");
            }
            Err(e) => return Err(e.into()),
        }
    };
    tracing::info!(client_id = %client.client_id, grant_id = grant.id, scope = %grant.scope, "device authorization started");
    // 5. Answer.
    let user_code = display_user_code(&grant.user_code);
    Ok(DeviceAuthorizationResponse {
        device_code,
        verification_uri: verification_uri(ctx.settings),
        verification_uri_complete: verification_uri_complete(ctx.settings, &user_code),
        user_code,
        expires_in,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_uris() {
        let mut s = Settings::default();
        assert_eq!(verification_uri(&s), "http://127.0.0.1:8000/o/device/");
        s.server.issuer = Some("https://auth.example.com/".into());
        s.server.url_prefix = String::new();
        assert_eq!(verification_uri(&s), "https://auth.example.com/device/");
        s.provider.oauth_device_verification_uri = Some("https://example.com/device".into());
        assert_eq!(verification_uri(&s), "https://example.com/device");
        assert_eq!(verification_uri_complete(&s, "WDJB-MJHT"), None);
        s.provider.oauth_device_verification_uri_complete =
            Some("https://example.com/device?user_code={user_code}".into());
        assert_eq!(
            verification_uri_complete(&s, "WDJB-MJHT").as_deref(),
            Some("https://example.com/device?user_code=WDJB-MJHT")
        );
    }

    #[test]
    fn user_codes_are_shown_with_a_dash() {
        assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
        assert_eq!(display_user_code("xyz"), "xyz");
    }

    #[test]
    fn interval_is_bounded() {
        let s = {
            let mut built = Settings::default();
            built.provider.device_flow_interval = u64::MAX;
            built
        };
        assert_eq!(configured_interval(&s), MAX_DURATION_SECONDS as i64);
        assert_eq!(configured_interval(&Settings::default()), 5);
    }
}
