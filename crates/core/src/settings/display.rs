//! What the settings show of themselves: a `Debug` that never prints a secret, and the
//! RFC 9700 switches left insecure (which `serve` warns about at start).

use std::fmt;

use super::{OidcSettings, ProviderSettings, ResourceServerSettings, ServerSettings, Settings};
use crate::redact::{redact_url, Redacted, RedactedOption};

impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new setting does not compile until it is decided here
        // whether it is a secret.
        let ServerSettings {
            bind,
            issuer,
            url_prefix,
            template_dir,
            database_url,
            sqlite_synchronous,
            secret_key,
            max_body_bytes,
            max_connections,
            header_read_timeout_seconds,
            request_timeout_seconds,
            shutdown_timeout_seconds,
            login_url,
            provider_name,
            log_format,
            metrics_enabled,
            metrics_bind,
            health_details_scope,
        } = self;
        f.debug_struct("ServerSettings")
            .field("bind", bind)
            .field("issuer", &issuer.as_deref().map(redact_url))
            .field("url_prefix", url_prefix)
            .field("template_dir", template_dir)
            .field("database_url", &database_url.as_deref().map(redact_url))
            .field("sqlite_synchronous", sqlite_synchronous)
            .field("secret_key", &RedactedOption(secret_key.as_deref()))
            .field("max_body_bytes", max_body_bytes)
            .field("max_connections", max_connections)
            .field("header_read_timeout_seconds", header_read_timeout_seconds)
            .field("request_timeout_seconds", request_timeout_seconds)
            .field("shutdown_timeout_seconds", shutdown_timeout_seconds)
            .field("login_url", login_url)
            .field("provider_name", provider_name)
            .field("log_format", log_format)
            .field("metrics_enabled", metrics_enabled)
            .field("metrics_bind", metrics_bind)
            .field("health_details_scope", health_details_scope)
            .finish()
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new setting does not compile until it is decided here
        // whether it is a secret.
        let ProviderSettings {
            scopes,
            default_scopes,
            clear_expired_tokens_batch_size,
            clear_expired_tokens_batch_interval,
            client_id_generator_length,
            client_id_generator_alphabet,
            client_secret_generator_length,
            client_secret_generator_alphabet,
            client_secret_hasher,
            client_authentication_cache_seconds,
            login_failure_limit,
            login_failure_window_seconds,
            login_failure_address_limit,
            device_user_code_failure_limit,
            device_user_code_failure_window_seconds,
            client_authentication_failure_limit,
            client_authentication_failure_window_seconds,
            access_token_expire_seconds,
            authorization_code_expire_seconds,
            refresh_token_expire_seconds,
            refresh_token_grace_period_seconds,
            refresh_token_reuse_protection,
            rotate_refresh_token,
            error_response_with_scopes,
            request_approval_prompt,
            allowed_redirect_uri_schemes,
            allowed_schemes,
            allow_uri_wildcards,
            allow_localhost_loopback,
            pkce_required,
            oauth_device_verification_uri,
            oauth_device_verification_uri_complete,
            device_flow_interval,
            device_code_expire_seconds,
            compliant_bcp_rfc9700_implicit_grant,
            compliant_bcp_rfc9700_password_grant,
            compliant_bcp_rfc9700_pkce_method,
            compliant_bcp_rfc9700_access_token_transport,
            compliant_bcp_rfc9700_authz_response_iss,
            compliant_bcp_rfc9700_token_storage,
        } = self;
        f.debug_struct("ProviderSettings")
            .field("scopes", scopes)
            .field("default_scopes", default_scopes)
            .field(
                "clear_expired_tokens_batch_size",
                clear_expired_tokens_batch_size,
            )
            .field(
                "clear_expired_tokens_batch_interval",
                clear_expired_tokens_batch_interval,
            )
            .field("client_id_generator_length", client_id_generator_length)
            .field("client_id_generator_alphabet", client_id_generator_alphabet)
            .field(
                "client_secret_generator_length",
                client_secret_generator_length,
            )
            .field(
                "client_secret_generator_alphabet",
                client_secret_generator_alphabet,
            )
            .field("client_secret_hasher", client_secret_hasher)
            .field(
                "client_authentication_cache_seconds",
                client_authentication_cache_seconds,
            )
            .field("login_failure_limit", login_failure_limit)
            .field("login_failure_window_seconds", login_failure_window_seconds)
            .field("login_failure_address_limit", login_failure_address_limit)
            .field(
                "device_user_code_failure_limit",
                device_user_code_failure_limit,
            )
            .field(
                "device_user_code_failure_window_seconds",
                device_user_code_failure_window_seconds,
            )
            .field(
                "client_authentication_failure_limit",
                client_authentication_failure_limit,
            )
            .field(
                "client_authentication_failure_window_seconds",
                client_authentication_failure_window_seconds,
            )
            .field("access_token_expire_seconds", access_token_expire_seconds)
            .field(
                "authorization_code_expire_seconds",
                authorization_code_expire_seconds,
            )
            .field("refresh_token_expire_seconds", refresh_token_expire_seconds)
            .field(
                "refresh_token_grace_period_seconds",
                refresh_token_grace_period_seconds,
            )
            .field(
                "refresh_token_reuse_protection",
                refresh_token_reuse_protection,
            )
            .field("rotate_refresh_token", rotate_refresh_token)
            .field("error_response_with_scopes", error_response_with_scopes)
            .field("request_approval_prompt", request_approval_prompt)
            .field("allowed_redirect_uri_schemes", allowed_redirect_uri_schemes)
            .field("allowed_schemes", allowed_schemes)
            .field("allow_uri_wildcards", allow_uri_wildcards)
            .field("allow_localhost_loopback", allow_localhost_loopback)
            .field("pkce_required", pkce_required)
            .field(
                "oauth_device_verification_uri",
                oauth_device_verification_uri,
            )
            .field(
                "oauth_device_verification_uri_complete",
                oauth_device_verification_uri_complete,
            )
            .field("device_flow_interval", device_flow_interval)
            .field("device_code_expire_seconds", device_code_expire_seconds)
            .field(
                "compliant_bcp_rfc9700_implicit_grant",
                compliant_bcp_rfc9700_implicit_grant,
            )
            .field(
                "compliant_bcp_rfc9700_password_grant",
                compliant_bcp_rfc9700_password_grant,
            )
            .field(
                "compliant_bcp_rfc9700_pkce_method",
                compliant_bcp_rfc9700_pkce_method,
            )
            .field(
                "compliant_bcp_rfc9700_access_token_transport",
                compliant_bcp_rfc9700_access_token_transport,
            )
            .field(
                "compliant_bcp_rfc9700_authz_response_iss",
                compliant_bcp_rfc9700_authz_response_iss,
            )
            .field(
                "compliant_bcp_rfc9700_token_storage",
                compliant_bcp_rfc9700_token_storage,
            )
            .finish()
    }
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new setting does not compile until it is decided here
        // whether it is a secret.
        let OidcSettings {
            oidc_enabled,
            id_token_expire_seconds,
            oidc_iss_endpoint,
            oidc_userinfo_endpoint,
            oidc_userinfo_cors_enabled,
            oidc_rsa_private_key,
            oidc_rsa_private_keys_inactive,
            oidc_jwks_max_age_seconds,
            oidc_jwks_cache_seconds,
            oidc_response_types_supported,
            oidc_subject_types_supported,
            oidc_token_endpoint_auth_methods_supported,
            oidc_rp_initiated_logout_enabled,
            oidc_rp_initiated_logout_always_prompt,
            oidc_rp_initiated_logout_strict_redirect_uris,
            oidc_rp_initiated_logout_accept_expired_tokens,
            oidc_rp_initiated_logout_delete_tokens,
        } = self;
        f.debug_struct("OidcSettings")
            .field("oidc_enabled", oidc_enabled)
            .field("id_token_expire_seconds", id_token_expire_seconds)
            .field("oidc_iss_endpoint", oidc_iss_endpoint)
            .field("oidc_userinfo_endpoint", oidc_userinfo_endpoint)
            .field("oidc_userinfo_cors_enabled", oidc_userinfo_cors_enabled)
            .field("oidc_rsa_private_key", &Redacted(oidc_rsa_private_key))
            .field(
                "oidc_rsa_private_keys_inactive",
                &oidc_rsa_private_keys_inactive
                    .iter()
                    .map(|k| Redacted(k))
                    .collect::<Vec<_>>(),
            )
            .field("oidc_jwks_max_age_seconds", oidc_jwks_max_age_seconds)
            .field("oidc_jwks_cache_seconds", oidc_jwks_cache_seconds)
            .field(
                "oidc_response_types_supported",
                oidc_response_types_supported,
            )
            .field("oidc_subject_types_supported", oidc_subject_types_supported)
            .field(
                "oidc_token_endpoint_auth_methods_supported",
                oidc_token_endpoint_auth_methods_supported,
            )
            .field(
                "oidc_rp_initiated_logout_enabled",
                oidc_rp_initiated_logout_enabled,
            )
            .field(
                "oidc_rp_initiated_logout_always_prompt",
                oidc_rp_initiated_logout_always_prompt,
            )
            .field(
                "oidc_rp_initiated_logout_strict_redirect_uris",
                oidc_rp_initiated_logout_strict_redirect_uris,
            )
            .field(
                "oidc_rp_initiated_logout_accept_expired_tokens",
                oidc_rp_initiated_logout_accept_expired_tokens,
            )
            .field(
                "oidc_rp_initiated_logout_delete_tokens",
                oidc_rp_initiated_logout_delete_tokens,
            )
            .finish()
    }
}

impl fmt::Debug for ResourceServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new setting does not compile until it is decided here
        // whether it is a secret.
        let ResourceServerSettings {
            read_scope,
            write_scope,
            resource_server_introspection_url,
            resource_server_auth_token,
            resource_server_introspection_credentials,
            resource_server_introspection_timeout_seconds,
            resource_server_token_caching_seconds,
            resource_server_negative_caching_seconds,
            resource_server_local_cache_seconds,
            www_authenticate_realm,
            oauth2_protected_resource_bearer_methods_supported,
            oauth2_protected_resource_identifier,
            oauth2_protected_resource_authorization_servers,
            oauth2_protected_resource_name,
            oauth2_protected_resource_documentation,
            oauth2_protected_resource_policy_uri,
            oauth2_protected_resource_tos_uri,
            oauth2_protected_resource_advertise_metadata,
        } = self;
        f.debug_struct("ResourceServerSettings")
            .field("read_scope", read_scope)
            .field("write_scope", write_scope)
            .field(
                "resource_server_introspection_url",
                &resource_server_introspection_url.as_deref().map(redact_url),
            )
            .field(
                "resource_server_auth_token",
                &RedactedOption(resource_server_auth_token.as_deref()),
            )
            .field(
                "resource_server_introspection_credentials",
                &resource_server_introspection_credentials
                    .as_ref()
                    .map(|(id, secret)| (id, Redacted(secret))),
            )
            .field(
                "resource_server_introspection_timeout_seconds",
                resource_server_introspection_timeout_seconds,
            )
            .field(
                "resource_server_token_caching_seconds",
                resource_server_token_caching_seconds,
            )
            .field(
                "resource_server_negative_caching_seconds",
                resource_server_negative_caching_seconds,
            )
            .field(
                "resource_server_local_cache_seconds",
                resource_server_local_cache_seconds,
            )
            .field("www_authenticate_realm", www_authenticate_realm)
            .field(
                "oauth2_protected_resource_bearer_methods_supported",
                oauth2_protected_resource_bearer_methods_supported,
            )
            .field(
                "oauth2_protected_resource_identifier",
                oauth2_protected_resource_identifier,
            )
            .field(
                "oauth2_protected_resource_authorization_servers",
                oauth2_protected_resource_authorization_servers,
            )
            .field(
                "oauth2_protected_resource_name",
                oauth2_protected_resource_name,
            )
            .field(
                "oauth2_protected_resource_documentation",
                oauth2_protected_resource_documentation,
            )
            .field(
                "oauth2_protected_resource_policy_uri",
                oauth2_protected_resource_policy_uri,
            )
            .field(
                "oauth2_protected_resource_tos_uri",
                oauth2_protected_resource_tos_uri,
            )
            .field(
                "oauth2_protected_resource_advertise_metadata",
                oauth2_protected_resource_advertise_metadata,
            )
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("provider", &self.provider)
            .field("oidc", &self.oidc)
            .field("resource_server", &self.resource_server)
            .finish()
    }
}

impl Settings {
    /// The `compliant_bcp_rfc9700_*` switches in their insecure position: (setting, what it
    /// allows). Each is DOT-compatible but contradicts RFC 9700 (OAuth 2.0 Security BCP).
    pub fn insecure_switches(&self) -> Vec<(&'static str, &'static str)> {
        [
            (
                !self.provider.compliant_bcp_rfc9700_implicit_grant,
                "compliant_bcp_rfc9700_implicit_grant",
                "the implicit grant (tokens in the redirect URI fragment) is allowed (RFC 9700 section 2.1.2)",
            ),
            (
                !self.provider.compliant_bcp_rfc9700_password_grant,
                "compliant_bcp_rfc9700_password_grant",
                "the resource owner password credentials grant is allowed (RFC 9700 section 2.4)",
            ),
            (
                !self.provider.compliant_bcp_rfc9700_pkce_method,
                "compliant_bcp_rfc9700_pkce_method",
                "PKCE method `plain` is accepted (RFC 9700 section 2.1.1)",
            ),
            (
                !self.provider.compliant_bcp_rfc9700_access_token_transport,
                "compliant_bcp_rfc9700_access_token_transport",
                "access tokens may be accepted in URL query strings (RFC 9700 section 4.3.2)",
            ),
            (
                !self.provider.compliant_bcp_rfc9700_authz_response_iss,
                "compliant_bcp_rfc9700_authz_response_iss",
                "authorization responses carry no `iss` (RFC 9207), so mix-up attacks go unnoticed (RFC 9700 section 4.4)",
            ),
            (
                !self.provider.compliant_bcp_rfc9700_token_storage,
                "compliant_bcp_rfc9700_token_storage",
                "access and refresh tokens are stored in plaintext: a copy of the database can use them",
            ),
        ]
        .into_iter()
        .filter(|(insecure, _, _)| *insecure)
        .map(|(_, key, what)| (key, what))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret() {
        let s = {
            let mut built = Settings::default();
            built.server.secret_key = Some("S3CRET-session-key-0123456789abcdef".into());
            built.server.database_url = Some("postgres://bob:DBPASSWORD@db/x".into());
            built.oidc.oidc_rsa_private_key = "-----BEGIN PRIVATE KEY-----ACTIVEKEY".into();
            built.oidc.oidc_rsa_private_keys_inactive =
                vec!["-----BEGIN PRIVATE KEY-----OLDKEY".into()];
            built.resource_server.resource_server_auth_token = Some("RSTOKEN".into());
            built
                .resource_server
                .resource_server_introspection_credentials =
                Some(("rs-client".into(), "RSSECRET".into()));
            built.resource_server.resource_server_introspection_url =
                Some("https://u:URLPASS@as.example/i".into());
            built
        };
        let shown = format!("{s:?}");
        for secret in [
            "S3CRET",
            "DBPASSWORD",
            "ACTIVEKEY",
            "OLDKEY",
            "RSTOKEN",
            "RSSECRET",
            "URLPASS",
            "BEGIN PRIVATE KEY",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // What is not secret is still there.
        assert!(shown.contains("postgres://bob:***@db/x"), "{shown}");
        assert!(shown.contains("rs-client"));
        assert!(shown.contains("access_token_expire_seconds: 36000"));
        let pretty = format!("{s:#?}");
        assert!(!pretty.contains("S3CRET") && !pretty.contains("RSSECRET"));
    }

    #[test]
    fn insecure_switches_by_default_and_none_when_compliant() {
        let keys: Vec<_> = Settings::default()
            .insecure_switches()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "compliant_bcp_rfc9700_implicit_grant",
                "compliant_bcp_rfc9700_password_grant",
                "compliant_bcp_rfc9700_pkce_method",
                "compliant_bcp_rfc9700_access_token_transport",
            ]
        );
        let compliant = {
            let mut built = Settings::default();
            built.provider.compliant_bcp_rfc9700_implicit_grant = true;
            built.provider.compliant_bcp_rfc9700_password_grant = true;
            built.provider.compliant_bcp_rfc9700_pkce_method = true;
            built.provider.compliant_bcp_rfc9700_access_token_transport = true;
            built
        };
        assert!(compliant.insecure_switches().is_empty());
        let dot = {
            let mut built = compliant;
            built.provider.compliant_bcp_rfc9700_authz_response_iss = false;
            built.provider.compliant_bcp_rfc9700_token_storage = false;
            built
        };
        assert_eq!(dot.insecure_switches().len(), 2);
    }
}
