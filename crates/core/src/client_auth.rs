//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3, DOT): HTTP Basic or body credentials, public clients by
//! `client_id` alone, secrets compared in constant time.

use base64::Engine;

use crate::context::Ctx;
use crate::error::{ErrorCode, OAuthError};
use crate::models::{Application, ClientType};
use crate::params::Params;
use crate::throttle::{self, address_part, throttle_key, Limit, ThrottleKind};

/// How the client presented itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (client_secret_basic).
    Basic,
    /// `client_id` + `client_secret` in the body (client_secret_post).
    Post,
    /// `client_id` only (a public client).
    None,
}

/// Credentials taken from a request.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The `client_id` presented.
    pub client_id: String,
    /// The `client_secret` presented, if any (plaintext, as sent).
    pub secret: Option<String>,
    /// How they were presented.
    pub method: AuthMethod,
}

impl std::fmt::Debug for ClientCredentials {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("method", &self.method)
            .finish()
    }
}

/// What the endpoint demands of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Confidential clients must authenticate; public ones may identify by `client_id`
    /// (and a secret they send is still checked).
    ByClientType,
    /// Every client must present its secret (client_credentials, introspection).
    Secret,
}

/// RFC 6749 §5.2: `invalid_client` is 401 with a `WWW-Authenticate` challenge (added by the
/// web layer when the status is 401).
pub fn invalid_client() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient).with_description("Client authentication failed.")
}

/// 429 `invalid_client` with `Retry-After`: too many failures for this client from this address.
fn throttled(t: throttle::Throttled) -> OAuthError {
    invalid_client()
        .with_description("Too many failed client authentications. Try again later.")
        .with_status(429)
        .with_retry_after(t.retry_after_seconds)
}

/// Read the credentials from the `Authorization` header value (if any) and the body.
/// `Ok(None)`: no client identification at all.
pub fn extract_credentials(
    authorization: Option<&str>,
    body: &Params,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let body_id = body.single("client_id")?;
    let body_secret = if body.contains("client_secret") {
        // An empty secret is still a secret (DOT: "secret may be empty").
        Some(body.single("client_secret")?.unwrap_or(""))
    } else {
        None
    };
    if let Some(header) = authorization {
        let Some(encoded) = strip_scheme(header, "Basic") else {
            // Another scheme (Bearer, …) is not client authentication here.
            return credentials_from_body(body_id, body_secret);
        };
        let (id, secret) = parse_basic(encoded)?;
        // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "Client authentication must use only one method.",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(invalid_client());
        }
        return Ok(Some(ClientCredentials {
            client_id: id,
            secret: Some(secret),
            method: AuthMethod::Basic,
        }));
    }
    credentials_from_body(body_id, body_secret)
}

fn credentials_from_body(
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<Option<ClientCredentials>, OAuthError> {
    Ok(id.map(|id| ClientCredentials {
        client_id: id.to_string(),
        secret: secret.map(str::to_string),
        method: if secret.is_some() {
            AuthMethod::Post
        } else {
            AuthMethod::None
        },
    }))
}

/// The value after `scheme ` (scheme compared case-insensitively, RFC 7235 §2.1).
pub fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// `base64(urlencode(id) ":" urlencode(secret))` per RFC 6749 §2.3.1.
pub fn parse_basic(encoded: &str) -> Result<(String, String), OAuthError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid_client())?;
    let text = String::from_utf8(raw).map_err(|_| invalid_client())?;
    let (id, secret) = text.split_once(':').ok_or_else(invalid_client)?;
    let id = form_urldecode(id).ok_or_else(invalid_client)?;
    let secret = form_urldecode(secret).ok_or_else(invalid_client)?;
    if id.is_empty() {
        return Err(invalid_client());
    }
    Ok((id, secret))
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); `None` on bad escapes or
/// non-UTF-8 results.
pub fn form_urldecode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (*bytes.get(i + 1)? as char).to_digit(16)?;
                let lo = (*bytes.get(i + 2)? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Authenticate the client. Every failure is `invalid_client`; unknown clients and wrong
/// secrets are indistinguishable. A success with a secret is remembered for
/// `client_authentication_cache_seconds` in `ctx`'s cache (see [`crate::client_auth_cache`]).
pub async fn authenticate_client(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    requirement: Requirement,
) -> Result<Application, OAuthError> {
    let Some(creds) = credentials else {
        return Err(invalid_client());
    };
    // A NUL byte or an absurd length can never be a client id: not found, not a 500.
    if creds.client_id.len() > 255 {
        return Err(invalid_client());
    }
    // Only secret-bearing successes are cached, so a hit satisfies every requirement.
    let cache = ctx.client_auth_cache.filter(|c| c.is_enabled());
    if let (Some(cache), Some(secret)) = (cache, &creds.secret) {
        if let Some(app) = cache.get(&creds.client_id, secret, ctx.now) {
            return Ok(app);
        }
    }
    let app = ctx
        .store
        .find_application_by_client_id(&creds.client_id)
        .await?
        .filter(Application::is_usable);
    let Some(app) = app else {
        // Spend the time a secret check would, so unknown ids do not answer faster.
        if let Some(secret) = &creds.secret {
            let _ = crate::client_secret::verify_client_secret(secret, "sha256$decoy$0");
        }
        return Err(invalid_client());
    };
    let must_have_secret =
        requirement == Requirement::Secret || app.client_type == ClientType::Confidential;
    match &creds.secret {
        Some(secret) => {
            // Guessing is throttled per client_id and address: refused while over the limit,
            // before the secret is looked at; only failures count (see `crate::throttle`).
            let limit = Limit::client_authentication(ctx.settings);
            let key = throttle_key(
                ThrottleKind::ClientAuthentication,
                &[creds.client_id.as_bytes(), &address_part(ctx.peer)],
            );
            if let Err(t) = throttle::check(ctx.store, &key, limit, ctx.now).await? {
                tracing::info!("client authentication refused: too many failures");
                return Err(throttled(t));
            }
            // Slow hashes (argon2id, imported PBKDF2) run off the async workers, bounded.
            if !app.check_secret_async(secret).await {
                if let Err(t) = throttle::count(ctx.store, &key, limit, ctx.now).await? {
                    return Err(throttled(t));
                }
                return Err(invalid_client());
            }
            if let Some(cache) = cache {
                cache.put(&creds.client_id, secret, &app, ctx.now);
            }
        }
        None if must_have_secret => return Err(invalid_client()),
        None => {}
    }
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    }

    #[test]
    fn basic_is_url_decoded() {
        let (id, secret) = parse_basic(
            base64::engine::general_purpose::STANDARD
                .encode("my%3Aid:a+b%25c")
                .as_str(),
        )
        .unwrap();
        assert_eq!(id, "my:id");
        assert_eq!(secret, "a b%c");
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for bad in [
            "!!!",
            "bm9jb2xvbg==", /* "nocolon" */
            "OnNlY3JldA==", /* ":secret" */
        ] {
            let e = parse_basic(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClient, "{bad}");
            assert_eq!(e.status, 401);
        }
        assert!(form_urldecode("%zz").is_none());
        assert!(form_urldecode("%e9").is_none(), "not UTF-8");
        assert!(form_urldecode("%").is_none());
    }

    #[test]
    fn extraction_rules() {
        let none = Params::default();
        assert_eq!(extract_credentials(None, &none).unwrap(), None);
        let c = extract_credentials(Some(&basic("id", "s")), &none)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.secret.as_deref(), c.method),
            ("id", Some("s"), AuthMethod::Basic)
        );
        // Scheme is case-insensitive.
        let c = extract_credentials(Some(&basic("id", "s").replace("Basic", "bAsIc")), &none)
            .unwrap()
            .unwrap();
        assert_eq!(c.method, AuthMethod::Basic);

        let body: Params = [("client_id", "id"), ("client_secret", "")]
            .into_iter()
            .collect();
        let c = extract_credentials(None, &body).unwrap().unwrap();
        assert_eq!(
            (c.secret.as_deref(), c.method),
            (Some(""), AuthMethod::Post)
        );

        let body: Params = [("client_id", "id")].into_iter().collect();
        let c = extract_credentials(None, &body).unwrap().unwrap();
        assert_eq!(c.method, AuthMethod::None);
        // Basic plus a matching body client_id is fine; a different one is not.
        assert!(extract_credentials(Some(&basic("id", "s")), &body)
            .unwrap()
            .is_some());
        let other: Params = [("client_id", "other")].into_iter().collect();
        assert_eq!(
            extract_credentials(Some(&basic("id", "s")), &other)
                .unwrap_err()
                .code,
            ErrorCode::InvalidClient
        );
        // Two methods at once.
        let both: Params = [("client_secret", "s")].into_iter().collect();
        assert_eq!(
            extract_credentials(Some(&basic("id", "s")), &both)
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        // A Bearer header is not client authentication.
        assert_eq!(
            extract_credentials(Some("Bearer abc"), &none).unwrap(),
            None
        );
        // Duplicated client_id.
        let dup: Params = [("client_id", "a"), ("client_id", "b")]
            .into_iter()
            .collect();
        assert!(extract_credentials(None, &dup).is_err());
    }
}
