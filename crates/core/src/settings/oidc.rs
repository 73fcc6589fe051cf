//! OpenID Connect: ID tokens, signing keys, userinfo, discovery and RP-initiated logout.

use serde::{Deserialize, Serialize};

/// OpenID Connect: ID tokens, signing keys, userinfo, discovery and RP-initiated logout. (`Debug` in `display.rs` redacts the secrets.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcSettings {
    /// OpenID Connect on (DOT's `OIDC_ENABLED`; default on, DOT: off).
    pub oidc_enabled: bool,
    /// Seconds an ID token lives (DOT's `ID_TOKEN_EXPIRE_SECONDS`; default 36000).
    pub id_token_expire_seconds: u64,
    /// Fixed issuer of ID tokens and discovery; empty: `issuer` (DOT's `OIDC_ISS_ENDPOINT`; default empty).
    pub oidc_iss_endpoint: String,
    /// Advertised userinfo URL; empty: the provider's own (DOT's `OIDC_USERINFO_ENDPOINT`; default empty).
    pub oidc_userinfo_endpoint: String,
    /// CORS on the userinfo endpoint (default on).
    pub oidc_userinfo_cors_enabled: bool,
    /// PEM RSA signing key; empty: a key generated on first start and stored in the database (DOT's `OIDC_RSA_PRIVATE_KEY`).
    pub oidc_rsa_private_key: String,
    /// Extra PEM keys published in the JWKS only, never signing (DOT's `OIDC_RSA_PRIVATE_KEYS_INACTIVE`; default none).
    pub oidc_rsa_private_keys_inactive: Vec<String>,
    /// `Cache-Control` max-age of the JWKS, in seconds (DOT's `OIDC_JWKS_MAX_AGE_SECONDS`; default 3600).
    pub oidc_jwks_max_age_seconds: u64,
    /// Seconds a process serves its JWKS and discovery documents from memory before reading
    /// the signing keys again (0: read on every request); a new stored key signs only after
    /// twice this (it is in every process's JWKS first). At most 300.
    pub oidc_jwks_cache_seconds: u64,
    /// Response types advertised in discovery (DOT's `OIDC_RESPONSE_TYPES_SUPPORTED`; default all seven).
    pub oidc_response_types_supported: Vec<String>,
    /// Subject types advertised in discovery (DOT's `OIDC_SUBJECT_TYPES_SUPPORTED`; default `["public"]`).
    pub oidc_subject_types_supported: Vec<String>,
    /// Token endpoint authentication methods advertised in discovery (default `client_secret_post`, `client_secret_basic`).
    pub oidc_token_endpoint_auth_methods_supported: Vec<String>,
    /// Serve RP-Initiated Logout at `logout/` and advertise `end_session_endpoint` (default on; DOT: off).
    pub oidc_rp_initiated_logout_enabled: bool,
    /// Always ask the user before logging out, even when `id_token_hint` names them (default on).
    pub oidc_rp_initiated_logout_always_prompt: bool,
    /// Allow `http` post-logout redirect URIs only for confidential clients (default off).
    pub oidc_rp_initiated_logout_strict_redirect_uris: bool,
    /// Accept an expired `id_token_hint` at logout (default on).
    pub oidc_rp_initiated_logout_accept_expired_tokens: bool,
    /// At logout, delete the user's tokens of the requesting client (default on; DOT: of every application).
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
