//! OpenID Connect Discovery 1.0 §3: the provider metadata document. It starts from the
//! RFC 8414 document (so the revocation, introspection and device endpoints and the PKCE
//! methods are listed as there) and adds the OpenID members. Built from the settings and the
//! key set only, never from the request.

use serde_json::{json, Value};

use super::claims::CLAIMS_SUPPORTED;
use super::keys::KeySet;
use crate::metadata::{authorization_server_metadata, endpoint_url};
use crate::settings::Settings;

/// Where the userinfo endpoint lives under the issuer.
pub const USERINFO_PATH: &str = "/userinfo/";
/// Where the JWKS (the public signing keys) lives under the issuer.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the OpenID Connect discovery document lives under the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Where the RP-initiated logout endpoint lives under the issuer.
pub const END_SESSION_PATH: &str = "/logout/";

/// Is `response_type` (a space-separated set) an implicit one (no `code`)?
fn is_implicit(response_type: &str) -> bool {
    !response_type.split(' ').any(|w| w == "code")
}

/// `userinfo_endpoint`: `oidc_userinfo_endpoint`, else `issuer` + `/userinfo/`.
pub fn userinfo_endpoint(settings: &Settings, issuer: &str) -> String {
    if settings.oidc.oidc_userinfo_endpoint.trim().is_empty() {
        endpoint_url(issuer, USERINFO_PATH)
    } else {
        settings.oidc.oidc_userinfo_endpoint.trim().to_string()
    }
}

/// `response_types_supported`: `oidc_response_types_supported`, without the implicit ones
/// while `compliant_bcp_rfc9700_implicit_grant`.
pub fn response_types(settings: &Settings) -> Vec<String> {
    settings
        .oidc
        .oidc_response_types_supported
        .iter()
        .filter(|t| !(settings.provider.compliant_bcp_rfc9700_implicit_grant && is_implicit(t)))
        .cloned()
        .collect()
}

/// `token_endpoint_auth_methods_supported`: `oidc_token_endpoint_auth_methods_supported`
/// and `none`, since public clients are served (Discovery §3; DOT lists no `none`).
pub fn token_endpoint_auth_methods(settings: &Settings) -> Vec<String> {
    let mut methods = settings
        .oidc
        .oidc_token_endpoint_auth_methods_supported
        .clone();
    if !methods.iter().any(|m| m == "none") {
        methods.push("none".into());
    }
    methods
}

/// The discovery document.
pub fn openid_configuration(settings: &Settings, keys: &KeySet) -> Value {
    let base = authorization_server_metadata(settings);
    let issuer = base.issuer.clone();
    let url = |path: &str| endpoint_url(&issuer, path);
    let mut doc = match serde_json::to_value(&base) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let userinfo = userinfo_endpoint(settings, &issuer);
    let response_types = response_types(settings);
    let mut grant_types: Vec<Value> = doc
        .get("grant_types_supported")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if settings.provider.compliant_bcp_rfc9700_implicit_grant {
        grant_types.retain(|g| g != "implicit");
    }
    let mut algs: Vec<&str> = keys.algorithms();
    algs.push("HS256");
    let prompts = ["none", "login", "consent", "select_account"];
    let extra = json!({
        "userinfo_endpoint": userinfo,
        "jwks_uri": url(JWKS_PATH),
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": grant_types,
        "subject_types_supported": settings.oidc.oidc_subject_types_supported,
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": token_endpoint_auth_methods(settings),
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": prompts,
        "display_values_supported": ["page", "popup", "touch", "wap"],
    });
    if let Value::Object(extra) = extra {
        doc.extend(extra);
    }
    if settings.oidc.oidc_rp_initiated_logout_enabled {
        // RP-Initiated Logout §2.1: only while `logout/` is routed.
        doc.insert("end_session_endpoint".into(), url(END_SESSION_PATH).into());
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_members() {
        let s = {
            let mut built = Settings::default();
            built.server.issuer = Some("http://localhost".into());
            built.oidc.oidc_rp_initiated_logout_enabled = true;
            built
        };
        let doc = openid_configuration(&s, &KeySet::new(vec![]));
        assert_eq!(doc["issuer"], "http://localhost/o");
        assert_eq!(doc["userinfo_endpoint"], "http://localhost/o/userinfo/");
        assert_eq!(doc["jwks_uri"], "http://localhost/o/.well-known/jwks.json");
        assert_eq!(doc["end_session_endpoint"], "http://localhost/o/logout/");
        assert_eq!(
            doc["response_modes_supported"],
            json!(["query", "fragment", "form_post"])
        );
        assert_eq!(
            doc["revocation_endpoint"],
            "http://localhost/o/revoke_token/"
        );
        assert_eq!(
            doc["introspection_endpoint"],
            "http://localhost/o/introspect/"
        );
        assert_eq!(
            doc["code_challenge_methods_supported"],
            json!(["plain", "S256"])
        );
        assert_eq!(doc["response_types_supported"].as_array().unwrap().len(), 7);
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(doc["request_uri_parameter_supported"], false);
        let gated = {
            let mut built = Settings::default();
            built.provider.compliant_bcp_rfc9700_implicit_grant = true;
            built.oidc.oidc_rp_initiated_logout_enabled = false;
            built
        };
        let doc = openid_configuration(&gated, &KeySet::new(vec![]));
        assert!(doc.get("end_session_endpoint").is_none());
        let types: Vec<&str> = doc["response_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            types,
            ["code", "code token", "code id_token", "code id_token token"]
        );
    }
}
