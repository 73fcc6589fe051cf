//! Remote resource-server mode: validate tokens by asking an RFC 7662
//! introspection endpoint — this provider's `introspect/` or any other RFC 7662 server.
//!
//! - The call: `POST <url>` with the form `token=…&token_type_hint=access_token`,
//!   authenticated by `resource_server_auth_token` (`Authorization: Bearer`, DOT's first
//!   choice) or else `resource_server_introspection_credentials` (HTTP Basic, each part
//!   form-urlencoded as RFC 6749 §2.3.1 asks).
//! - Bounded: the whole exchange (connect, send, answer) must finish within
//!   `resource_server_introspection_timeout_seconds` (5 s), and the answer may not exceed
//!   64 KiB.
//! - `{"active": true, …}` is a valid token: its `scope`, `exp`, `client_id`, `username`,
//!   `sub` are kept. It is cached for `min(exp − now, resource_server_token_caching_seconds)`,
//!   keyed by the token's SHA-256. A token revoked at the provider therefore keeps working
//!   here until that entry expires: lower `resource_server_token_caching_seconds` where that
//!   matters (DOT's default is 10 hours).
//! - `{"active": false}` is an invalid token (401), remembered for
//!   `resource_server_negative_caching_seconds` (5 s) so that a flood of bad tokens does not
//!   become a flood of introspection calls.
//! - Anything else — connection refused, timeout, a status other than 200 (such as 401/403
//!   when our credentials are wrong), a body that is not an RFC 7662 answer — is
//!   [`ValidationError::Unavailable`]: the request gets `503` with `Retry-After`, not 401,
//!   because the token may well be valid and a client told otherwise would throw it away.
//!   Failures are never cached.
//!
//! The cache holds at most [`DEFAULT_MAX_ENTRIES`] entries. Plain `http://` only, as built
//! here: enable reqwest's `rustls-tls` feature to call an `https://` endpoint.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{header, HeaderValue, StatusCode};
use base64::Engine;
use oauth_toolkit_core::token_checksum::token_checksum;
use oauth_toolkit_core::{Clock, Settings};
use serde_json::Value;
use time::OffsetDateTime;

use super::cache::{TtlCache, DEFAULT_MAX_ENTRIES};
use super::{TokenOrigin, TokenValidator, ValidToken, ValidationError};

/// Largest introspection answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How the resource server authenticates to the introspection endpoint.
#[derive(Clone)]
pub enum IntrospectionAuth {
    /// `Authorization: Bearer <token>` (a token with the `introspection` scope at our provider).
    Bearer(String),
    /// HTTP Basic with a client's id and secret.
    Basic {
        /// The client's id.
        client_id: String,
        /// The client's secret, in plaintext.
        client_secret: String,
    },
    /// No authentication (an endpoint open to the resource server's network).
    None,
}

impl std::fmt::Debug for IntrospectionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntrospectionAuth::Bearer(_) => f.write_str("Bearer(…)"),
            IntrospectionAuth::Basic { client_id, .. } => {
                write!(f, "Basic {{ client_id: {client_id:?}, .. }}")
            }
            IntrospectionAuth::None => f.write_str("None"),
        }
    }
}

impl IntrospectionAuth {
    fn header(&self) -> Option<HeaderValue> {
        let text = match self {
            IntrospectionAuth::Bearer(t) => format!("Bearer {t}"),
            IntrospectionAuth::Basic {
                client_id,
                client_secret,
            } => {
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", enc(client_id), enc(client_secret));
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            IntrospectionAuth::None => return None,
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Where and how to introspect, and how long to remember answers.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// The URL of the introspection endpoint.
    pub url: String,
    /// How to authenticate to it.
    pub auth: IntrospectionAuth,
    /// Bound on the whole exchange.
    pub timeout: Duration,
    /// Longest time an active answer is remembered (never past the token's `exp`).
    pub positive_ttl: Duration,
    /// How long an inactive answer is remembered.
    pub negative_ttl: Duration,
    /// Most answers remembered at once.
    pub max_entries: usize,
}

impl RemoteConfig {
    /// Introspect at `url` with `auth`: a 5 s timeout, active answers kept up to 10 hours,
    /// inactive ones 5 s.
    pub fn new(url: impl Into<String>, auth: IntrospectionAuth) -> Self {
        Self {
            url: url.into(),
            auth,
            timeout: Duration::from_secs(5),
            positive_ttl: Duration::from_secs(36_000),
            negative_ttl: Duration::from_secs(5),
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }

    /// From DOT's `resource_server_*` settings; `None` without an introspection URL.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let url = settings
            .resource_server
            .resource_server_introspection_url
            .clone()?;
        let auth = if let Some(t) = &settings.resource_server.resource_server_auth_token {
            IntrospectionAuth::Bearer(t.clone())
        } else if let Some((id, secret)) = &settings
            .resource_server
            .resource_server_introspection_credentials
        {
            IntrospectionAuth::Basic {
                client_id: id.clone(),
                client_secret: secret.clone(),
            }
        } else {
            IntrospectionAuth::None
        };
        Some(Self {
            timeout: Duration::from_secs(
                settings
                    .resource_server
                    .resource_server_introspection_timeout_seconds
                    .max(1),
            ),
            positive_ttl: Duration::from_secs(
                settings
                    .resource_server
                    .resource_server_token_caching_seconds,
            ),
            negative_ttl: Duration::from_secs(
                settings
                    .resource_server
                    .resource_server_negative_caching_seconds,
            ),
            ..Self::new(url, auth)
        })
    }
}

/// Checks tokens by RFC 7662 introspection at a provider's endpoint, remembering the answers.
pub struct RemoteValidator {
    client: reqwest::Client,
    config: RemoteConfig,
    auth_header: Option<HeaderValue>,
    clock: Arc<dyn Clock>,
    cache: TtlCache,
}

/// Why an introspection exchange failed (logged; never sent to clients).
#[derive(Debug, thiserror::Error)]
enum RemoteFailure {
    #[error("introspection request failed: {0}")]
    Transport(String),
    #[error("introspection endpoint answered HTTP {0}")]
    Status(u16),
    #[error("introspection answer is not an RFC 7662 response: {0}")]
    Malformed(&'static str),
}

impl RemoteValidator {
    /// A validator for `config`; fails only when the HTTP client cannot be built.
    pub fn new(config: RemoteConfig, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        if config.url.starts_with("http://")
            && !matches!(config.auth, IntrospectionAuth::None)
            && !is_loopback_url(&config.url)
        {
            tracing::warn!(
                url = %config.url,
                "the introspection endpoint is plain http: credentials and tokens cross the network unencrypted"
            );
        }
        Ok(Self {
            client,
            auth_header: config.auth.header(),
            cache: TtlCache::new(config.max_entries),
            config,
            clock,
        })
    }

    async fn introspect(&self, token: &str) -> Result<Value, RemoteFailure> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let mut req = self
            .client
            .post(&self.config.url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body);
        if let Some(h) = &self.auth_header {
            req = req.header(header::AUTHORIZATION, h.clone());
        }
        // reqwest's errors name the URL, never the form body.
        let mut resp = req
            .send()
            .await
            .map_err(|e| RemoteFailure::Transport(e.to_string()))?;
        if resp.status() != StatusCode::OK {
            return Err(RemoteFailure::Status(resp.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| RemoteFailure::Transport(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(RemoteFailure::Malformed("larger than 64 KiB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|_| RemoteFailure::Malformed("not JSON"))
    }

    /// Read an RFC 7662 answer: `Ok(None)` when inactive.
    fn read_answer(answer: &Value) -> Result<Option<ValidToken>, RemoteFailure> {
        let obj = answer
            .as_object()
            .ok_or(RemoteFailure::Malformed("not a JSON object"))?;
        match obj.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Ok(None),
            _ => return Err(RemoteFailure::Malformed("no boolean `active`")),
        }
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let expires = match obj.get("exp") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let secs = v
                    .as_i64()
                    .or_else(|| v.as_f64().map(|f| f as i64))
                    .ok_or(RemoteFailure::Malformed("`exp` is not a number"))?;
                Some(
                    OffsetDateTime::from_unix_timestamp(secs)
                        .map_err(|_| RemoteFailure::Malformed("`exp` out of range"))?,
                )
            }
        };
        // RFC 7662 §2.2: `aud` is a string or an array of strings.
        let audiences = match obj.get("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(RemoteFailure::Malformed(
                    "`aud` is not a string or a list of strings",
                ))?,
            Some(_) => {
                return Err(RemoteFailure::Malformed(
                    "`aud` is not a string or a list of strings",
                ))
            }
        };
        Ok(Some(ValidToken {
            scope: text("scope").unwrap_or_default(),
            expires,
            client_id: text("client_id"),
            username: text("username"),
            subject: text("sub"),
            user: None,
            application: None,
            token_id: None,
            origin: TokenOrigin::Introspection,
            audiences,
        }))
    }
}

#[async_trait]
impl TokenValidator for RemoteValidator {
    async fn validate(&self, token: &str) -> Result<Option<Arc<ValidToken>>, ValidationError> {
        let checksum = token_checksum(token);
        if let Some(hit) = self.cache.get(&checksum) {
            return Ok(hit);
        }
        let outcome = self
            .introspect(token)
            .await
            .and_then(|answer| Self::read_answer(&answer));
        match outcome {
            Ok(Some(valid)) => {
                let valid = Arc::new(valid);
                let life = match valid.expires {
                    Some(e) => Duration::try_from(e - self.clock.now()).unwrap_or(Duration::ZERO),
                    None => self.config.positive_ttl,
                };
                self.cache.insert(
                    checksum,
                    Some(valid.clone()),
                    life.min(self.config.positive_ttl),
                );
                Ok(Some(valid))
            }
            Ok(None) => {
                self.cache.insert(checksum, None, self.config.negative_ttl);
                Ok(None)
            }
            Err(failure) => {
                match &failure {
                    RemoteFailure::Status(401 | 403) => tracing::error!(
                        url = %self.config.url,
                        error = %failure,
                        "the introspection endpoint refused our credentials \
                         (resource_server_auth_token / resource_server_introspection_credentials)"
                    ),
                    _ => {
                        tracing::warn!(url = %self.config.url, error = %failure, "cannot introspect a token")
                    }
                }
                Err(ValidationError::unavailable(failure))
            }
        }
    }
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers() {
        let t = RemoteValidator::read_answer(&json!({"active": true, "scope": "read", "exp": 2000000000, "username": "u", "client_id": "c", "sub": "7"}))
            .unwrap()
            .unwrap();
        assert_eq!(t.scope, "read");
        assert_eq!(t.username.as_deref(), Some("u"));
        assert_eq!(t.subject.as_deref(), Some("7"));
        assert_eq!(t.expires.unwrap().unix_timestamp(), 2_000_000_000);
        assert!(RemoteValidator::read_answer(&json!({"active": false}))
            .unwrap()
            .is_none());
        assert!(RemoteValidator::read_answer(&json!({"active": "yes"})).is_err());
        assert!(RemoteValidator::read_answer(&json!([1])).is_err());
        assert!(RemoteValidator::read_answer(&json!({"active": true, "exp": "soon"})).is_err());
        let bare = RemoteValidator::read_answer(&json!({"active": true}))
            .unwrap()
            .unwrap();
        assert!(bare.expires.is_none() && bare.scope.is_empty());
    }

    #[test]
    fn basic_auth_is_form_encoded() {
        let h = IntrospectionAuth::Basic {
            client_id: "a b".into(),
            client_secret: "p:w".into(),
        }
        .header()
        .unwrap();
        let b64 = h.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(raw, b"a+b:p%3Aw");
        assert!(h.is_sensitive());
        assert_eq!(
            format!(
                "{:?}",
                IntrospectionAuth::Bearer("secret-token-value".into())
            ),
            "Bearer(…)"
        );
    }
}
