//! Splitting a URI into its components, with `iri-string` (RFC 3986).
//!
//! The crate does the parsing. A registered URI has passed the character checks already; a
//! requested one need not be valid, so two things let it still split where its delimiters are:
//!
//! * each byte of a character RFC 3986 allows nowhere (non-ASCII, whitespace, `\`, `"`, `<`,
//!   ...) and each `%` that does not start an escape is replaced by `~` for the parser, and the
//!   components are cut from the original string at the same offsets. Such characters stay, byte
//!   for byte, in the component they are in, and can never match a registration.
//! * a string without a valid scheme is a relative reference even when its first segment holds
//!   a `:` (parsed as `./` followed by the string, as RFC 3986 §4.2 writes such a path).
//!
//! `[` and `]` delimit an IP-literal host and are never replaced: a string with one anywhere
//! else does not parse, nor does one with a malformed IP literal, an `@` in the host or a port
//! that is not digits.

use std::borrow::Cow;

use iri_string::types::UriReferenceStr;
use iri_string::validate;

use super::syntax::is_uri_char;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Authority<'a> {
    /// Text before the `@`, if any.
    pub(super) userinfo: Option<&'a str>,
    /// Raw host; IP literals keep their brackets.
    pub(super) host: &'a str,
    /// Text after the port `:`, possibly empty; `None` without a `:`.
    pub(super) port: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ParsedUri<'a> {
    pub(super) scheme: Option<&'a str>,
    pub(super) authority: Option<Authority<'a>>,
    pub(super) path: &'a str,
    /// `Some("")` for a bare `?`.
    pub(super) query: Option<&'a str>,
    /// `Some("")` for a bare `#`.
    pub(super) fragment: Option<&'a str>,
}

/// The parser refused the string (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ParseError;

/// RFC 3986 `scheme`: a letter, then letters, digits, `+`, `-` or `.`.
pub(super) fn is_scheme(s: &str) -> bool {
    validate::scheme(s).is_ok()
}

/// Splits `uri` into its components; total on any input.
pub(super) fn split_uri(uri: &str) -> Result<ParsedUri<'_>, ParseError> {
    let text = stand_in(uri);
    if let Ok(parsed) = UriReferenceStr::new(&text) {
        return Ok(components(uri, &text, 0, parsed));
    }
    let has_scheme = uri.split_once(':').is_some_and(|(s, _)| is_scheme(s));
    if has_scheme || uri.starts_with('/') {
        return Err(ParseError);
    }
    let dotted = format!("./{text}");
    let parsed = UriReferenceStr::new(&dotted).map_err(|_| ParseError)?;
    Ok(components(uri, &dotted, 2, parsed))
}

/// `uri` with `~` for each byte of a character RFC 3986 allows nowhere and for each `%` that
/// does not start an escape: same length, same delimiters.
fn stand_in(uri: &str) -> Cow<'_, str> {
    let bytes = uri.as_bytes();
    let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    let opaque = |i: usize, c: char| !is_uri_char(c) || (c == '%' && !(hex(i + 1) && hex(i + 2)));
    if !uri.char_indices().any(|(i, c)| opaque(i, c)) {
        return Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len());
    for (i, c) in uri.char_indices() {
        if opaque(i, c) {
            for _ in 0..c.len_utf8() {
                out.push('~');
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The components of `parsed`, cut from `uri` at the same offsets. `base` is the text that was
/// parsed: `uri` after [`stand_in`], with `shift` more bytes in front.
fn components<'a>(
    uri: &'a str,
    base: &str,
    shift: usize,
    parsed: &UriReferenceStr,
) -> ParsedUri<'a> {
    let cut = |part: &str| -> &'a str {
        let start = (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
        let end = start + part.len();
        uri.get(start.saturating_sub(shift)..end.saturating_sub(shift))
            .unwrap_or("")
    };
    ParsedUri {
        scheme: parsed.scheme_str().map(cut),
        authority: parsed.authority_components().map(|a| Authority {
            userinfo: a.userinfo().map(cut),
            host: cut(a.host()),
            port: a.port().map(cut),
        }),
        path: cut(parsed.path_str()),
        query: parsed.query_str().map(cut),
        fragment: parsed.fragment_str().map(cut),
    }
}

impl Authority<'_> {
    /// The hostname as compared at request time: IP-literal brackets removed, ASCII lower-cased.
    pub(super) fn hostname(&self) -> String {
        let h = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host);
        h.to_ascii_lowercase()
    }

    /// The port as a number (`None` when absent or empty, as Python's `.port`);
    /// `Err` when not all digits or above 65535.
    pub(super) fn port_number(&self) -> Result<Option<u16>, ()> {
        match self.port {
            None | Some("") => Ok(None),
            Some(p) => {
                if !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                let digits = p.trim_start_matches('0');
                if digits.is_empty() {
                    return Ok(Some(0));
                }
                if digits.len() > 5 {
                    return Err(());
                }
                digits
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| u16::try_from(n).ok())
                    .map(Some)
                    .ok_or(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_full_uri() {
        let p = split_uri("https://u:p@Example.com:8443/a/b;x?q=1&r#frag").unwrap();
        assert_eq!(p.scheme, Some("https"));
        let a = p.authority.unwrap();
        assert_eq!(a.userinfo, Some("u:p"));
        assert_eq!(a.host, "Example.com");
        assert_eq!(a.port, Some("8443"));
        assert_eq!(a.hostname(), "example.com");
        assert_eq!(p.path, "/a/b;x");
        assert_eq!(p.query, Some("q=1&r"));
        assert_eq!(p.fragment, Some("frag"));
    }

    #[test]
    fn split_presence_flags() {
        let p = split_uri("http://h/cb?#").unwrap();
        assert_eq!(p.query, Some(""));
        assert_eq!(p.fragment, Some(""));
        let p = split_uri("http://h/cb").unwrap();
        assert_eq!(p.query, None);
        assert_eq!(p.fragment, None);
    }

    #[test]
    fn split_private_use_forms() {
        let p = split_uri("com.example.app:/cb").unwrap();
        assert_eq!(p.scheme, Some("com.example.app"));
        assert_eq!(p.authority, None);
        assert_eq!(p.path, "/cb");
        let p = split_uri("com.example.app:///cb").unwrap();
        assert_eq!(p.authority.unwrap().host, "");
        assert_eq!(p.path, "/cb");
        let p = split_uri("com.example.app://cb").unwrap();
        assert_eq!(p.authority.unwrap().host, "cb");
        assert_eq!(p.path, "");
    }

    #[test]
    fn split_ipv6_and_ports() {
        let a = split_uri("http://[::1]:8080/x").unwrap().authority.unwrap();
        assert_eq!(a.host, "[::1]");
        assert_eq!(a.hostname(), "::1");
        assert_eq!(a.port, Some("8080"));
        assert_eq!(a.port_number(), Ok(Some(8080)));
        let a = split_uri("http://h:/x").unwrap().authority.unwrap();
        assert_eq!(a.port, Some(""));
        assert_eq!(a.port_number(), Ok(None));
        assert!(split_uri("http://[::1/x").is_err());
        assert!(split_uri("http://[::1]x/").is_err());
        assert!(split_uri("http://a]b/").is_err());
        let a = split_uri("http://h:99999/").unwrap().authority.unwrap();
        assert_eq!(a.port_number(), Err(()));
        let a = split_uri("http://h:0080/").unwrap().authority.unwrap();
        assert_eq!(a.port_number(), Ok(Some(80)));
    }

    #[test]
    fn split_relative_reference_has_no_scheme() {
        let p = split_uri("/../").unwrap();
        assert_eq!(p.scheme, None);
        assert_eq!(p.path, "/../");
        let p = split_uri("1abc://x").unwrap();
        assert_eq!(p.scheme, None);
        let p = split_uri("a/b:c").unwrap();
        assert_eq!(p.scheme, None);
    }

    #[test]
    fn split_cuts_replaced_characters_from_the_original() {
        let p = split_uri("https://\u{212a}.example.com/caf\u{e9}?q=%zz").unwrap();
        assert_eq!(p.authority.unwrap().host, "\u{212a}.example.com");
        assert_eq!(p.path, "/caf\u{e9}");
        assert_eq!(p.query, Some("q=%zz"));
        let p = split_uri("https://evil.com\\.example.com/").unwrap();
        assert_eq!(p.authority.unwrap().host, "evil.com\\.example.com");
        let p = split_uri("\u{e9}:/x").unwrap();
        assert_eq!(p.scheme, None);
        assert_eq!(p.path, "\u{e9}:/x");
    }

    #[test]
    fn split_refuses_what_rfc_3986_refuses() {
        for uri in [
            "https://h/cb?a[]=1",
            "https://h/[x]",
            "com.example.app:/cb[1]",
            "http://a@b@c/",
            "http://h:8\u{e9}/",
            "//h:abc/",
        ] {
            assert_eq!(split_uri(uri), Err(ParseError), "{uri:?}");
        }
    }
}
