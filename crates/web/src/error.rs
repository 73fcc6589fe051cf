//! Turning failures into HTTP: RFC 6749 §5.2 JSON for protocol errors, with the cause
//! logged and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::error::{ErrorCode, OAuthError};
use oauth_toolkit_core::store::StoreError;

/// Why building or running the provider failed, for library users. Protocol errors that
/// reach a client stay [`OAuthError`] (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting the loader would refuse (`Settings::validate`); names the key.
    #[error(transparent)]
    Settings(#[from] oauth_toolkit_core::settings::SettingsError),
    /// The storage failed (loading the secret key, …).
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    /// A template in `template_dir` does not compile.
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplateError),
    /// No key can be derived from the secret key (it is empty).
    #[error("cannot derive keys from the secret key")]
    SecretKey(#[from] oauth_toolkit_core::crypto::CryptoError),
}

/// The JSON body and headers of an OAuth error (token-endpoint style).
pub fn oauth_error_response(err: OAuthError) -> Response {
    if err.code == ErrorCode::InvalidClient {
        metrics::counter!("oauth_client_authentication_failures_total").increment(1);
    }
    if err.status >= 500 {
        // Causes can hold database details: log them, never send them.
        tracing::error!(error = %err, cause = ?err.cause, "request failed");
    } else {
        tracing::debug!(error = %err, "request refused");
    }
    let mut body = serde_json::Map::new();
    body.insert("error".into(), err.code.as_str().into());
    if let Some(d) = &err.description {
        body.insert("error_description".into(), d.clone().into());
    }
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(serde_json::Value::Object(body))).into_response();
    no_store(&mut resp);
    if let Some(seconds) = err.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.get()));
    }
    if status == StatusCode::UNAUTHORIZED && err.code == ErrorCode::InvalidClient {
        // RFC 6749 §5.2: the challenge of the scheme clients authenticate with.
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oauth-toolkit\", error=\"invalid_client\""),
        );
    }
    resp
}

/// RFC 6749 §5.1: token responses must not be cached.
pub fn no_store(resp: &mut Response) {
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
