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
    pub default_scopes: Vec<String>,
    pub clear_expired_tokens_batch_size: u64,
    pub clear_expired_tokens_batch_interval: f64,
    pub client_id_generator_length: usize,
    pub client_id_generator_alphabet: String,
    pub client_secret_generator_length: usize,
    pub client_secret_generator_alphabet: String,
    pub client_secret_hasher: SecretHasher,
    /// Seconds a successful client authentication (client_id + secret) is remembered by
    /// this process, so the hot path skips the application read and the secret hash
    /// (0: never; at most 60). See docs/performance.md.
    pub client_authentication_cache_seconds: u64,
    /// Failed sign-ins (login page, password grant) for one username from one address
    /// before further attempts are refused for the rest of the window (0: no limit).
    pub login_failure_limit: u32,
    pub login_failure_window_seconds: u64,
    /// Failed sign-ins from one address over all usernames (0: no limit).
    pub login_failure_address_limit: u32,
    /// Wrong device user codes entered by one account within the window (0: no limit).
    pub device_user_code_failure_limit: u32,
    pub device_user_code_failure_window_seconds: u64,
    /// Failed client authentications for one client_id from one address (0: no limit).
    pub client_authentication_failure_limit: u32,
    pub client_authentication_failure_window_seconds: u64,
    pub access_token_expire_seconds: u64,
    pub authorization_code_expire_seconds: u64,
    /// 0 or unset: refresh tokens never age-expire.
    pub refresh_token_expire_seconds: Option<u64>,
    pub refresh_token_grace_period_seconds: u64,
    pub refresh_token_reuse_protection: bool,
    pub rotate_refresh_token: bool,
    pub error_response_with_scopes: bool,
    pub request_approval_prompt: ApprovalPrompt,
    pub allowed_redirect_uri_schemes: Vec<String>,
    pub allowed_schemes: Vec<String>,
    pub allow_uri_wildcards: bool,
    pub allow_localhost_loopback: bool,
    pub pkce_required: bool,
    pub oauth_device_verification_uri: Option<String>,
    pub oauth_device_verification_uri_complete: Option<String>,
    pub device_flow_interval: u64,
    pub device_code_expire_seconds: u64,
    pub compliant_bcp_rfc9700_implicit_grant: bool,
    pub compliant_bcp_rfc9700_password_grant: bool,
    pub compliant_bcp_rfc9700_pkce_method: bool,
    pub compliant_bcp_rfc9700_access_token_transport: bool,
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
