//! Resource indicators (RFC 8707): a client names the APIs (`resource`, repeatable) a code or
//! a token is for, and the token is then accepted only there.
//!
//! - At the authorization endpoint and the token endpoint every `resource` must be an absolute
//!   URI with a host, without userinfo or fragment (§2), else `invalid_target`.
//! - A code or a refresh token bound to resources yields tokens for those, or for fewer when
//!   the request names some of them; naming one it was not granted is `invalid_target` (no
//!   escalation). One bound to none yields tokens for what the request names.
//! - A resource server accepts a bound token only for a request URL an audience covers: same
//!   scheme, host and port (default ports normalised), and a path under the audience's path on
//!   a segment boundary (DOT's prefix rule).
//!
//! Stored space-separated (an absolute URI holds no space), like scopes.

use iri_string::types::UriStr;

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

/// The parameter's name.
pub const PARAM: &str = "resource";

fn invalid(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget).with_description(description)
}

/// Whether `value` is a resource indicator RFC 8707 §2 allows.
pub fn is_valid_resource(value: &str) -> bool {
    let Ok(uri) = UriStr::new(value) else {
        return false;
    };
    let Some(authority) = uri.authority_components() else {
        return false;
    };
    !authority.host().is_empty() && authority.userinfo().is_none() && uri.fragment().is_none()
}

/// The `resource` values of a request, checked, without repeats, in their order.
pub fn requested(params: &Params) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for value in params.all(PARAM) {
        if !is_valid_resource(value) {
            return Err(invalid(
                "The resource must be an absolute URI with a host and without a fragment.",
            ));
        }
        if !out.iter().any(|v| v == value) {
            out.push(value.to_string());
        }
    }
    Ok(out)
}

/// The stored list.
pub fn parse(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_string).collect()
}

/// The stored form of a list.
pub fn join(resources: &[String]) -> String {
    resources.join(" ")
}

/// The resources of a token made from a code or refresh token bound to `granted` (stored
/// form), for a request naming `requested`: all of `granted` when the request names none,
/// else the requested ones, each of which must be granted when `granted` is not empty.
pub fn narrow(requested: &[String], granted: &str) -> Result<String, OAuthError> {
    if requested.is_empty() {
        return Ok(granted.to_string());
    }
    let granted = parse(granted);
    if !granted.is_empty() && requested.iter().any(|r| !granted.contains(r)) {
        return Err(invalid(
            "The requested resource cannot escalate resource permissions beyond the original authorization grant.",
        ));
    }
    Ok(join(requested))
}

/// `(scheme, host, port, path)` of an absolute URL, the port made explicit and everything but
/// the path lower-cased; `None` when it is not one.
fn parts(url: &str) -> Option<(String, String, u16, String)> {
    let uri = UriStr::new(url).ok()?;
    let scheme = uri.scheme_str().to_ascii_lowercase();
    let authority = uri.authority_components()?;
    let port = match authority.port() {
        Some(p) if !p.is_empty() => p.parse().ok()?,
        _ => match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        },
    };
    let path = normalise_path(uri.path_str());
    Some((scheme, authority.host().to_ascii_lowercase(), port, path))
}

/// The path with `.` and `..` segments resolved (RFC 3986 §5.2.4), `/` when empty.
fn normalise_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// Whether a token for `audience` may be used at `url` (the request's absolute URL, without
/// its query): same origin, and the path at or under the audience's path.
pub fn covers(audience: &str, url: &str) -> bool {
    let (Some(a), Some(u)) = (parts(audience), parts(url)) else {
        return false;
    };
    if (&a.0, &a.1, a.2) != (&u.0, &u.1, u.2) {
        return false;
    }
    let base = a.3.trim_end_matches('/');
    base.is_empty() || u.3 == base || u.3.starts_with(&format!("{base}/"))
}

/// Whether a token bound to `stored` may be used at `url` (unbound tokens may be used anywhere).
pub fn allows(stored: &str, url: &str) -> bool {
    let audiences = parse(stored);
    audiences.is_empty() || audiences.iter().any(|a| covers(a, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_resource_may_be() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/v1?x=1",
            "http://127.0.0.1:8000/api/",
            "https://h/",
        ] {
            assert!(is_valid_resource(ok), "{ok}");
        }
        for bad in [
            "",
            "api.example.com",
            "/relative",
            "https://api.example.com/#frag",
            "https://user@api.example.com/",
            "urn:example:resource",
            "https:///nohost",
            "https://exa mple.com/",
        ] {
            assert!(!is_valid_resource(bad), "{bad:?}");
        }
    }

    #[test]
    fn requested_values_are_checked_and_deduplicated() {
        let p = crate::params::Params::new(vec![
            ("resource".into(), "https://a.example/".into()),
            ("resource".into(), "https://b.example/".into()),
            ("resource".into(), "https://a.example/".into()),
        ]);
        assert_eq!(
            requested(&p).unwrap(),
            vec!["https://a.example/", "https://b.example/"]
        );
        let bad = crate::params::Params::new(vec![("resource".into(), "nope".into())]);
        assert_eq!(requested(&bad).unwrap_err().code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn no_escalation_beyond_the_grant() {
        let granted = "https://a.example/ https://b.example/";
        assert_eq!(narrow(&[], granted).unwrap(), granted);
        assert_eq!(
            narrow(&["https://b.example/".into()], granted).unwrap(),
            "https://b.example/"
        );
        assert_eq!(
            narrow(&["https://c.example/".into()], granted)
                .unwrap_err()
                .code,
            ErrorCode::InvalidTarget
        );
        // An unbound grant may be narrowed to any resource.
        assert_eq!(
            narrow(&["https://c.example/".into()], "").unwrap(),
            "https://c.example/"
        );
        assert_eq!(narrow(&[], "").unwrap(), "");
    }

    #[test]
    fn the_prefix_rule() {
        let a = "https://api.example.com/v1";
        assert!(covers(a, "https://api.example.com/v1"));
        assert!(covers(a, "https://api.example.com/v1/photos"));
        assert!(covers(a, "https://API.example.com:443/v1/x"));
        assert!(!covers(a, "https://api.example.com/v10"));
        assert!(!covers(a, "https://api.example.com/v2/x"));
        assert!(
            !covers(a, "https://api.example.com/v1/../v2/x"),
            "dot segments resolved"
        );
        assert!(!covers(a, "http://api.example.com/v1"));
        assert!(!covers(a, "https://api.example.com:8443/v1"));
        assert!(!covers(a, "https://evil.example.com/v1"));
        assert!(covers(
            "https://api.example.com",
            "https://api.example.com/anything"
        ));
        assert!(covers(
            "https://api.example.com/",
            "https://api.example.com/anything"
        ));
        assert!(covers(
            "http://127.0.0.1:8000/api/",
            "http://127.0.0.1:8000/api/scoped"
        ));
        assert!(allows("", "https://anything.example/"));
        assert!(allows(
            "https://x.example/ https://api.example.com/v1",
            "https://api.example.com/v1/a"
        ));
        assert!(!allows(
            "https://x.example/",
            "https://api.example.com/v1/a"
        ));
    }
}
