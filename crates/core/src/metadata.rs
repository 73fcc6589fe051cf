//! RFC 8414 authorization server metadata (DOT's metadata view), and the issuer identifier
//! every other part of the provider (introspection's `iss`, RFC 9207's `iss` parameter, the
//! OIDC discovery document and ID tokens) must agree on.
//!
//! The document is built from the settings alone, never from the request (a `Host` header is
//! client-controlled and the document is publicly cacheable).

use serde::Serialize;

use crate::settings::Settings;

/// The well-known suffix of RFC 8414 §3.
pub const WELL_KNOWN_SUFFIX: &str = "/.well-known/oauth-authorization-server";

/// Where the authorization endpoint lives under the issuer (every path is DOT's URL name).
pub const AUTHORIZATION_PATH: &str = "/authorize/";
/// Where the token endpoint lives under the issuer.
pub const TOKEN_PATH: &str = "/token/";
/// Where the revocation endpoint (RFC 7009) lives under the issuer.
pub const REVOCATION_PATH: &str = "/revoke_token/";
/// Where the introspection endpoint (RFC 7662) lives under the issuer.
pub const INTROSPECTION_PATH: &str = "/introspect/";
/// Where the device authorization endpoint (RFC 8628) lives under the issuer.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/device-authorization/";

/// The issuer identifier (RFC 8414 §2): `oidc_iss_endpoint` when set, else the public base
/// URL followed by `url_prefix`. Never ends with a slash.
pub fn issuer(settings: &Settings) -> String {
    let configured = settings.oidc.oidc_iss_endpoint.trim();
    let issuer = if configured.is_empty() {
        format!("{}{}", settings.base_url(), settings.server.url_prefix)
    } else {
        configured.to_string()
    };
    issuer.trim_end_matches('/').to_string()
}

/// `issuer` + `path` (`path` starts with `/`).
pub fn endpoint_url(issuer: &str, path: &str) -> String {
    format!(
        "{}/{}",
        issuer.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The client authentication methods the token, revocation and introspection endpoints
/// advertise (DOT's `OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED` default). Public clients
/// (`none`) are accepted at the token and revocation endpoints; while OpenID Connect is on
/// the token endpoint lists them (see [`crate::oidc::discovery::token_endpoint_auth_methods`]).
pub const CLIENT_AUTH_METHODS: [&str; 2] = ["client_secret_post", "client_secret_basic"];

/// The RFC 8414 document. Optional members are left out of the JSON when `None`.
///
/// While OpenID Connect is on, `jwks_uri`, `userinfo_endpoint`, the OIDC response types and
/// `none` (public clients) are listed here too, with the values discovery shows, so that a
/// client reading only RFC 8414 finds the keys. Discovery starts from this struct and adds
/// its own members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier (see [`issuer`]).
    pub issuer: String,
    /// URL of the authorization endpoint.
    pub authorization_endpoint: String,
    /// URL of the token endpoint.
    pub token_endpoint: String,
    /// URL of the JWKS; only while OpenID Connect is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// URL of the userinfo endpoint; only while OpenID Connect is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// RFC 8628 §4 (advertised with the device grant type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The configured scope names, sorted.
    pub scopes_supported: Vec<String>,
    /// The `response_type` values the authorization endpoint accepts.
    pub response_types_supported: Vec<String>,
    /// The `grant_type` values the token endpoint accepts.
    pub grant_types_supported: Vec<String>,
    /// How clients may authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// URL of documentation for client developers; left out when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
    /// URL of the revocation endpoint (RFC 7009).
    pub revocation_endpoint: String,
    /// How clients may authenticate at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// URL of the introspection endpoint (RFC 7662).
    pub introspection_endpoint: String,
    /// How clients may authenticate at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// The PKCE methods accepted (`S256`, and `plain` unless turned off).
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207 §3: present (true) only when the `iss` parameter is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// Further members (OIDC discovery adds its own here).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The metadata of this provider under `settings`.
pub fn authorization_server_metadata(settings: &Settings) -> AuthorizationServerMetadata {
    let issuer = issuer(settings);
    let url = |path: &str| endpoint_url(&issuer, path);
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // RFC 8628 §4: the device authorization endpoint, and its grant type below.
    let device_authorization_endpoint = Some(url(DEVICE_AUTHORIZATION_PATH));

    let mut response_types = vec!["code"];
    if !settings.provider.compliant_bcp_rfc9700_implicit_grant {
        response_types.push("token");
    }
    let mut response_types = strings(&response_types);
    let mut token_auth_methods = strings(&CLIENT_AUTH_METHODS);
    let (mut jwks_uri, mut userinfo_endpoint) = (None, None);
    if settings.oidc.oidc_enabled {
        use crate::oidc::discovery as oidc;
        jwks_uri = Some(url(oidc::JWKS_PATH));
        userinfo_endpoint = Some(oidc::userinfo_endpoint(settings, &issuer));
        response_types = oidc::response_types(settings);
        token_auth_methods = oidc::token_endpoint_auth_methods(settings);
    }
    let mut grant_types = vec!["authorization_code"];
    if !settings.provider.compliant_bcp_rfc9700_implicit_grant {
        grant_types.push("implicit");
    }
    if !settings.provider.compliant_bcp_rfc9700_password_grant {
        grant_types.push("password");
    }
    grant_types.extend(["client_credentials", "refresh_token"]);
    if device_authorization_endpoint.is_some() {
        grant_types.push("urn:ietf:params:oauth:grant-type:device_code");
    }
    let mut pkce_methods = Vec::new();
    if !settings.provider.compliant_bcp_rfc9700_pkce_method {
        pkce_methods.push("plain");
    }
    pkce_methods.push("S256");

    AuthorizationServerMetadata {
        authorization_endpoint: url(AUTHORIZATION_PATH),
        token_endpoint: url(TOKEN_PATH),
        jwks_uri,
        userinfo_endpoint,
        device_authorization_endpoint,
        // `scopes()` is a sorted map.
        scopes_supported: settings.scopes().into_keys().collect(),
        response_types_supported: response_types,
        grant_types_supported: strings(&grant_types),
        token_endpoint_auth_methods_supported: token_auth_methods,
        service_documentation: None,
        revocation_endpoint: url(REVOCATION_PATH),
        revocation_endpoint_auth_methods_supported: strings(&CLIENT_AUTH_METHODS),
        introspection_endpoint: url(INTROSPECTION_PATH),
        introspection_endpoint_auth_methods_supported: strings(&CLIENT_AUTH_METHODS),
        code_challenge_methods_supported: strings(&pkce_methods),
        authorization_response_iss_parameter_supported: settings
            .provider
            .compliant_bcp_rfc9700_authz_response_iss
            .then_some(true),
        extra: serde_json::Map::new(),
        issuer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        let mut s = Settings::default();
        assert_eq!(issuer(&s), "http://127.0.0.1:8000/o");
        s.server.url_prefix = String::new();
        assert_eq!(issuer(&s), "http://127.0.0.1:8000");
        s.server.issuer = Some("https://auth.example.com".into());
        s.server.url_prefix = "/oauth".into();
        assert_eq!(issuer(&s), "https://auth.example.com/oauth");
        s.oidc.oidc_iss_endpoint = "https://id.example.com/tenant/".into();
        assert_eq!(issuer(&s), "https://id.example.com/tenant");
        assert_eq!(
            endpoint_url("https://id.example.com/tenant", TOKEN_PATH),
            "https://id.example.com/tenant/token/"
        );
    }

    #[test]
    fn default_document() {
        // Without OpenID Connect: the plain RFC 8414 document (with it, see `openid_members`).
        let s = {
            let mut built = Settings::default();
            built.server.issuer = Some("http://localhost".into());
            built.oidc.oidc_enabled = false;
            built
        };
        let doc = serde_json::to_value(authorization_server_metadata(&s)).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "issuer": "http://localhost/o",
                "authorization_endpoint": "http://localhost/o/authorize/",
                "token_endpoint": "http://localhost/o/token/",
                "device_authorization_endpoint": "http://localhost/o/device-authorization/",
                "scopes_supported": ["read", "write"],
                "response_types_supported": ["code", "token"],
                "grant_types_supported": ["authorization_code", "implicit", "password", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "revocation_endpoint": "http://localhost/o/revoke_token/",
                "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "introspection_endpoint": "http://localhost/o/introspect/",
                "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["plain", "S256"],
                // RFC 9207 `iss` is on by default (DOT: off).
                "authorization_response_iss_parameter_supported": true,
            })
        );
    }

    #[test]
    fn compliance_gates() {
        let s = {
            let mut built = Settings::default();
            built.provider.compliant_bcp_rfc9700_implicit_grant = true;
            built.provider.compliant_bcp_rfc9700_password_grant = true;
            built.provider.compliant_bcp_rfc9700_pkce_method = true;
            built.provider.compliant_bcp_rfc9700_authz_response_iss = true;
            built.oidc.oidc_enabled = false;
            built
        };
        let doc = authorization_server_metadata(&s);
        assert_eq!(doc.response_types_supported, ["code"]);
        assert_eq!(
            doc.grant_types_supported,
            [
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ]
        );
        assert_eq!(doc.code_challenge_methods_supported, ["S256"]);
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["authorization_response_iss_parameter_supported"], true);
        assert!(json.get("jwks_uri").is_none());
        assert_eq!(
            json["device_authorization_endpoint"],
            "http://127.0.0.1:8000/o/device-authorization/"
        );
    }

    #[test]
    fn openid_members() {
        let s = {
            let mut built = Settings::default();
            built.server.issuer = Some("http://localhost".into());
            built.provider.compliant_bcp_rfc9700_implicit_grant = true;
            built
        };
        let doc = serde_json::to_value(authorization_server_metadata(&s)).unwrap();
        let discovery =
            crate::oidc::discovery::openid_configuration(&s, &crate::oidc::KeySet::new(vec![]));
        assert_eq!(doc["jwks_uri"], "http://localhost/o/.well-known/jwks.json");
        assert_eq!(doc["userinfo_endpoint"], "http://localhost/o/userinfo/");
        assert_eq!(
            doc["response_types_supported"],
            serde_json::json!(["code", "code token", "code id_token", "code id_token token"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_post", "client_secret_basic", "none"])
        );
        for member in [
            "jwks_uri",
            "userinfo_endpoint",
            "response_types_supported",
            "token_endpoint_auth_methods_supported",
        ] {
            assert_eq!(doc[member], discovery[member], "{member}");
        }
    }
}
