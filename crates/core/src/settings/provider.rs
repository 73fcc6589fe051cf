//! The authorization server: scopes, generators, lifetimes, throttles, redirect URI rules, PKCE, the device flow and the RFC 9700 switches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ApprovalPrompt;
use crate::client_secret::SecretHasher;
use crate::generators::ALPHANUMERIC;
use crate::scopes::ALL_SCOPES;

/// The authorization server: scopes, generators, lifetimes, throttles, redirect URI rules, PKCE, the device flow and the RFC 9700 switches. (`Debug` in `display.rs` redacts the secrets.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    /// Scope name → description. Default: `read`, `write`, and the OIDC scopes while OIDC is on.
    pub scopes: Option<BTreeMap<String, String>>,
    /// Scopes granted when a request names none; `__all__` is every scope (DOT's `DEFAULT_SCOPES`; default `["__all__"]`).
    pub default_scopes: Vec<String>,
    /// Most rows `cleartokens` deletes per statement (DOT's `CLEAR_EXPIRED_TOKENS_BATCH_SIZE`; default 10000).
    pub clear_expired_tokens_batch_size: u64,
    /// Seconds `cleartokens` sleeps between batches (DOT's `CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL`; default 0).
    pub clear_expired_tokens_batch_interval: f64,
    /// Length of generated client ids, 16 to 255 (default 40).
    pub client_id_generator_length: usize,
    /// Characters of generated client ids: at least 16 distinct, no `:` (default letters and digits).
    pub client_id_generator_alphabet: String,
    /// Length of generated client secrets (DOT's `CLIENT_SECRET_GENERATOR_LENGTH`; default 128).
    pub client_secret_generator_length: usize,
    /// Characters of generated client secrets (default letters and digits).
    pub client_secret_generator_alphabet: String,
    /// How client secrets are hashed when stored (DOT's `CLIENT_SECRET_HASHER`; default `default`).
    pub client_secret_hasher: SecretHasher,
    /// Seconds a successful client authentication (client_id + secret) is remembered by
    /// this process, so the hot path skips the application read and the secret hash
    /// (0: never; at most 60). See docs/performance.md.
    pub client_authentication_cache_seconds: u64,
    /// Failed sign-ins (login page, password grant) for one username from one address
    /// before further attempts are refused for the rest of the window (0: no limit).
    pub login_failure_limit: u32,
    /// Seconds of the sign-in throttle's window, opened by the first failure; 1 s to 1 day (default 900).
    pub login_failure_window_seconds: u64,
    /// Failed sign-ins from one address over all usernames (0: no limit).
    pub login_failure_address_limit: u32,
    /// Wrong device user codes entered by one account within the window (0: no limit).
    pub device_user_code_failure_limit: u32,
    /// Seconds of the device user-code throttle's window; 1 s to 1 day (default 900).
    pub device_user_code_failure_window_seconds: u64,
    /// Failed client authentications for one client_id from one address (0: no limit).
    pub client_authentication_failure_limit: u32,
    /// Seconds of the client-authentication throttle's window; 1 s to 1 day (default 900).
    pub client_authentication_failure_window_seconds: u64,
    /// Seconds an access token lives (DOT's `ACCESS_TOKEN_EXPIRE_SECONDS`; default 36000).
    pub access_token_expire_seconds: u64,
    /// Seconds an authorization code lives (DOT's `AUTHORIZATION_CODE_EXPIRE_SECONDS`; default 60).
    pub authorization_code_expire_seconds: u64,
    /// 0 or unset: refresh tokens never age-expire.
    pub refresh_token_expire_seconds: Option<u64>,
    /// Seconds a just-rotated refresh token may be replayed for the same tokens (DOT's `REFRESH_TOKEN_GRACE_PERIOD_SECONDS`; default 0).
    pub refresh_token_grace_period_seconds: u64,
    /// Replaying a rotated refresh token revokes its whole family (DOT's `REFRESH_TOKEN_REUSE_PROTECTION`; default off).
    pub refresh_token_reuse_protection: bool,
    /// Issue a new refresh token on every refresh (DOT's `ROTATE_REFRESH_TOKEN`; default on).
    pub rotate_refresh_token: bool,
    /// Add the required scopes to 403 bodies of protected resources (DOT's `ERROR_RESPONSE_WITH_SCOPES`; default off).
    pub error_response_with_scopes: bool,
    /// The `approval_prompt` of requests that send none (DOT's `REQUEST_APPROVAL_PROMPT`; default `force`).
    pub request_approval_prompt: ApprovalPrompt,
    /// Schemes allowed in redirect URIs (DOT's `ALLOWED_REDIRECT_URI_SCHEMES`; default `["http", "https"]`).
    pub allowed_redirect_uri_schemes: Vec<String>,
    /// Schemes allowed in CORS `allowed_origins` (DOT's `ALLOWED_SCHEMES`; default `["https"]`).
    pub allowed_schemes: Vec<String>,
    /// Allow `https://*.example.com` redirect URIs and origins (DOT's `ALLOW_URI_WILDCARDS`; default off).
    pub allow_uri_wildcards: bool,
    /// Treat `http://localhost` like the loopback IPs: any port, RFC 8252 §7.3 (default off).
    pub allow_localhost_loopback: bool,
    /// PKCE is required of every client (DOT's `PKCE_REQUIRED`; default on).
    pub pkce_required: bool,
    /// `verification_uri` of device authorization responses; unset: the provider's own `<url_prefix>/device/` page (DOT's `OAUTH_DEVICE_VERIFICATION_URI`).
    pub oauth_device_verification_uri: Option<String>,
    /// `verification_uri_complete`, a format string with `{user_code}`; unset: not sent (DOT's `OAUTH_DEVICE_VERIFICATION_URI_COMPLETE`).
    pub oauth_device_verification_uri_complete: Option<String>,
    /// Seconds devices are told to wait between polls, enforced with `slow_down` (DOT's `DEVICE_FLOW_INTERVAL`; default 5).
    pub device_flow_interval: u64,
    /// Seconds a device code lives (default 1800, DOT's fixed `expires_in`).
    pub device_code_expire_seconds: u64,
    /// Refuse the implicit response types, RFC 9700 (default off; `serve` warns while it is).
    pub compliant_bcp_rfc9700_implicit_grant: bool,
    /// Refuse the password grant, RFC 9700 (default off; `serve` warns while it is).
    pub compliant_bcp_rfc9700_password_grant: bool,
    /// Refuse PKCE `plain`, RFC 9700 (default off; `serve` warns while it is).
    pub compliant_bcp_rfc9700_pkce_method: bool,
    /// Refuse access tokens in query strings at resource servers and userinfo, RFC 9700 (default off; `serve` warns while it is).
    pub compliant_bcp_rfc9700_access_token_transport: bool,
    /// Add RFC 9207 `iss` to authorization responses, errors included (default on; DOT: off).
    pub compliant_bcp_rfc9700_authz_response_iss: bool,
    /// Store only the SHA-256 of access and refresh tokens (the token column stays blank).
    /// On by default (DOT 3.x: off); a grace period still works (see `token_derivation`).
    pub compliant_bcp_rfc9700_token_storage: bool,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ProviderSettings {
            scopes: None,
            default_scopes: strings(&[ALL_SCOPES]),
            clear_expired_tokens_batch_size: 10_000,
            clear_expired_tokens_batch_interval: 0.0,
            client_id_generator_length: 40,
            client_id_generator_alphabet: ALPHANUMERIC.into(),
            client_secret_generator_length: 128,
            client_secret_generator_alphabet: ALPHANUMERIC.into(),
            client_secret_hasher: SecretHasher::Default,
            client_authentication_cache_seconds: 5,
            login_failure_limit: 5,
            login_failure_window_seconds: 900,
            login_failure_address_limit: 0,
            device_user_code_failure_limit: 5,
            device_user_code_failure_window_seconds: 900,
            client_authentication_failure_limit: 10,
            client_authentication_failure_window_seconds: 900,
            access_token_expire_seconds: 36_000,
            authorization_code_expire_seconds: 60,
            refresh_token_expire_seconds: None,
            refresh_token_grace_period_seconds: 0,
            refresh_token_reuse_protection: false,
            rotate_refresh_token: true,
            error_response_with_scopes: false,
            request_approval_prompt: ApprovalPrompt::Force,
            allowed_redirect_uri_schemes: strings(&["http", "https"]),
            allowed_schemes: strings(&["https"]),
            allow_uri_wildcards: false,
            allow_localhost_loopback: false,
            pkce_required: true,
            oauth_device_verification_uri: None,
            oauth_device_verification_uri_complete: None,
            device_flow_interval: 5,
            device_code_expire_seconds: 1800,
            compliant_bcp_rfc9700_implicit_grant: false,
            compliant_bcp_rfc9700_password_grant: false,
            compliant_bcp_rfc9700_pkce_method: false,
            compliant_bcp_rfc9700_access_token_transport: false,
            // Ours (DOT: false): RFC 9207 `iss` and digest-only token storage cost a
            // migrating client nothing, so they are on; the other switches keep DOT's
            // defaults and `serve` warns about each (`Settings::insecure_switches`).
            compliant_bcp_rfc9700_authz_response_iss: true,
            compliant_bcp_rfc9700_token_storage: true,
        }
    }
}
