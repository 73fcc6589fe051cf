//! Checking values that parse but make no sense, and the warnings `serve` prints.

use super::*;

impl Settings {
    /// Check values that parse but make no sense.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (key, limit, window) in [
            (
                "login_failure_window_seconds",
                self.provider
                    .login_failure_limit
                    .max(self.provider.login_failure_address_limit),
                self.provider.login_failure_window_seconds,
            ),
            (
                "device_user_code_failure_window_seconds",
                self.provider.device_user_code_failure_limit,
                self.provider.device_user_code_failure_window_seconds,
            ),
            (
                "client_authentication_failure_window_seconds",
                self.provider.client_authentication_failure_limit,
                self.provider.client_authentication_failure_window_seconds,
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
                self.provider.access_token_expire_seconds,
            ),
            (
                "authorization_code_expire_seconds",
                self.provider.authorization_code_expire_seconds,
            ),
            ("id_token_expire_seconds", self.oidc.id_token_expire_seconds),
            ("device_flow_interval", self.provider.device_flow_interval),
            (
                "device_code_expire_seconds",
                self.provider.device_code_expire_seconds,
            ),
            (
                "clear_expired_tokens_batch_size",
                self.provider.clear_expired_tokens_batch_size,
            ),
            (
                "resource_server_introspection_timeout_seconds",
                self.resource_server
                    .resource_server_introspection_timeout_seconds,
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
                self.provider.access_token_expire_seconds,
            ),
            (
                "authorization_code_expire_seconds",
                self.provider.authorization_code_expire_seconds,
            ),
            ("id_token_expire_seconds", self.oidc.id_token_expire_seconds),
            (
                "refresh_token_expire_seconds",
                self.provider.refresh_token_expire_seconds.unwrap_or(0),
            ),
            (
                "refresh_token_grace_period_seconds",
                self.provider.refresh_token_grace_period_seconds,
            ),
            (
                "device_code_expire_seconds",
                self.provider.device_code_expire_seconds,
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
        let interval = self.provider.clear_expired_tokens_batch_interval;
        if !interval.is_finite() || interval < 0.0 {
            return Err(SettingsError::new(
                "clear_expired_tokens_batch_interval",
                "must be a non-negative number of seconds",
            ));
        }
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(SettingsError::new(
                "bind",
                format!(
                    "`{}` is not an address like 127.0.0.1:8000",
                    self.server.bind
                ),
            ));
        }
        if !(self.server.url_prefix.is_empty() || self.server.url_prefix.starts_with('/'))
            || self.server.url_prefix.contains(['?', '#', ' '])
        {
            return Err(SettingsError::new(
                "url_prefix",
                "must be a path starting with `/` (or empty for the root)",
            ));
        }
        if let Some(issuer) = &self.server.issuer {
            check_base_url("issuer", issuer)?;
        }
        if !(self.server.login_url.starts_with('/')
            || self.server.login_url.starts_with("https://")
            || self.server.login_url.starts_with("http://"))
        {
            return Err(SettingsError::new(
                "login_url",
                "must be a path starting with `/` or an absolute http(s) URL",
            ));
        }
        if let Some(bind) = &self.server.metrics_bind {
            if bind.parse::<std::net::SocketAddr>().is_err() {
                return Err(SettingsError::new(
                    "metrics_bind",
                    format!("`{bind}` is not an address like 127.0.0.1:9100"),
                ));
            }
        }
        let name = &self.server.provider_name;
        if name.trim().is_empty()
            || name.chars().count() > 100
            || name.chars().any(char::is_control)
        {
            return Err(SettingsError::new(
                "provider_name",
                "must be 1 to 100 characters without control characters",
            ));
        }
        for (key, length, alphabet) in [
            (
                "client_id_generator",
                self.provider.client_id_generator_length,
                &self.provider.client_id_generator_alphabet,
            ),
            (
                "client_secret_generator",
                self.provider.client_secret_generator_length,
                &self.provider.client_secret_generator_alphabet,
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
        for s in &self.provider.default_scopes {
            if s != ALL_SCOPES && !scopes.contains_key(s) {
                return Err(SettingsError::new(
                    "default_scopes",
                    format!("`{s}` is not one of `scopes`"),
                ));
            }
        }
        if self.provider.allowed_redirect_uri_schemes.is_empty() {
            return Err(SettingsError::new(
                "allowed_redirect_uri_schemes",
                "must list at least one scheme",
            ));
        }
        for (key, list) in [
            (
                "allowed_redirect_uri_schemes",
                &self.provider.allowed_redirect_uri_schemes,
            ),
            ("allowed_schemes", &self.provider.allowed_schemes),
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
                &self.provider.oauth_device_verification_uri,
            ),
            (
                "resource_server_introspection_url",
                &self.resource_server.resource_server_introspection_url,
            ),
        ] {
            if let Some(v) = value {
                check_base_url(key, v)?;
            }
        }
        self.validate_resource_server()?;
        if let Some(secret) = &self.server.secret_key {
            if secret.len() < 32 {
                return Err(SettingsError::new(
                    "secret_key",
                    "must be at least 32 characters",
                ));
            }
        }
        if self.oidc.oidc_jwks_cache_seconds > 300 {
            return Err(SettingsError::new(
                "oidc_jwks_cache_seconds",
                "must be at most 300 seconds",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(SettingsError::new(
                "max_body_bytes",
                "must be at least 1024",
            ));
        }
        if !(1..=1_000_000).contains(&self.server.max_connections) {
            return Err(SettingsError::new(
                "max_connections",
                "must be between 1 and 1000000",
            ));
        }
        for (key, value) in [
            (
                "header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
            (
                "shutdown_timeout_seconds",
                self.server.shutdown_timeout_seconds,
            ),
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
                self.resource_server
                    .resource_server_negative_caching_seconds,
                60,
            ),
            (
                "resource_server_local_cache_seconds",
                self.resource_server.resource_server_local_cache_seconds,
                3600,
            ),
            (
                "client_authentication_cache_seconds",
                self.provider.client_authentication_cache_seconds,
                60,
            ),
            (
                "login_failure_window_seconds",
                self.provider.login_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "device_user_code_failure_window_seconds",
                self.provider.device_user_code_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "client_authentication_failure_window_seconds",
                self.provider.client_authentication_failure_window_seconds,
                MAX_THROTTLE_WINDOW_SECONDS,
            ),
            (
                "resource_server_token_caching_seconds",
                self.resource_server.resource_server_token_caching_seconds,
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
            .resource_server
            .www_authenticate_realm
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            return Err(SettingsError::new(
                "www_authenticate_realm",
                "must not contain quotes, backslashes or control characters",
            ));
        }
        let methods = &self
            .resource_server
            .oauth2_protected_resource_bearer_methods_supported;
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
        self.validate_protected_resource()
    }

    /// RFC 9728: the identifier and every URL of the document are absolute http(s) URLs
    /// (the identifier, and the servers, without query or fragment: RFC 9728 §2, RFC 8414 §2).
    fn validate_protected_resource(&self) -> Result<(), SettingsError> {
        let rs = &self.resource_server;
        if !rs.oauth2_protected_resource_identifier.is_empty() {
            check_base_url(
                "oauth2_protected_resource_identifier",
                &rs.oauth2_protected_resource_identifier,
            )?;
        }
        for server in &rs.oauth2_protected_resource_authorization_servers {
            check_base_url("oauth2_protected_resource_authorization_servers", server)?;
        }
        for (key, value) in [
            (
                "oauth2_protected_resource_documentation",
                &rs.oauth2_protected_resource_documentation,
            ),
            (
                "oauth2_protected_resource_policy_uri",
                &rs.oauth2_protected_resource_policy_uri,
            ),
            (
                "oauth2_protected_resource_tos_uri",
                &rs.oauth2_protected_resource_tos_uri,
            ),
        ] {
            let absolute = value.starts_with("https://") || value.starts_with("http://");
            if !value.is_empty() && (!absolute || value.chars().any(|c| c.is_control() || c == ' '))
            {
                return Err(SettingsError::new(
                    key,
                    format!("`{value}` is not an absolute http(s) URL"),
                ));
            }
        }
        if rs
            .oauth2_protected_resource_name
            .chars()
            .any(char::is_control)
        {
            return Err(SettingsError::new(
                "oauth2_protected_resource_name",
                "must not contain control characters",
            ));
        }
        Ok(())
    }

    /// Warnings that do not stop the server (DOT's system checks W0xx).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.provider.refresh_token_reuse_protection && !self.provider.rotate_refresh_token {
            out.push(
                "refresh_token_reuse_protection has no effect unless rotate_refresh_token is on"
                    .to_string(),
            );
        }
        if self.oidc.oidc_enabled && !self.scopes().contains_key("openid") {
            out.push("oidc_enabled is on but `scopes` has no `openid` scope".to_string());
        }
        out
    }
}

pub(super) fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

pub(super) fn check_base_url(key: &str, value: &str) -> Result<(), SettingsError> {
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
