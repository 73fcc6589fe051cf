//! Protecting an API: read/write scopes, remote introspection, caches and the bearer challenge.

use serde::{Deserialize, Serialize};

/// Protecting an API: read/write scopes, remote introspection, caches and the bearer challenge. (`Debug` in `display.rs` redacts the secrets.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceServerSettings {
    /// Scope the read/write helpers require for safe methods (DOT's `READ_SCOPE`; default `read`).
    pub read_scope: String,
    /// Scope the read/write helpers require for other methods (DOT's `WRITE_SCOPE`; default `write`).
    pub write_scope: String,
    /// Remote RFC 7662 endpoint asked about tokens not found locally (DOT's `RESOURCE_SERVER_INTROSPECTION_URL`; default unset).
    pub resource_server_introspection_url: Option<String>,
    /// Bearer token for calling the remote introspection endpoint (DOT's `RESOURCE_SERVER_AUTH_TOKEN`; default unset).
    pub resource_server_auth_token: Option<String>,
    /// `[client_id, client_secret]` for HTTP Basic at the remote introspection endpoint.
    pub resource_server_introspection_credentials: Option<(String, String)>,
    /// Seconds a remote introspection call may take (default 5).
    pub resource_server_introspection_timeout_seconds: u64,
    /// Longest time an introspected token is cached, never beyond its `exp` (DOT's `RESOURCE_SERVER_TOKEN_CACHING_SECONDS`; default 36000).
    pub resource_server_token_caching_seconds: u64,
    /// Seconds an "inactive" introspection answer is remembered (0: not at all; at most 60).
    pub resource_server_negative_caching_seconds: u64,
    /// Seconds a token validated against the local store is remembered (0: never, so a
    /// revoked token is refused at once; at most 3600).
    pub resource_server_local_cache_seconds: u64,
    /// The `realm` of `WWW-Authenticate: Bearer` challenges (DRF's `api`).
    pub www_authenticate_realm: String,
    /// Where protected resources accept access tokens: `header`, `body`, `query` (RFC 6750 §2).
    pub oauth2_protected_resource_bearer_methods_supported: Vec<String>,
    /// RFC 9728 `resource`: this resource server's identifier (default: the origin of the
    /// public base URL).
    pub oauth2_protected_resource_identifier: String,
    /// RFC 9728 `authorization_servers` (default: this provider's issuer, when it is one).
    pub oauth2_protected_resource_authorization_servers: Vec<String>,
    /// RFC 9728 `resource_name` (omitted when empty).
    pub oauth2_protected_resource_name: String,
    /// RFC 9728 `resource_documentation` (omitted when empty).
    pub oauth2_protected_resource_documentation: String,
    /// RFC 9728 `resource_policy_uri` (omitted when empty).
    pub oauth2_protected_resource_policy_uri: String,
    /// RFC 9728 `resource_tos_uri` (omitted when empty).
    pub oauth2_protected_resource_tos_uri: String,
    /// Name the metadata document in every 401/403 challenge (RFC 9728 §5.1
    /// `resource_metadata`), so that a client can find the authorization server from a 401.
    pub oauth2_protected_resource_advertise_metadata: bool,
}

impl Default for ResourceServerSettings {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ResourceServerSettings {
            read_scope: "read".into(),
            write_scope: "write".into(),
            resource_server_introspection_url: None,
            resource_server_auth_token: None,
            resource_server_introspection_credentials: None,
            resource_server_introspection_timeout_seconds: 5,
            resource_server_token_caching_seconds: 36_000,
            resource_server_negative_caching_seconds: 5,
            resource_server_local_cache_seconds: 0,
            www_authenticate_realm: "api".into(),
            oauth2_protected_resource_bearer_methods_supported: strings(&["header"]),
            oauth2_protected_resource_identifier: String::new(),
            oauth2_protected_resource_authorization_servers: Vec::new(),
            oauth2_protected_resource_name: String::new(),
            oauth2_protected_resource_documentation: String::new(),
            oauth2_protected_resource_policy_uri: String::new(),
            oauth2_protected_resource_tos_uri: String::new(),
            oauth2_protected_resource_advertise_metadata: false,
        }
    }
}
