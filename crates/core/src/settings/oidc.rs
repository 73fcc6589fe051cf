//! OpenID Connect: ID tokens, signing keys, userinfo, discovery and RP-initiated logout.

use serde::{Deserialize, Serialize};

/// OpenID Connect: ID tokens, signing keys, userinfo, discovery and RP-initiated logout. (`Debug` in `display.rs` redacts the secrets.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcSettings {
    pub oidc_enabled: bool,
    pub id_token_expire_seconds: u64,
    pub oidc_iss_endpoint: String,
    pub oidc_userinfo_endpoint: String,
    pub oidc_userinfo_cors_enabled: bool,
    pub oidc_rsa_private_key: String,
    pub oidc_rsa_private_keys_inactive: Vec<String>,
    pub oidc_jwks_max_age_seconds: u64,
    /// Seconds a process serves its JWKS and discovery documents from memory before reading
    /// the signing keys again (0: read on every request); a new stored key signs only after
    /// twice this (it is in every process's JWKS first). At most 300.
    pub oidc_jwks_cache_seconds: u64,
    pub oidc_response_types_supported: Vec<String>,
    pub oidc_subject_types_supported: Vec<String>,
    pub oidc_token_endpoint_auth_methods_supported: Vec<String>,
    pub oidc_rp_initiated_logout_enabled: bool,
    pub oidc_rp_initiated_logout_always_prompt: bool,
    pub oidc_rp_initiated_logout_strict_redirect_uris: bool,
    pub oidc_rp_initiated_logout_accept_expired_tokens: bool,
    pub oidc_rp_initiated_logout_delete_tokens: bool,
}

impl Default for OidcSettings {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        OidcSettings {
            oidc_enabled: true,
            id_token_expire_seconds: 36_000,
            oidc_iss_endpoint: String::new(),
            oidc_userinfo_endpoint: String::new(),
            oidc_userinfo_cors_enabled: true,
            oidc_rsa_private_key: String::new(),
            oidc_rsa_private_keys_inactive: Vec::new(),
            oidc_jwks_max_age_seconds: 3600,
            oidc_jwks_cache_seconds: 5,
            oidc_response_types_supported: strings(&[
                "code",
                "token",
                "id_token",
                "id_token token",
                "code token",
                "code id_token",
                "code id_token token",
            ]),
            oidc_subject_types_supported: strings(&["public"]),
            oidc_token_endpoint_auth_methods_supported: strings(&[
                "client_secret_post",
                "client_secret_basic",
            ]),
            // DOT: false. On here: an OpenID provider should offer RP-initiated logout, and it
            // is safe by default (confirmation page, registered redirect targets only).
            oidc_rp_initiated_logout_enabled: true,
            oidc_rp_initiated_logout_always_prompt: true,
            oidc_rp_initiated_logout_strict_redirect_uris: false,
            oidc_rp_initiated_logout_accept_expired_tokens: true,
            oidc_rp_initiated_logout_delete_tokens: true,
        }
    }
}
