//! RFC 9728 protected resource metadata: the document a client fetches to learn which
//! authorization servers issue tokens for a resource, which scopes it knows and how it takes
//! tokens — found from the `resource_metadata` parameter of a 401's challenge (§5.1).
//!
//! Built from the settings alone, never from the request (a `Host` header is client-chosen
//! and the document is publicly cacheable).

use serde::Serialize;

use crate::settings::Settings;

/// The well-known path of RFC 9728 §3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The RFC 9728 document. Optional members are left out when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: what a client compares with the URL it started from (§3.3).
    pub resource: String,
    /// The issuers of the authorization servers whose tokens the resource accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The scopes the resource knows, sorted.
    pub scopes_supported: Vec<String>,
    /// Where the resource takes the token: `header`, `body`, `query` (RFC 6750 §2).
    pub bearer_methods_supported: Vec<String>,
    /// A name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Documentation for developers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// The resource's policy on data use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy_uri: Option<String>,
    /// The resource's terms of service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_tos_uri: Option<String>,
}

/// `scheme://host[:port]` of an absolute URL (the whole value when it has no path).
pub fn origin_of(url: &str) -> String {
    origin(url).to_string()
}

fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The resource identifier: `oauth2_protected_resource_identifier`, else the origin of the
/// public base URL (the provider's own resources, such as userinfo and the demo API, live
/// at its origin).
pub fn resource_identifier(settings: &Settings) -> String {
    let configured = settings
        .resource_server
        .oauth2_protected_resource_identifier
        .trim();
    if configured.is_empty() {
        origin(&settings.base_url()).to_string()
    } else {
        configured.to_string()
    }
}

/// The path of `resource` (empty for an origin or `/`), which the well-known path is put in
/// front of (§3.1: `https://rs.example/api` → `/.well-known/oauth-protected-resource/api`).
fn resource_path(resource: &str) -> &str {
    let path = &resource[origin(resource).len()..];
    if path == "/" {
        ""
    } else {
        path.trim_end_matches('/')
    }
}

/// The path the document of `resource` is served at, on the resource's origin.
pub fn metadata_path(resource: &str) -> String {
    format!("{WELL_KNOWN}{}", resource_path(resource))
}

/// The absolute URL of the document of `resource` (the `resource_metadata` of challenges).
pub fn metadata_url(resource: &str) -> String {
    format!("{}{}", origin(resource), metadata_path(resource))
}

/// The document for this deployment. `own_issuer`: the issuer of the provider serving it,
/// listed as the authorization server when `oauth2_protected_resource_authorization_servers`
/// is empty (a resource server on its own lists only what that setting says).
pub fn protected_resource_metadata(
    settings: &Settings,
    own_issuer: Option<&str>,
) -> ProtectedResourceMetadata {
    let rs = &settings.resource_server;
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let authorization_servers = if rs
        .oauth2_protected_resource_authorization_servers
        .is_empty()
    {
        own_issuer.map(|i| vec![i.to_string()]).unwrap_or_default()
    } else {
        rs.oauth2_protected_resource_authorization_servers.clone()
    };
    // BTreeMap keys: already sorted.
    let scopes_supported = settings.scopes().into_keys().collect();
    ProtectedResourceMetadata {
        resource: resource_identifier(settings),
        authorization_servers,
        scopes_supported,
        bearer_methods_supported: rs
            .oauth2_protected_resource_bearer_methods_supported
            .clone(),
        resource_name: non_empty(&rs.oauth2_protected_resource_name),
        resource_documentation: non_empty(&rs.oauth2_protected_resource_documentation),
        resource_policy_uri: non_empty(&rs.oauth2_protected_resource_policy_uri),
        resource_tos_uri: non_empty(&rs.oauth2_protected_resource_tos_uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_path_goes_between_host_and_path() {
        assert_eq!(
            metadata_url("https://rs.example.com"),
            "https://rs.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("https://rs.example.com/"),
            "https://rs.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("https://rs.example.com:8443/api/v1"),
            "https://rs.example.com:8443/.well-known/oauth-protected-resource/api/v1"
        );
        assert_eq!(
            metadata_path("http://127.0.0.1:8000/api/"),
            "/.well-known/oauth-protected-resource/api"
        );
    }

    #[test]
    fn the_document_from_the_settings() {
        let mut s = Settings::default();
        s.server.issuer = Some("https://auth.example.com/base".into());
        let doc = protected_resource_metadata(&s, Some("https://auth.example.com/base/o"));
        assert_eq!(doc.resource, "https://auth.example.com");
        assert_eq!(
            doc.authorization_servers,
            vec!["https://auth.example.com/base/o"]
        );
        let mut sorted = doc.scopes_supported.clone();
        sorted.sort();
        assert_eq!(doc.scopes_supported, sorted);
        assert!(doc.scopes_supported.contains(&"read".to_string()));
        assert_eq!(doc.bearer_methods_supported, vec!["header"]);
        let json = serde_json::to_value(&doc).unwrap();
        assert!(
            json.get("resource_name").is_none(),
            "empty members are left out"
        );

        let rs = &mut s.resource_server;
        rs.oauth2_protected_resource_identifier = "https://api.example.com/v2".into();
        rs.oauth2_protected_resource_authorization_servers = vec!["https://sso.example.com".into()];
        rs.oauth2_protected_resource_name = "Photos API".into();
        let doc = protected_resource_metadata(&s, Some("https://auth.example.com/base/o"));
        assert_eq!(doc.resource, "https://api.example.com/v2");
        assert_eq!(doc.authorization_servers, vec!["https://sso.example.com"]);
        assert_eq!(doc.resource_name.as_deref(), Some("Photos API"));
        // A resource server on its own names only the configured servers.
        s.resource_server
            .oauth2_protected_resource_authorization_servers
            .clear();
        assert!(protected_resource_metadata(&s, None)
            .authorization_servers
            .is_empty());
    }

    #[test]
    fn bad_settings_are_refused() {
        for (key, value) in [
            (
                "oauth2_protected_resource_identifier",
                "\"api.example.com\"",
            ),
            (
                "oauth2_protected_resource_identifier",
                "\"https://api.example.com/#x\"",
            ),
            (
                "oauth2_protected_resource_authorization_servers",
                "[\"ftp://x\"]",
            ),
            ("oauth2_protected_resource_policy_uri", "\"/policy\""),
        ] {
            let e = Settings::from_toml_str(&format!("{key} = {value}")).unwrap_err();
            assert_eq!(e.key, key, "{value}");
        }
    }
}
