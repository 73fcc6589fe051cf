//! Where a request carries its access token (RFC 6750 §2).
//!
//! - `Authorization: Bearer <token>` — always accepted. The scheme is matched
//!   case-insensitively (DOT: `bearer` works, `BearerX` is another scheme). The token must be
//!   RFC 6750's `b64token` and the only thing after the scheme; anything else (`Bearer`
//!   alone, `Bearer a b`, two Bearer headers) is a malformed request (400
//!   `invalid_request`). Another scheme (`Basic …`) is simply not a bearer token (401).
//! - `access_token` in the query — only when `oauth2_protected_resource_bearer_methods_supported`
//!   lists `query` and `compliant_bcp_rfc9700_access_token_transport` is off (RFC 9700 §4.3.2:
//!   URLs end up in logs and `Referer` headers). Otherwise a token there is refused with
//!   400 rather than ignored, so that the client learns why.
//! - `access_token` in an `application/x-www-form-urlencoded` body (not GET/HEAD) — only
//!   when `body` is listed, and only on routes behind one of the [layers](super::layer),
//!   which read the body before the handler does (an extractor cannot).
//!
//! More than one method in one request is malformed (RFC 6750 §3.1).

use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::ResourceConfig;

/// A token found in a form body by a layer, for the extractors behind it.
#[derive(Clone)]
pub(crate) struct BodyToken(pub String);

/// What the request carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No bearer token at all.
    None,
    Token(String),
    /// A malformed attempt; the text is the public `error_description`.
    Malformed(&'static str),
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The bearer credential of the `Authorization` header(s).
fn from_headers(headers: &HeaderMap) -> Presented {
    let mut found = Presented::None;
    for value in headers.get_all(header::AUTHORIZATION) {
        let bytes = value.as_bytes();
        let is_bearer = bytes.len() >= 6
            && bytes[..6].eq_ignore_ascii_case(b"bearer")
            && (bytes.len() == 6 || bytes[6] == b' ' || bytes[6] == b'\t');
        if !is_bearer {
            continue;
        }
        if found != Presented::None {
            return Presented::Malformed("The request carries more than one access token.");
        }
        let rest = value.to_str().ok().map(|v| v[6..].trim());
        found = match rest {
            Some(t) if is_b64token(t) => Presented::Token(t.to_string()),
            Some("") => Presented::Malformed("The Authorization header has no access token."),
            _ => Presented::Malformed("The Authorization header is malformed."),
        };
    }
    found
}

fn from_query(query: Option<&str>) -> Vec<String> {
    let Some(q) = query else {
        return Vec::new();
    };
    form_urlencoded::parse(q.as_bytes())
        .filter(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// Find the request's token according to `config`.
pub(crate) fn find_token(parts: &Parts, config: &ResourceConfig) -> Presented {
    let body = parts
        .extensions
        .get::<BodyToken>()
        .map(|BodyToken(t)| t.as_str());
    find_token_in(&parts.headers, parts.uri.query(), body, config)
}

/// [`find_token`] for a handler that read the body itself (userinfo): `body` is the one
/// `access_token` of a form body, looked for only when `config.accept_body`.
pub(crate) fn find_token_in(
    headers: &HeaderMap,
    query: Option<&str>,
    body: Option<&str>,
    config: &ResourceConfig,
) -> Presented {
    let mut presented = from_headers(headers);
    if let Presented::Malformed(_) = presented {
        return presented;
    }
    let query = from_query(query);
    if !query.is_empty() {
        if !config.accept_query {
            return Presented::Malformed(
                "Access tokens are not accepted in the query string: send an \
                 Authorization: Bearer header.",
            );
        }
        if presented != Presented::None || query.len() > 1 {
            return Presented::Malformed("The request carries more than one access token.");
        }
        let [t] = query.as_slice() else {
            return Presented::Malformed("The request carries more than one access token.");
        };
        if !is_b64token(t) {
            return Presented::Malformed("The access_token parameter is malformed.");
        }
        tracing::debug!("access token taken from the query string");
        presented = Presented::Token(t.clone());
    }
    if let Some(t) = body {
        if presented != Presented::None {
            return Presented::Malformed("The request carries more than one access token.");
        }
        if !is_b64token(t) {
            return Presented::Malformed("The access_token parameter is malformed.");
        }
        presented = Presented::Token(t.to_string());
    }
    presented
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[&str], uri: &str, config: &ResourceConfig) -> Presented {
        let mut b = Request::builder().uri(uri);
        for h in headers {
            b = b.header(header::AUTHORIZATION, *h);
        }
        let (p, _) = b.body(()).unwrap().into_parts();
        find_token(&p, config)
    }

    #[test]
    fn headers() {
        let c = ResourceConfig::default();
        assert_eq!(parts(&[], "/", &c), Presented::None);
        assert_eq!(
            parts(&["Bearer abc"], "/", &c),
            Presented::Token("abc".into())
        );
        assert_eq!(
            parts(&["bearer abc=="], "/", &c),
            Presented::Token("abc==".into())
        );
        assert_eq!(
            parts(&["BEARER  a.b-c_d~e+f/g "], "/", &c),
            Presented::Token("a.b-c_d~e+f/g".into())
        );
        assert_eq!(parts(&["Basic abc"], "/", &c), Presented::None);
        assert_eq!(parts(&["BearerX abc"], "/", &c), Presented::None);
        assert!(matches!(
            parts(&["Bearer"], "/", &c),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&["Bearer "], "/", &c),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&["Bearer a b"], "/", &c),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&["Bearer a\"b"], "/", &c),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&["Bearer =="], "/", &c),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&["Bearer a", "Bearer b"], "/", &c),
            Presented::Malformed(_)
        ));
        assert_eq!(
            parts(&["Basic x", "Bearer b"], "/", &c),
            Presented::Token("b".into())
        );
    }

    #[test]
    fn query() {
        let strict = ResourceConfig::default();
        assert!(matches!(
            parts(&[], "/?access_token=abc", &strict),
            Presented::Malformed(_)
        ));
        let lax = ResourceConfig {
            accept_query: true,
            ..ResourceConfig::default()
        };
        assert_eq!(
            parts(&[], "/?access_token=abc", &lax),
            Presented::Token("abc".into())
        );
        assert!(matches!(
            parts(&["Bearer x"], "/?access_token=abc", &lax),
            Presented::Malformed(_)
        ));
        assert!(matches!(
            parts(&[], "/?access_token=a&access_token=b", &lax),
            Presented::Malformed(_)
        ));
        assert_eq!(parts(&[], "/?other=1", &strict), Presented::None);
    }
}
