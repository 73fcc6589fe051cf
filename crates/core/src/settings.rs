//! Settings: DOT's names in lower case with DOT's defaults, plus the server's own.
//!
//! Read from an optional TOML file, then overridden by `OAUTH_TOOLKIT_<NAME>` environment
//! variables, then `DATABASE_URL`. Every key is checked: an unknown key or a bad value is
//! an error that names the key and where it came from. See docs/settings.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::client_secret::SecretHasher;
use crate::generators::ALPHANUMERIC;
use crate::redirect_uri::UriRules;
use crate::scopes::{is_valid_scope_token, ALL_SCOPES};

/// Prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "OAUTH_TOOLKIT_";
/// The environment variable naming the config file (not a setting itself).
pub const CONFIG_ENV: &str = "OAUTH_TOOLKIT_CONFIG";
/// The config file read when present and no other is named.
pub const DEFAULT_CONFIG_FILE: &str = "oauth-toolkit.toml";
/// The embedded default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://oauth-toolkit.sqlite3?mode=rwc";

/// DOT's `REQUEST_APPROVAL_PROMPT` / `approval_prompt` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalPrompt {
    Force,
    Auto,
}

/// `Debug` is written by hand (`settings_display.rs`): it redacts the secrets.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    // ---- The server's own --------------------------------------------------------------
    /// Address `serve` listens on.
    pub bind: String,
    /// Public base URL of the provider (scheme://host[:port][/path]); derived from `bind` when unset.
    pub issuer: Option<String>,
    /// Where the OAuth endpoints are mounted (DOT's `o/`).
    pub url_prefix: String,
    /// A directory whose files override the embedded templates of the same name.
    pub template_dir: Option<String>,
    /// The database (`DATABASE_URL` wins); an SQLite file in the working directory by default.
    pub database_url: Option<String>,
    /// Key for signing/encrypting session cookies; generated and stored in the database when unset.
    pub secret_key: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Most client connections `serve` holds open at once (503 and closed beyond).
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also closes idle keep-alive connections.
    pub header_read_timeout_seconds: u64,
    /// Seconds to read a request's body and answer it (408 beyond).
    pub request_timeout_seconds: u64,
    /// Seconds `serve` lets requests in flight finish after SIGTERM/SIGINT.
    pub shutdown_timeout_seconds: u64,
    /// Where unauthenticated users are sent (Django's `LOGIN_URL`).
    pub login_url: String,

    // ---- DOT: core ---------------------------------------------------------------------
    /// Scope name → description. Default: `read`, `write`, and the OIDC scopes while OIDC is on.
    pub scopes: Option<BTreeMap<String, String>>,
    pub default_scopes: Vec<String>,
    pub read_scope: String,
    pub write_scope: String,
    pub clear_expired_tokens_batch_size: u64,
    pub clear_expired_tokens_batch_interval: f64,

    // ---- DOT: authorization server -----------------------------------------------------
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

    // ---- DOT: OpenID Connect -----------------------------------------------------------
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

    // ---- DOT: resource server ----------------------------------------------------------
    pub resource_server_introspection_url: Option<String>,
    pub resource_server_auth_token: Option<String>,
    /// `[client_id, client_secret]` for HTTP Basic at the remote introspection endpoint.
    pub resource_server_introspection_credentials: Option<(String, String)>,
    pub resource_server_introspection_timeout_seconds: u64,
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
}

impl Default for Settings {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Settings {
            bind: "127.0.0.1:8000".into(),
            issuer: None,
            url_prefix: "/o".into(),
            template_dir: None,
            database_url: None,
            secret_key: None,
            max_body_bytes: 64 * 1024,
            max_connections: 4096,
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            shutdown_timeout_seconds: 30,
            login_url: "/accounts/login/".into(),

            scopes: None,
            default_scopes: strings(&[ALL_SCOPES]),
            read_scope: "read".into(),
            write_scope: "write".into(),
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

            resource_server_introspection_url: None,
            resource_server_auth_token: None,
            resource_server_introspection_credentials: None,
            resource_server_introspection_timeout_seconds: 5,
            resource_server_token_caching_seconds: 36_000,
            resource_server_negative_caching_seconds: 5,
            resource_server_local_cache_seconds: 0,
            www_authenticate_realm: "api".into(),
            oauth2_protected_resource_bearer_methods_supported: strings(&["header"]),
        }
    }
}

/// A setting that could not be used, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{key}`{origin}: {message}")]
pub struct SettingsError {
    pub key: String,
    /// " (in FILE)" / " (from OAUTH_TOOLKIT_X)" / "".
    pub origin: String,
    pub message: String,
}

impl SettingsError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            origin: String::new(),
            message: message.into(),
        }
    }
}

/// Where the value of each key came from, for error messages.
type Origins = BTreeMap<String, String>;

impl Settings {
    /// Read settings: the TOML file (if any), then `OAUTH_TOOLKIT_*` variables and
    /// `DATABASE_URL` from `env`. The result is validated.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let mut table = toml::Table::new();
        let mut origins = Origins::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| SettingsError {
                key: "config".into(),
                origin: format!(" ({})", path.display()),
                message: format!("cannot read the config file: {e}"),
            })?;
            table = text.parse::<toml::Table>().map_err(|e| SettingsError {
                key: "config".into(),
                origin: format!(" ({})", path.display()),
                message: format!("not valid TOML: {}", e.message()),
            })?;
            for key in table.keys() {
                origins.insert(key.clone(), format!(" (in {})", path.display()));
            }
        }
        overlay_env(&mut table, &mut origins, env)?;
        Self::from_table(table, &origins)
    }

    /// Parse settings from TOML text alone (no environment).
    pub fn from_toml_str(text: &str) -> Result<Settings, SettingsError> {
        let table = text.parse::<toml::Table>().map_err(|e| SettingsError {
            key: "config".into(),
            origin: String::new(),
            message: format!("not valid TOML: {}", e.message()),
        })?;
        Self::from_table(table, &Origins::new())
    }

    fn from_table(table: toml::Table, origins: &Origins) -> Result<Settings, SettingsError> {
        let known = known_keys();
        for key in table.keys() {
            if !known.contains_key(key) {
                return Err(SettingsError {
                    key: key.clone(),
                    origin: origins.get(key).cloned().unwrap_or_default(),
                    message: "unknown setting".into(),
                });
            }
        }
        let settings: Settings =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|whole: toml::de::Error| {
                    // Find the offending key by deserializing each key alone (all others default).
                    for (key, value) in &table {
                        let mut one = toml::Table::new();
                        one.insert(key.clone(), value.clone());
                        if let Err(e) = toml::Value::Table(one).try_into::<Settings>() {
                            return SettingsError {
                                key: key.clone(),
                                origin: origins.get(key).cloned().unwrap_or_default(),
                                message: e.message().trim().to_string(),
                            };
                        }
                    }
                    SettingsError::new("config", whole.message().trim())
                })?;
        let settings = settings.normalized();
        settings.validate().map_err(|mut e| {
            e.origin = origins.get(&e.key).cloned().unwrap_or_default();
            e
        })?;
        Ok(settings)
    }

    /// Canonical forms: prefix and issuer without trailing slashes, schemes lower-cased.
    fn normalized(mut self) -> Self {
        let trimmed = self.url_prefix.trim_end_matches('/').to_string();
        self.url_prefix = trimmed;
        if let Some(issuer) = &self.issuer {
            self.issuer = Some(issuer.trim_end_matches('/').to_string());
        }
        for list in [
            &mut self.allowed_redirect_uri_schemes,
            &mut self.allowed_schemes,
        ] {
            for s in list.iter_mut() {
                *s = s.to_ascii_lowercase();
            }
        }
        self
    }

    /// Check values that parse but make no sense.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (key, limit, window) in [
            (
                "login_failure_window_seconds",
                self.login_failure_limit
                    .max(self.login_failure_address_limit),
                self.login_failure_window_seconds,
            ),
            (
                "device_user_code_failure_window_seconds",
                self.device_user_code_failure_limit,
                self.device_user_code_failure_window_seconds,
            ),
            (
                "client_authentication_failure_window_seconds",
                self.client_authentication_failure_limit,
                self.client_authentication_failure_window_seconds,
            ),
        ] {
            if limit > 0 && window == 0 {
                return Err(SettingsError::new(
                    key,
                    "must be at least 1 second while its limit is on",
                ));
            }
        }
        let positive = [
            (
                "access_token_expire_seconds",
                self.access_token_expire_seconds,
            ),
            (
                "authorization_code_expire_seconds",
                self.authorization_code_expire_seconds,
            ),
            ("id_token_expire_seconds", self.id_token_expire_seconds),
            ("device_flow_interval", self.device_flow_interval),
            (
                "device_code_expire_seconds",
                self.device_code_expire_seconds,
            ),
            (
                "clear_expired_tokens_batch_size",
                self.clear_expired_tokens_batch_size,
            ),
            (
                "resource_server_introspection_timeout_seconds",
                self.resource_server_introspection_timeout_seconds,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(SettingsError::new(key, "must be greater than 0"));
            }
        }
        // Durations must fit a timestamp (about 292,000 years in microseconds).
        let durations = [
            (
                "access_token_expire_seconds",
                self.access_token_expire_seconds,
            ),
            (
                "authorization_code_expire_seconds",
                self.authorization_code_expire_seconds,
            ),
            ("id_token_expire_seconds", self.id_token_expire_seconds),
            (
                "refresh_token_expire_seconds",
                self.refresh_token_expire_seconds.unwrap_or(0),
            ),
            (
                "refresh_token_grace_period_seconds",
                self.refresh_token_grace_period_seconds,
            ),
            (
                "device_code_expire_seconds",
                self.device_code_expire_seconds,
            ),
        ];
        for (key, value) in durations {
            if value > MAX_DURATION_SECONDS {
                return Err(SettingsError::new(
                    key,
                    format!("must be at most {MAX_DURATION_SECONDS} seconds"),
                ));
            }
        }
        let interval = self.clear_expired_tokens_batch_interval;
        if !interval.is_finite() || interval < 0.0 {
            return Err(SettingsError::new(
                "clear_expired_tokens_batch_interval",
                "must be a non-negative number of seconds",
            ));
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(SettingsError::new(
                "bind",
                format!("`{}` is not an address like 127.0.0.1:8000", self.bind),
            ));
        }
        if !(self.url_prefix.is_empty() || self.url_prefix.starts_with('/'))
            || self.url_prefix.contains(['?', '#', ' '])
        {
            return Err(SettingsError::new(
                "url_prefix",
                "must be a path starting with `/` (or empty for the root)",
            ));
        }
        if let Some(issuer) = &self.issuer {
            check_base_url("issuer", issuer)?;
        }
        if !(self.login_url.starts_with('/')
            || self.login_url.starts_with("https://")
            || self.login_url.starts_with("http://"))
        {
            return Err(SettingsError::new(
                "login_url",
                "must be a path starting with `/` or an absolute http(s) URL",
            ));
        }
        for (key, length, alphabet) in [
            (
                "client_id_generator",
                self.client_id_generator_length,
                &self.client_id_generator_alphabet,
            ),
            (
                "client_secret_generator",
                self.client_secret_generator_length,
                &self.client_secret_generator_alphabet,
            ),
        ] {
            if !(16..=255).contains(&length) {
                return Err(SettingsError::new(
                    &format!("{key}_length"),
                    "must be between 16 and 255",
                ));
            }
            let unique: std::collections::BTreeSet<char> = alphabet.chars().collect();
            if unique.len() < 16 || !alphabet.chars().all(|c| c.is_ascii_graphic() && c != ':') {
                return Err(SettingsError::new(
                    &format!("{key}_alphabet"),
                    "must hold at least 16 distinct printable ASCII characters and no `:`",
                ));
            }
        }
        let scopes = self.scopes();
        if scopes.is_empty() {
            return Err(SettingsError::new(
                "scopes",
                "must define at least one scope",
            ));
        }
        if let Some(bad) = scopes.keys().find(|s| !is_valid_scope_token(s)) {
            return Err(SettingsError::new(
                "scopes",
                format!("`{bad}` is not a valid scope name (RFC 6749 §3.3)"),
            ));
        }
        for s in &self.default_scopes {
            if s != ALL_SCOPES && !scopes.contains_key(s) {
                return Err(SettingsError::new(
                    "default_scopes",
                    format!("`{s}` is not one of `scopes`"),
                ));
            }
        }
        if self.allowed_redirect_uri_schemes.is_empty() {
            return Err(SettingsError::new(
                "allowed_redirect_uri_schemes",
                "must list at least one scheme",
            ));
        }
        for (key, list) in [
            (
                "allowed_redirect_uri_schemes",
                &self.allowed_redirect_uri_schemes,
            ),
            ("allowed_schemes", &self.allowed_schemes),
        ] {
            if let Some(bad) = list.iter().find(|s| !is_scheme(s)) {
                return Err(SettingsError::new(
                    key,
                    format!("`{bad}` is not a URI scheme"),
                ));
            }
        }
        for (key, value) in [
            (
                "oauth_device_verification_uri",
                &self.oauth_device_verification_uri,
            ),
            (
                "resource_server_introspection_url",
                &self.resource_server_introspection_url,
            ),
        ] {
            if let Some(v) = value {
                check_base_url(key, v)?;
            }
        }
        self.validate_resource_server()?;
        if let Some(secret) = &self.secret_key {
            if secret.len() < 32 {
                return Err(SettingsError::new(
                    "secret_key",
                    "must be at least 32 characters",
                ));
            }
        }
        if self.oidc_jwks_cache_seconds > 300 {
            return Err(SettingsError::new(
                "oidc_jwks_cache_seconds",
                "must be at most 300 seconds",
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(SettingsError::new(
                "max_body_bytes",
                "must be at least 1024",
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(SettingsError::new(
                "max_connections",
                "must be between 1 and 1000000",
            ));
        }
        for (key, value) in [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("shutdown_timeout_seconds", self.shutdown_timeout_seconds),
        ] {
            if !(1..=86_400).contains(&value) {
                return Err(SettingsError::new(
                    key,
                    "must be between 1 and 86400 seconds",
                ));
            }
        }
        Ok(())
    }

    /// The resource-server settings (see docs/resource_server.md).
    fn validate_resource_server(&self) -> Result<(), SettingsError> {
        for (key, value, max) in [
            (
                "resource_server_negative_caching_seconds",
                self.resource_server_negative_caching_seconds,
                60,
            ),
            (
                "resource_server_local_cache_seconds",
                self.resource_server_local_cache_seconds,
                3600,
            ),
            (
                "client_authentication_cache_seconds",
                self.client_authentication_cache_seconds,
                60,
            ),
            (
                "login_failure_window_seconds",
                self.login_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "device_user_code_failure_window_seconds",
                self.device_user_code_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "client_authentication_failure_window_seconds",
                self.client_authentication_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "resource_server_token_caching_seconds",
                self.resource_server_token_caching_seconds,
                MAX_DURATION_SECONDS,
            ),
        ] {
            if value > max {
                return Err(SettingsError::new(
                    key,
                    format!("must be at most {max} seconds"),
                ));
            }
        }
        if self
            .www_authenticate_realm
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            return Err(SettingsError::new(
                "www_authenticate_realm",
                "must not contain quotes, backslashes or control characters",
            ));
        }
        let methods = &self.oauth2_protected_resource_bearer_methods_supported;
        if methods.is_empty() {
            return Err(SettingsError::new(
                "oauth2_protected_resource_bearer_methods_supported",
                "must list at least one of header, body, query",
            ));
        }
        if let Some(bad) = methods
            .iter()
            .find(|m| !matches!(m.as_str(), "header" | "body" | "query"))
        {
            return Err(SettingsError::new(
                "oauth2_protected_resource_bearer_methods_supported",
                format!("`{bad}` is not one of header, body, query"),
            ));
        }
        Ok(())
    }

    /// Warnings that do not stop the server (DOT's system checks W0xx).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.refresh_token_reuse_protection && !self.rotate_refresh_token {
            out.push(
                "refresh_token_reuse_protection has no effect unless rotate_refresh_token is on"
                    .to_string(),
            );
        }
        if self.oidc_enabled && !self.scopes().contains_key("openid") {
            out.push("oidc_enabled is on but `scopes` has no `openid` scope".to_string());
        }
        out
    }

    /// The configured scopes, or the defaults (`read`, `write`, and the OIDC scopes when on).
    pub fn scopes(&self) -> BTreeMap<String, String> {
        if let Some(s) = &self.scopes {
            return s.clone();
        }
        let mut s = BTreeMap::new();
        s.insert("read".into(), "Reading scope".into());
        s.insert("write".into(), "Writing scope".into());
        if self.oidc_enabled {
            s.insert("openid".into(), "OpenID Connect scope".into());
            s.insert("profile".into(), "Your name and profile details".into());
            s.insert("email".into(), "Your email address".into());
            s.insert("address".into(), "Your postal address".into());
            s.insert("phone".into(), "Your phone number".into());
        }
        s
    }

    /// `default_scopes` with `__all__` expanded.
    pub fn default_scope_names(&self) -> Vec<String> {
        if self.default_scopes.iter().any(|s| s == ALL_SCOPES) {
            self.scopes().into_keys().collect()
        } else {
            self.default_scopes.clone()
        }
    }

    /// The database to use: `database_url`, or the embedded SQLite default.
    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// Redirect URI rules derived from the settings.
    pub fn uri_rules(&self) -> UriRules {
        UriRules {
            allowed_schemes: self.allowed_redirect_uri_schemes.clone(),
            allow_wildcards: self.allow_uri_wildcards,
            allow_localhost_loopback: self.allow_localhost_loopback,
        }
    }

    /// The public base URL: `issuer`, or `http://<bind>`.
    pub fn base_url(&self) -> String {
        match &self.issuer {
            Some(i) => i.clone(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Every setting name, for documentation and the env overlay.
    pub fn keys() -> Vec<String> {
        known_keys().into_keys().collect()
    }
}

/// About 100 years: larger durations only overflow timestamps.
/// Longest throttle window (a day): a longer lock-out helps an attacker more than a user.
pub const MAX_THROTTLE_WINDOW_SECONDS: u64 = 24 * 3600;
pub const MAX_DURATION_SECONDS: u64 = 100 * 366 * 24 * 3600;

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

fn check_base_url(key: &str, value: &str) -> Result<(), SettingsError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) => Ok(()),
        _ => Err(SettingsError::new(
            key,
            format!("`{value}` is not an absolute http(s) URL without query or fragment"),
        )),
    }
}

/// The setting names with their default value's JSON shape (tells the env overlay how to
/// read a variable's text).
fn known_keys() -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// Apply `OAUTH_TOOLKIT_<NAME>` variables and `DATABASE_URL` on top of the file's table.
fn overlay_env(
    table: &mut toml::Table,
    origins: &mut Origins,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), SettingsError> {
    let known = known_keys();
    let mut database_url = None;
    for (name, raw) in env {
        if name == "DATABASE_URL" {
            database_url = Some(raw);
            continue;
        }
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name == CONFIG_ENV {
            continue;
        }
        let key = rest.to_ascii_lowercase();
        let origin = format!(" (from {name})");
        let Some(shape) = known.get(&key) else {
            return Err(SettingsError {
                key,
                origin,
                message: "unknown setting".into(),
            });
        };
        let value = env_value(&raw, shape).map_err(|message| SettingsError {
            key: key.clone(),
            origin: origin.clone(),
            message,
        })?;
        table.insert(key.clone(), value);
        origins.insert(key, origin);
    }
    if let Some(url) = database_url.filter(|u| !u.is_empty()) {
        table.insert("database_url".into(), toml::Value::String(url));
        origins.insert("database_url".into(), " (from DATABASE_URL)".into());
    }
    Ok(())
}

/// Read an environment variable's text as the type the setting has.
fn env_value(raw: &str, shape: &serde_json::Value) -> Result<toml::Value, String> {
    use serde_json::Value as J;
    let trimmed = raw.trim();
    match shape {
        J::Bool(_) => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not a boolean (true/false)")),
        },
        J::Number(n) if n.is_f64() => trimmed
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("`{raw}` is not a number")),
        J::Number(_) => trimmed
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        J::String(_) => Ok(toml::Value::String(raw.to_string())),
        J::Array(_) if trimmed.starts_with('[') => parse_toml_value(trimmed),
        J::Array(_) => Ok(toml::Value::Array(
            trimmed
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        J::Object(_) => parse_toml_value(trimmed),
        // Optional settings: a TOML literal when it parses as one (numbers, arrays, tables),
        // else the raw text.
        J::Null => {
            Ok(parse_toml_value(trimmed).unwrap_or_else(|_| toml::Value::String(raw.into())))
        }
    }
}

fn parse_toml_value(text: &str) -> Result<toml::Value, String> {
    let doc = format!("v = {text}");
    doc.parse::<toml::Table>()
        .map_err(|e| format!("`{text}` is not a TOML value: {}", e.message()))?
        .remove("v")
        .ok_or_else(|| format!("`{text}` is not a TOML value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_dots() {
        let s = Settings::default();
        s.validate().unwrap();
        assert_eq!(s.access_token_expire_seconds, 36000);
        assert_eq!(s.authorization_code_expire_seconds, 60);
        assert_eq!(s.client_secret_generator_length, 128);
        assert_eq!(s.client_id_generator_length, 40);
        assert_eq!(s.clear_expired_tokens_batch_size, 10000);
        assert!(s.rotate_refresh_token);
        assert!(s.pkce_required);
        assert_eq!(s.request_approval_prompt, ApprovalPrompt::Force);
        assert_eq!(s.url_prefix, "/o");
        assert!(s.scopes().contains_key("openid"));
        assert_eq!(s.default_scope_names().len(), s.scopes().len());
    }

    #[test]
    fn toml_file_values() {
        let s = Settings::from_toml_str(
            r#"
            access_token_expire_seconds = 60
            rotate_refresh_token = false
            url_prefix = "/oauth/"
            default_scopes = ["read"]
            [scopes]
            read = "Read things"
            write = "Write things"
            "#,
        )
        .unwrap();
        assert_eq!(s.access_token_expire_seconds, 60);
        assert!(!s.rotate_refresh_token);
        assert_eq!(s.url_prefix, "/oauth");
        assert_eq!(s.scopes().len(), 2);
        assert_eq!(s.default_scope_names(), vec!["read"]);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Settings::from_toml_str("access_token_expire_seconds = \"soon\"").unwrap_err();
        assert_eq!(e.key, "access_token_expire_seconds");
        let e = Settings::from_toml_str("no_such_setting = 1").unwrap_err();
        assert_eq!(e.key, "no_such_setting");
        assert!(e.to_string().contains("unknown setting"));
        let e = Settings::from_toml_str("access_token_expire_seconds = 0").unwrap_err();
        assert_eq!(e.key, "access_token_expire_seconds");
        let e = Settings::from_toml_str("request_approval_prompt = \"sometimes\"").unwrap_err();
        assert_eq!(e.key, "request_approval_prompt");
        let e = Settings::from_toml_str("default_scopes = [\"admin\"]").unwrap_err();
        assert_eq!(e.key, "default_scopes");
        let e = Settings::from_toml_str("bind = \"nowhere\"").unwrap_err();
        assert_eq!(e.key, "bind");
        let e = Settings::from_toml_str("clear_expired_tokens_batch_interval = -1.0").unwrap_err();
        assert_eq!(e.key, "clear_expired_tokens_batch_interval");
        let e = Settings::from_toml_str("this is not toml").unwrap_err();
        assert_eq!(e.key, "config");
    }

    #[test]
    fn env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("otk-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "access_token_expire_seconds = 60\npkce_required = true\n",
        )
        .unwrap();
        let s = Settings::load(
            Some(&file),
            env(&[
                ("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "120"),
                ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
                (
                    "OAUTH_TOOLKIT_ALLOWED_REDIRECT_URI_SCHEMES",
                    "https, com.example",
                ),
                ("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "3600"),
                ("OAUTH_TOOLKIT_SCOPES", "{ read = \"R\" }"),
                ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read"),
                ("OAUTH_TOOLKIT_CONFIG", "ignored.toml"),
                ("DATABASE_URL", "postgres://x@localhost/db"),
                ("UNRELATED", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.access_token_expire_seconds, 120);
        assert!(!s.pkce_required);
        assert_eq!(s.allowed_redirect_uri_schemes, vec!["https", "com.example"]);
        assert_eq!(s.refresh_token_expire_seconds, Some(3600));
        assert_eq!(s.scopes().len(), 1);
        assert_eq!(s.database_url(), "postgres://x@localhost/db");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn env_errors_name_the_variable() {
        let e = Settings::load(
            None,
            env(&[("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN", "maybe")]),
        )
        .unwrap_err();
        assert_eq!(e.key, "rotate_refresh_token");
        assert!(
            e.to_string().contains("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN"),
            "{e}"
        );
        let e = Settings::load(None, env(&[("OAUTH_TOOLKIT_NOPE", "1")])).unwrap_err();
        assert_eq!(e.key, "nope");
        let e = Settings::load(
            None,
            env(&[("OAUTH_TOOLKIT_ACCESS_TOKEN_EXPIRE_SECONDS", "-5")]),
        )
        .unwrap_err();
        assert_eq!(e.key, "access_token_expire_seconds");
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = Settings::load(Some(Path::new("/nonexistent/x.toml")), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("cannot read"));
    }

    #[test]
    fn every_key_is_listed() {
        let keys = Settings::keys();
        for k in [
            "access_token_expire_seconds",
            "refresh_token_grace_period_seconds",
            "oidc_rsa_private_key",
            "oidc_rp_initiated_logout_enabled",
            "login_url",
            "error_response_with_scopes",
            "template_dir",
            "resource_server_introspection_credentials",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k}");
        }
    }
}

#[cfg(test)]
mod docs_tests {
    /// docs/settings.md documents every key, so the docs cannot silently drift.
    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../../docs/settings.md");
        for key in super::Settings::keys() {
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "docs/settings.md lacks `{key}`"
            );
        }
    }
}
