//! Registration-time validation of redirect URIs and CORS origins.

use iri_string::spec::UriSpec;
use iri_string::validate;

use super::error::{UriError, UriKind};
use super::parse::{is_scheme, split_uri};
use super::syntax::{
    check_dns_name, check_host, check_port, is_forbidden_scheme, is_uri_char, requires_authority,
    scheme_in,
};
use super::{UriRules, MAX_URI_LENGTH};

fn validate_uri(
    uri: &str,
    kind: UriKind,
    allowed_schemes: &[String],
    allow_wildcards: bool,
) -> Result<(), UriError> {
    let owned = || uri.to_owned();
    if uri.trim().is_empty() {
        return Err(UriError::Empty { kind, uri: owned() });
    }
    if uri.len() > MAX_URI_LENGTH {
        let len = uri.chars().count();
        if len > MAX_URI_LENGTH {
            return Err(UriError::TooLong {
                kind,
                uri: owned(),
                len,
                max: MAX_URI_LENGTH,
            });
        }
    }

    // Scheme first, as DOT does ("invalid_scheme" for "invalid", "*", "/../").
    let scheme = match uri.split_once(':') {
        Some((s, _)) if is_scheme(s) => s,
        _ => return Err(UriError::MissingScheme { kind, uri: owned() }),
    };
    if !scheme_in(scheme, allowed_schemes) {
        return Err(UriError::InvalidScheme {
            kind,
            uri: owned(),
            scheme: scheme.to_ascii_lowercase(),
            allowed: allowed_schemes.to_vec(),
        });
    }
    if is_forbidden_scheme(scheme) {
        return Err(UriError::ForbiddenScheme {
            kind,
            uri: owned(),
            scheme: scheme.to_ascii_lowercase(),
        });
    }

    // Character set (RFC 3986 §2).
    if let Some((offset, ch)) = uri.char_indices().find(|&(_, c)| !is_uri_char(c)) {
        return Err(UriError::InvalidCharacter {
            kind,
            uri: owned(),
            ch,
            offset,
        });
    }
    let bytes = uri.as_bytes();
    for (offset, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            let hex = |i: usize| bytes.get(i).is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(offset + 1) && hex(offset + 2)) {
                return Err(UriError::InvalidPercentEncoding {
                    kind,
                    uri: owned(),
                    offset,
                });
            }
        }
    }

    // Any '#', even a bare trailing one (RFC 6749 §3.1.2).
    if uri.contains('#') {
        return Err(UriError::FragmentNotAllowed { kind, uri: owned() });
    }

    let Ok(parsed) = split_uri(uri) else {
        return Err(structure_error(uri, scheme, kind));
    };

    if kind == UriKind::Origin {
        if parsed.query.is_some() {
            return Err(UriError::QueryNotAllowed { kind, uri: owned() });
        }
        if !parsed.path.is_empty() {
            return Err(UriError::PathNotAllowed { kind, uri: owned() });
        }
    }

    let Some(auth) = parsed.authority else {
        // No authority: only the RFC 8252 §7.1 private-use form "scheme:/path" is valid.
        if kind == UriKind::Origin || requires_authority(scheme) {
            return Err(UriError::MissingHost { kind, uri: owned() });
        }
        if !parsed.path.starts_with('/') {
            return Err(UriError::InvalidPrivateUseUri {
                kind,
                uri: owned(),
                reason: "the path must start with a single '/' (use \"scheme:/path\", not \"scheme:path\")",
            });
        }
        return Ok(());
    };

    if auth.userinfo.is_some() {
        return Err(UriError::UserinfoNotAllowed { kind, uri: owned() });
    }
    if auth.host.is_empty() {
        if kind == UriKind::Origin || requires_authority(scheme) {
            return Err(UriError::MissingHost { kind, uri: owned() });
        }
        return Err(UriError::InvalidPrivateUseUri {
            kind,
            uri: owned(),
            reason: "empty authority; use the single-slash form \"scheme:/path\", not \"scheme:///path\"",
        });
    }
    if let Some(port) = auth.port {
        if !check_port(port) {
            return Err(UriError::InvalidPort {
                kind,
                uri: owned(),
                port: port.to_owned(),
            });
        }
    }

    let host = auth.host;
    if host.contains('*') {
        if !allow_wildcards {
            return Err(UriError::WildcardNotAllowed { kind, uri: owned() });
        }
        if host.matches('*').count() > 1 {
            return Err(UriError::MultipleWildcards { kind, uri: owned() });
        }
        let Some(after_star) = host.strip_prefix('*') else {
            return Err(UriError::WildcardNotAtStart { kind, uri: owned() });
        };
        if host.split('.').count() < 3 {
            return Err(UriError::WildcardTooBroad { kind, uri: owned() });
        }
        // "*.example.com" -> "example.com"; "*-x.example.com" -> "x.example.com";
        // "*--site.netlify.app" -> "site.netlify.app" (up to two hyphens, as DOT).
        let rest = after_star.strip_prefix('.').unwrap_or(after_star);
        let rest = rest
            .strip_prefix("--")
            .or_else(|| rest.strip_prefix('-'))
            .unwrap_or(rest);
        return check_dns_name(rest).map_err(|reason| UriError::InvalidHost {
            kind,
            uri: owned(),
            host: host.to_owned(),
            reason,
        });
    }
    check_host(host).map_err(|reason| UriError::InvalidHost {
        kind,
        uri: owned(),
        host: host.to_owned(),
        reason,
    })
}

/// Why the parser refused `uri`, whose characters, escapes and scheme are already known to be
/// valid: an `@` or a malformed IP literal in the authority, a port that is not digits, or a
/// bracket outside the host.
fn structure_error(uri: &str, scheme: &str, kind: UriKind) -> UriError {
    let owned = || uri.to_owned();
    let after_scheme = scheme.len() + 1;
    let rest = uri.get(after_scheme..).unwrap_or("");
    let (authority, path_start) = match rest.strip_prefix("//") {
        Some(after) => {
            let len = after.find(['/', '?']).unwrap_or(after.len());
            (after.get(..len), after_scheme + 2 + len)
        }
        None => (None, after_scheme),
    };
    if let Some(auth) = authority.filter(|a| validate::authority::<UriSpec>(a).is_err()) {
        if auth.contains('@') {
            return UriError::UserinfoNotAllowed { kind, uri: owned() };
        }
        // The host is a bracketed IP literal, or runs to the first ':'.
        let host_len = if auth.starts_with('[') {
            auth.find(']').map_or(auth.len(), |i| i + 1)
        } else {
            auth.find(':').unwrap_or(auth.len())
        };
        let host = auth.get(..host_len).unwrap_or(auth);
        let tail = auth.get(host_len..).unwrap_or("");
        return match tail.strip_prefix(':') {
            Some(port) if validate::host::<UriSpec>(host).is_ok() => UriError::InvalidPort {
                kind,
                uri: owned(),
                port: port.to_owned(),
            },
            _ => UriError::InvalidHost {
                kind,
                uri: owned(),
                host: auth.to_owned(),
                reason: check_host(host)
                    .err()
                    .unwrap_or("unexpected text after the IP literal"),
            },
        };
    }
    let rest = uri.get(path_start..).unwrap_or("");
    match rest.char_indices().find(|&(_, c)| c == '[' || c == ']') {
        Some((i, ch)) => UriError::InvalidCharacter {
            kind,
            uri: owned(),
            ch,
            offset: path_start + i,
        },
        None => UriError::InvalidHost {
            kind,
            uri: owned(),
            host: authority.unwrap_or("").to_owned(),
            reason: "not a valid URI",
        },
    }
}

/// Registration-time validation of ONE redirect URI: allowed scheme, RFC 3986 characters (`[`
/// and `]` only around an IPv6 host), no `#` (not even a bare one), private-use `scheme:/path`
/// form for schemes other than http/https/ws/wss/ftp, no userinfo, valid host (DNS name,
/// dotless name, IPv4 or bracketed IPv6), port of 2–5 digits within 1..=65535, and the
/// wildcard rules when `rules.allow_wildcards` (exactly one `*`, starting the hostname, at
/// least three labels). Queries are allowed.
pub fn validate_redirect_uri(uri: &str, rules: &UriRules) -> Result<(), UriError> {
    validate_uri(
        uri,
        UriKind::RedirectUri,
        &rules.allowed_schemes,
        rules.allow_wildcards,
    )
}

/// Splits a whitespace-separated list and validates each entry with [`validate_redirect_uri`],
/// reporting every error (in list order). An empty list is valid here: whether redirect URIs
/// are required depends on the grant type and is the caller's decision.
pub fn validate_redirect_uris(list: &str, rules: &UriRules) -> Result<(), Vec<UriError>> {
    collect_errors(list, |uri| validate_redirect_uri(uri, rules))
}

/// Registration-time validation of one CORS origin: scheme in `allowed_origin_schemes`
/// (`ALLOWED_SCHEMES`, default `["https"]`, compared case-insensitively), host required, port
/// and host rules as for redirect URIs, wildcard per `allow_wildcards`, and no path, no query,
/// no fragment, no userinfo.
///
/// A lone trailing `/` (`https://example.org/`) is rejected, as in DOT (its validator refuses
/// any non-empty path): browsers never send a path in the `Origin` header, so such an entry
/// could only mislead.
pub fn validate_origin(
    origin: &str,
    allowed_origin_schemes: &[String],
    allow_wildcards: bool,
) -> Result<(), UriError> {
    validate_uri(
        origin,
        UriKind::Origin,
        allowed_origin_schemes,
        allow_wildcards,
    )
}

/// Splits a whitespace-separated list of origins and validates each with [`validate_origin`],
/// reporting every error. An empty list is valid.
pub fn validate_origins(
    list: &str,
    allowed_origin_schemes: &[String],
    allow_wildcards: bool,
) -> Result<(), Vec<UriError>> {
    collect_errors(list, |o| {
        validate_origin(o, allowed_origin_schemes, allow_wildcards)
    })
}

fn collect_errors(
    list: &str,
    mut check: impl FnMut(&str) -> Result<(), UriError>,
) -> Result<(), Vec<UriError>> {
    let errors: Vec<UriError> = list
        .split_whitespace()
        .filter_map(|uri| check(uri).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
