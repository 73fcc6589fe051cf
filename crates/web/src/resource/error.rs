//! Refusals of protected resources, shaped by RFC 6750 §3.
//!
//! | case | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no bearer token (none, or another scheme) | 401 | `Bearer realm="api"` (no error code, §3.1) |
//! | malformed: bad header, token in a refused place, two tokens | 400 | `Bearer realm="api", error="invalid_request", error_description="…"` |
//! | unknown, revoked, expired, inactive | 401 | `Bearer realm="api", error="invalid_token", error_description="…"` |
//! | valid but lacking scope | 403 | `Bearer realm="api", error="insufficient_scope", error_description="…", scope="read write"` |
//! | the token cannot be checked now (store or introspection down) | 503 | none; `Retry-After: 5` |
//!
//! Bodies are JSON with the same `error` and `error_description`. With
//! `error_response_with_scopes` a 403 body also lists `required_scopes` (DOT's DRF
//! behaviour). `realm` is `www_authenticate_realm`; quoted values are escaped and stripped of
//! control characters.

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::ResourceConfig;

/// DOT's descriptions.
pub const INVALID_TOKEN: &str = "The access token is invalid.";
/// DOT's description for an expired token.
pub const EXPIRED_TOKEN: &str = "The access token has expired.";
/// DOT's description for a token bound (RFC 8707) to other resources than the one asked.
pub const WRONG_RESOURCE: &str = "The access token is not valid for this resource.";
/// DOT's description for a token that lacks a needed scope.
pub const INSUFFICIENT_SCOPE: &str = "The access token is valid but does not have enough scope.";

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceError {
    /// No bearer token.
    Missing,
    /// 400 `invalid_request` with this description.
    Malformed(&'static str),
    /// 401 `invalid_token` with this description.
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`: the scopes that would have sufficed (for per-method
    /// alternatives: each acceptable set; empty when no scope allows the method).
    InsufficientScope {
        /// Each scope set that would have sufficed; empty when no scope allows the method.
        alternatives: Vec<Vec<String>>,
    },
    /// Cannot check now.
    Unavailable,
    /// 500.
    Internal,
}

impl ResourceError {
    /// A 403 `insufficient_scope` for a token lacking some of `required`.
    pub fn insufficient(required: Vec<String>) -> Self {
        ResourceError::InsufficientScope {
            alternatives: vec![required],
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            ResourceError::Missing | ResourceError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ResourceError::Malformed(_) => StatusCode::BAD_REQUEST,
            ResourceError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            ResourceError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ResourceError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A [`ResourceError`] with what its response needs (realm, whether to list scopes): the
/// rejection of every extractor and the answer of every layer.
#[derive(Debug, Clone)]
pub struct ResourceRejection {
    /// Why the request was refused.
    pub error: ResourceError,
    config: Arc<ResourceConfig>,
}

impl ResourceRejection {
    /// A refusal of `error`, answered as `config` says.
    pub fn new(error: ResourceError, config: Arc<ResourceConfig>) -> Self {
        Self { error, config }
    }
}

/// A quoted-string value: no control characters, `"` and `\` escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `WWW-Authenticate` value for `error` (None for 5xx).
pub fn challenge(error: &ResourceError, realm: &str) -> Option<String> {
    challenge_with_metadata(error, realm, None)
}

/// [`challenge`] naming the resource's RFC 9728 metadata (`resource_metadata`, §5.1), so
/// that a client can find the authorization server from the refusal.
pub fn challenge_with_metadata(
    error: &ResourceError,
    realm: &str,
    resource_metadata: Option<&str>,
) -> Option<String> {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !realm.is_empty() {
        params.push(("realm", realm.to_string()));
    }
    match error {
        ResourceError::Missing => {}
        ResourceError::Malformed(d) => {
            params.push(("error", "invalid_request".into()));
            params.push(("error_description", (*d).into()));
        }
        ResourceError::InvalidToken(d) => {
            params.push(("error", "invalid_token".into()));
            params.push(("error_description", (*d).into()));
        }
        ResourceError::InsufficientScope { alternatives } => {
            params.push(("error", "insufficient_scope".into()));
            params.push(("error_description", INSUFFICIENT_SCOPE.into()));
            if let Some(first) = alternatives.first().filter(|a| !a.is_empty()) {
                params.push(("scope", first.join(" ")));
            }
        }
        ResourceError::Unavailable | ResourceError::Internal => return None,
    }
    if let Some(url) = resource_metadata {
        params.push(("resource_metadata", url.to_string()));
    }
    if params.is_empty() {
        return Some("Bearer".into());
    }
    let attrs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    Some(format!("Bearer {}", attrs.join(", ")))
}

impl IntoResponse for ResourceRejection {
    fn into_response(self) -> Response {
        let error = &self.error;
        let mut body = Map::new();
        match error {
            ResourceError::Missing => {
                body.insert(
                    "error_description".into(),
                    "Authentication credentials were not provided.".into(),
                );
            }
            ResourceError::Malformed(d) => {
                body.insert("error".into(), "invalid_request".into());
                body.insert("error_description".into(), (*d).into());
            }
            ResourceError::InvalidToken(d) => {
                body.insert("error".into(), "invalid_token".into());
                body.insert("error_description".into(), (*d).into());
            }
            ResourceError::InsufficientScope { alternatives } => {
                body.insert("error".into(), "insufficient_scope".into());
                body.insert("error_description".into(), INSUFFICIENT_SCOPE.into());
                if self.config.error_response_with_scopes {
                    match alternatives.as_slice() {
                        [one] => {
                            body.insert("required_scopes".into(), json!(one));
                        }
                        many => {
                            body.insert("required_alternate_scopes".into(), json!(many));
                        }
                    }
                }
            }
            ResourceError::Unavailable => {
                body.insert("error".into(), "temporarily_unavailable".into());
                body.insert(
                    "error_description".into(),
                    "The access token cannot be checked right now; try again later.".into(),
                );
            }
            ResourceError::Internal => {
                body.insert("error".into(), "server_error".into());
            }
        }
        let mut resp = (error.status(), axum::Json(Value::Object(body))).into_response();
        let headers = resp.headers_mut();
        let metadata = self.config.resource_metadata_url.as_deref();
        if let Some(c) = challenge_with_metadata(error, &self.config.realm, metadata) {
            if let Ok(v) = HeaderValue::from_str(&c) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if *error == ResourceError::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            challenge(&ResourceError::Missing, "api").unwrap(),
            r#"Bearer realm="api""#
        );
        assert_eq!(challenge(&ResourceError::Missing, "").unwrap(), "Bearer");
        assert_eq!(
            challenge(&ResourceError::InvalidToken(INVALID_TOKEN), "a\"b\r\n").unwrap(),
            r#"Bearer realm="a\"b", error="invalid_token", error_description="The access token is invalid.""#
        );
        assert_eq!(
            challenge(
                &ResourceError::insufficient(vec!["read".into(), "write".into()]),
                "api"
            )
            .unwrap(),
            r#"Bearer realm="api", error="insufficient_scope", error_description="The access token is valid but does not have enough scope.", scope="read write""#
        );
        assert!(challenge(&ResourceError::Unavailable, "api").is_none());
        let url = "https://rs.example/.well-known/oauth-protected-resource";
        assert_eq!(
            challenge_with_metadata(&ResourceError::Missing, "", Some(url)).unwrap(),
            format!("Bearer resource_metadata=\"{url}\"")
        );
        assert_eq!(
            challenge_with_metadata(&ResourceError::InvalidToken(EXPIRED_TOKEN), "api", Some(url))
                .unwrap(),
            format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The access token has expired.\", resource_metadata=\"{url}\""
            )
        );
    }
}
