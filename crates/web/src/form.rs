//! Reading OAuth parameters from HTTP requests.

use axum::http::{header, HeaderMap};
use oauth_toolkit_core::error::OAuthError;
use oauth_toolkit_core::params::Params;

/// Parse an `application/x-www-form-urlencoded` body. Bad escapes and invalid UTF-8 are
/// decoded lossily (they then fail validation as ordinary wrong values, never a panic).
pub fn parse_urlencoded(bytes: &[u8]) -> Params {
    Params(
        form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// The POST body of a protocol endpoint: form-encoded only (RFC 6749 §3.2, §4.1.3), and no
/// parameters in the query string ("URL query parameters are not allowed").
pub fn protocol_post_params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: &str,
) -> Result<Params, (u16, OAuthError)> {
    if query.is_some_and(|q| !q.is_empty()) {
        return Err((
            400,
            OAuthError::invalid_request("URL query parameters are not allowed"),
        ));
    }
    // No body and no Content-Type is an empty form (what clients send for a POST without
    // parameters): the endpoint then names the missing parameter instead of a 415.
    if body.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        return Ok(Params::default());
    }
    if !is_form_encoded(headers) {
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|| "no Content-Type header".to_string());
        return Err((
            415,
            OAuthError::invalid_request(format!(
                "The {endpoint} takes its parameters in an application/x-www-form-urlencoded \
                 request body (RFC 6749 section 3.2); got {got}."
            ))
            .with_status(415),
        ));
    }
    Ok(parse_urlencoded(body))
}

/// Media type `application/x-www-form-urlencoded`, parameters (charset) ignored.
pub fn is_form_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// The `Authorization` header as text, if it is text.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}
