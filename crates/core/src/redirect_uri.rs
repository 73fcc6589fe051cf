//! Redirect URI and CORS origin rules.
//!
//! This module implements, without a URL library, the URI rules of django-oauth-toolkit (DOT)
//! 3.4.x (`dot-features.md` §3.6 and §4):
//!
//! * registration-time validation of redirect URIs ([`validate_redirect_uri`],
//!   [`validate_redirect_uris`]; RFC 6749 §3.1.2: absolute URI, no fragment; RFC 8252 §7.1:
//!   private-use `com.example.app:/path` form) and of CORS allowed origins
//!   ([`validate_origin`], [`validate_origins`]);
//! * request-time matching of a requested redirect URI against the registered ones
//!   ([`redirect_uri_matches`], [`redirect_uri_allowed`], [`check_redirect_uri_allowed`]):
//!   exact comparison as required by RFC 9700 §2.1, with the RFC 8252 §7.3 loopback rule
//!   (any port for `http://127.0.0.1` and `http://[::1]`, and `http://localhost` when
//!   `ALLOW_LOCALHOST_LOOPBACK` is on) and opt-in leading-`*` hostname wildcards;
//! * the default redirect URI ([`default_redirect_uri`]) and post-logout redirect URI checks
//!   ([`validate_post_logout_redirect_uri`]);
//! * CORS origin matching ([`origin_allowed`]).
//!
//! URIs are split by hand following RFC 3986's generic syntax
//! (`scheme ":" ["//" authority] path ["?" query] ["#" fragment]`) and compared as raw
//! strings: only the scheme and the hostname are lower-cased, nothing is percent-decoded and
//! query strings are compared byte for byte. Every function is total: hostile input (empty,
//! NUL bytes, non-ASCII, very long strings) yields an error or `false`, never a panic.
//!
//! # Where this differs from DOT
//!
//! DOT's registration validator is a regular expression that is not anchored at the end, so it
//! accepts any URI whose *prefix* looks valid (`https://exa_mple.com`, `https://example.com:1`,
//! `https://user@example.com`, ...). This port validates the whole URI instead, and is
//! therefore stricter at registration time:
//!
//! * every character must be one RFC 3986 allows (ASCII letters, digits, `-._~:/?#[]@!$&'()*+,;=`
//!   and `%` followed by two hex digits): whitespace, control characters, `\`, `"<>^{|}` and
//!   non-ASCII characters are rejected (register IDNs in their `xn--` form);
//! * userinfo (`user@host`) is rejected (DOT stores it, but such an entry can never match);
//! * the whole host must be a DNS name, an IPv4 address or a bracketed IPv6 address; a dotted
//!   name whose last label is numeric (`1.2.3`, `example.123`) is rejected because WHATWG
//!   browsers would parse it as an IPv4 address;
//! * a port must be 2 to 5 digits (as in DOT) *and* within 1..=65535; an empty port
//!   (`https://example.com:/cb`) is rejected;
//! * URIs longer than [`MAX_URI_LENGTH`] characters are rejected (Django's `URLValidator`
//!   has the same 2048 limit);
//! * the script-capable schemes `javascript`, `data` and `vbscript` are never accepted, even
//!   when listed in the allowed schemes.
//!
//! At request time this port is also slightly stricter than DOT:
//!
//! * a requested URI containing whitespace or control characters never matches (Python's
//!   `urlsplit` silently deletes tabs and newlines before comparing);
//! * `scheme:///path` (empty authority) and `scheme:/path` (no authority) are different URIs
//!   (DOT compares `hostname`, which is `None` for both);
//! * hostnames are lower-cased with ASCII rules only (Python's `str.lower` maps e.g. the
//!   Kelvin sign to `k`);
//! * a wildcard registration only matches a requested hostname that is itself a valid DNS
//!   name, so `https://evil.com\.example.com/` cannot match `https://*.example.com/` (browsers
//!   treat `\` as `/` and would go to `evil.com`);
//! * a registered hostname containing `*` never matches while wildcards are disabled (DOT
//!   compares it literally);
//! * [`origin_allowed`] compares the scheme case-insensitively and the host lower-cased, requires
//!   the request `Origin` to be a bare origin (no path, query, fragment or userinfo), and — with
//!   `allow_wildcards` — lets a registered `https://*.example.com` suffix-match. This fixes DOT's
//!   gap (§13 item 8) where wildcard origins could be stored but never matched.
//!
//! The token endpoint's check of `redirect_uri` against the URI stored on the grant is plain
//! string equality and does not belong here.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest URI accepted at registration time, in characters (Django's `URLValidator` limit).
pub const MAX_URI_LENGTH: usize = 2048;

/// Longest rendering of a URI in log lines and error messages, in characters (DOT's value).
pub const MAX_LOGGED_URI_LENGTH: usize = 256;

/// Most candidates listed in one mismatch log line (DOT's value).
pub const MAX_LOGGED_CANDIDATES: usize = 10;

/// Schemes that must have an authority (host) component; a single-slash URI in one of these is
/// not a private-use scheme redirect (browsers normalise `https:/x` to `https://x/`).
const SCHEMES_REQUIRING_AUTHORITY: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// Schemes that can run script in the user agent; never accepted for a redirect or an origin.
const FORBIDDEN_SCHEMES: [&str; 3] = ["javascript", "data", "vbscript"];

/// Options that come from settings.
#[derive(Debug, Clone)]
pub struct UriRules {
    /// `ALLOWED_REDIRECT_URI_SCHEMES` (default `["http", "https"]`); compared case-insensitively.
    pub allowed_schemes: Vec<String>,
    /// `ALLOW_URI_WILDCARDS` (default `false`): leading-`*` hostnames.
    pub allow_wildcards: bool,
    /// `ALLOW_LOCALHOST_LOOPBACK` (default `false`): treat `http://localhost` like the
    /// loopback IP literals (any port accepted at request time).
    pub allow_localhost_loopback: bool,
}

impl Default for UriRules {
    fn default() -> Self {
        Self {
            allowed_schemes: vec!["http".to_owned(), "https".to_owned()],
            allow_wildcards: false,
            allow_localhost_loopback: false,
        }
    }
}

/// Which kind of URI an error is about; used in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriKind {
    /// An entry of `redirect_uris` (or `post_logout_redirect_uris`).
    RedirectUri,
    /// An entry of `allowed_origins`.
    Origin,
}

impl UriKind {
    /// The name DOT uses in its validation messages (`"redirect uri"`, `"allowed origin"`).
    pub fn dot_name(self) -> &'static str {
        match self {
            UriKind::RedirectUri => "redirect uri",
            UriKind::Origin => "allowed origin",
        }
    }
}

impl fmt::Display for UriKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UriKind::RedirectUri => "redirect URI",
            UriKind::Origin => "allowed origin",
        })
    }
}

/// Why a redirect URI or an origin was rejected at registration time.
///
/// `Display` is a human message naming the URI (escaped and truncated to
/// [`MAX_LOGGED_URI_LENGTH`] characters); [`UriError::code`] is DOT's short cause and
/// [`UriError::dot_message`] DOT's full message format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The value is empty or only whitespace.
    #[error("{kind} is empty")]
    Empty { kind: UriKind, uri: String },
    /// Longer than [`MAX_URI_LENGTH`] characters.
    #[error("{kind} {} is too long ({len} characters, at most {max})", shown(.uri))]
    TooLong {
        kind: UriKind,
        uri: String,
        len: usize,
        max: usize,
    },
    /// No (syntactically valid) scheme.
    #[error("{kind} {} has no scheme (expected an absolute URI such as \"https://example.com/cb\")", shown(.uri))]
    MissingScheme { kind: UriKind, uri: String },
    /// The scheme is not in the allowed list.
    #[error("invalid scheme {} in {kind} {} (allowed: {})", shown(.scheme), shown(.uri), .allowed.join(", "))]
    InvalidScheme {
        kind: UriKind,
        uri: String,
        scheme: String,
        allowed: Vec<String>,
    },
    /// `javascript:`, `data:` or `vbscript:`, refused even when configured as allowed.
    #[error("scheme {scheme:?} in {kind} {} is never allowed (it can run script)", shown(.uri))]
    ForbiddenScheme {
        kind: UriKind,
        uri: String,
        scheme: String,
    },
    /// A character that RFC 3986 does not allow anywhere in a URI.
    #[error("{kind} {} contains the character {ch:?} at byte offset {offset}, which is not allowed in a URI", shown(.uri))]
    InvalidCharacter {
        kind: UriKind,
        uri: String,
        ch: char,
        offset: usize,
    },
    /// A `%` not followed by two hexadecimal digits.
    #[error("{kind} {} has an invalid percent-encoding at byte offset {offset}", shown(.uri))]
    InvalidPercentEncoding {
        kind: UriKind,
        uri: String,
        offset: usize,
    },
    /// A `#` (even a bare trailing one); RFC 6749 §3.1.2 forbids fragments.
    #[error("{kind} {} must not contain a fragment ('#')", shown(.uri))]
    FragmentNotAllowed { kind: UriKind, uri: String },
    /// A `?` in an origin.
    #[error("{kind} {} must not contain a query string ('?')", shown(.uri))]
    QueryNotAllowed { kind: UriKind, uri: String },
    /// A path (even `/`) in an origin.
    #[error("{kind} {} must not contain a path (not even \"/\")", shown(.uri))]
    PathNotAllowed { kind: UriKind, uri: String },
    /// `user[:password]@` in the authority.
    #[error("{kind} {} must not contain userinfo credentials ('user@')", shown(.uri))]
    UserinfoNotAllowed { kind: UriKind, uri: String },
    /// No host where one is required (`https:/x`, `https:///x`, `https://`).
    #[error("{kind} {} has no host", shown(.uri))]
    MissingHost { kind: UriKind, uri: String },
    /// A private-use scheme URI not of the form `scheme:/path` (RFC 8252 §7.1).
    #[error("{kind} {} is not a valid private-use scheme URI: {reason}", shown(.uri))]
    InvalidPrivateUseUri {
        kind: UriKind,
        uri: String,
        reason: &'static str,
    },
    /// The host is not a DNS name, an IPv4 address or a bracketed IPv6 address.
    #[error("invalid host {} in {kind} {}: {reason}", shown(.host), shown(.uri))]
    InvalidHost {
        kind: UriKind,
        uri: String,
        host: String,
        reason: &'static str,
    },
    /// The port is not 2 to 5 digits, or is outside 1..=65535.
    #[error("invalid port {} in {kind} {} (expected 2 to 5 digits, 1-65535)", shown(.port), shown(.uri))]
    InvalidPort {
        kind: UriKind,
        uri: String,
        port: String,
    },
    /// A `*` in the host while `ALLOW_URI_WILDCARDS` is off.
    #[error("{kind} {} contains a wildcard but ALLOW_URI_WILDCARDS is disabled", shown(.uri))]
    WildcardNotAllowed { kind: UriKind, uri: String },
    /// More than one `*` in the host.
    #[error("only one wildcard is allowed in the hostname of {kind} {}", shown(.uri))]
    MultipleWildcards { kind: UriKind, uri: String },
    /// A `*` elsewhere than at the start of the host.
    #[error("the wildcard must be at the beginning of the hostname of {kind} {}", shown(.uri))]
    WildcardNotAtStart { kind: UriKind, uri: String },
    /// A wildcard host with fewer than three labels (`*.com`, `*`).
    #[error("wildcards cannot be in the top level or second level domain of {kind} {}", shown(.uri))]
    WildcardTooBroad { kind: UriKind, uri: String },
}

impl UriError {
    /// The URI (list entry) the error is about, unabridged.
    pub fn uri(&self) -> &str {
        match self {
            UriError::Empty { uri, .. }
            | UriError::TooLong { uri, .. }
            | UriError::MissingScheme { uri, .. }
            | UriError::InvalidScheme { uri, .. }
            | UriError::ForbiddenScheme { uri, .. }
            | UriError::InvalidCharacter { uri, .. }
            | UriError::InvalidPercentEncoding { uri, .. }
            | UriError::FragmentNotAllowed { uri, .. }
            | UriError::QueryNotAllowed { uri, .. }
            | UriError::PathNotAllowed { uri, .. }
            | UriError::UserinfoNotAllowed { uri, .. }
            | UriError::MissingHost { uri, .. }
            | UriError::InvalidPrivateUseUri { uri, .. }
            | UriError::InvalidHost { uri, .. }
            | UriError::InvalidPort { uri, .. }
            | UriError::WildcardNotAllowed { uri, .. }
            | UriError::MultipleWildcards { uri, .. }
            | UriError::WildcardNotAtStart { uri, .. }
            | UriError::WildcardTooBroad { uri, .. } => uri,
        }
    }

    /// Whether the error is about a redirect URI or an origin.
    pub fn kind(&self) -> UriKind {
        match self {
            UriError::Empty { kind, .. }
            | UriError::TooLong { kind, .. }
            | UriError::MissingScheme { kind, .. }
            | UriError::InvalidScheme { kind, .. }
            | UriError::ForbiddenScheme { kind, .. }
            | UriError::InvalidCharacter { kind, .. }
            | UriError::InvalidPercentEncoding { kind, .. }
            | UriError::FragmentNotAllowed { kind, .. }
            | UriError::QueryNotAllowed { kind, .. }
            | UriError::PathNotAllowed { kind, .. }
            | UriError::UserinfoNotAllowed { kind, .. }
            | UriError::MissingHost { kind, .. }
            | UriError::InvalidPrivateUseUri { kind, .. }
            | UriError::InvalidHost { kind, .. }
            | UriError::InvalidPort { kind, .. }
            | UriError::WildcardNotAllowed { kind, .. }
            | UriError::MultipleWildcards { kind, .. }
            | UriError::WildcardNotAtStart { kind, .. }
            | UriError::WildcardTooBroad { kind, .. } => *kind,
        }
    }

    /// DOT's short cause for this error (`"invalid_scheme"`, `"fragment not allowed"`, ...).
    /// Causes DOT does not have get a short phrase in the same style.
    pub fn code(&self) -> &'static str {
        match self {
            UriError::Empty { .. }
            | UriError::MissingScheme { .. }
            | UriError::InvalidScheme { .. }
            | UriError::ForbiddenScheme { .. } => "invalid_scheme",
            UriError::TooLong { .. } => "URI too long",
            UriError::InvalidCharacter { .. } | UriError::InvalidPercentEncoding { .. } => {
                "invalid character"
            }
            UriError::FragmentNotAllowed { .. } => "fragment not allowed",
            UriError::QueryNotAllowed { .. } => "query string not allowed",
            UriError::PathNotAllowed { .. } => "path not allowed",
            UriError::UserinfoNotAllowed { .. } => "userinfo not allowed",
            UriError::MissingHost { .. } => "missing host",
            UriError::InvalidPrivateUseUri { .. } => "invalid URI",
            UriError::InvalidHost { .. } => "invalid host",
            UriError::InvalidPort { .. } => "invalid port",
            UriError::WildcardNotAllowed { .. } => "wildcards are not allowed",
            UriError::MultipleWildcards { .. } => "only one wildcard is allowed in the hostname",
            UriError::WildcardNotAtStart { .. } => {
                "wildcards must be at the beginning of the hostname"
            }
            UriError::WildcardTooBroad { .. } => {
                "wildcards cannot be in the top level or second level domain"
            }
        }
    }

    /// The message in DOT's format, e.g.
    /// `"redirect uri URI Validation error. invalid_scheme: invalid"` (what DOT's forms show).
    /// The URI is included verbatim: escape it when rendering HTML.
    pub fn dot_message(&self) -> String {
        let validation = if self.code() == "invalid_scheme" {
            "Validation"
        } else {
            "validation"
        };
        format!(
            "{} URI {} error. {}: {}",
            self.kind().dot_name(),
            validation,
            self.code(),
            self.uri()
        )
    }
}

/// Why a requested redirect URI does not match a registered one (request time, §4.2).
///
/// These reasons are for DEBUG logging only; the client only ever sees
/// "Mismatching redirect URI.". `Display` gives DOT's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MismatchReason {
    /// The requested URI contains a `#`.
    #[error("the requested URI has a fragment, which RFC 6749 section 3.1.2 forbids")]
    RequestedHasFragment,
    /// The requested URI has `user@` in its authority.
    #[error("the requested URI carries userinfo credentials in its authority")]
    RequestedHasUserinfo,
    /// The requested URI contains whitespace or control characters.
    #[error("the requested URI contains whitespace or control characters")]
    RequestedHasInvalidCharacters,
    /// The requested URI has an unbalanced IPv6 bracket or a non-numeric/out-of-range port.
    #[error("the requested URI cannot be parsed (bad IPv6 literal or port)")]
    RequestedMalformed,
    /// The requested URI's scheme is not one of the allowed redirect schemes.
    #[error("the requested URI's scheme is not an allowed redirect URI scheme")]
    RequestedSchemeNotAllowed,
    /// The registered URI contains a `#`.
    #[error("the registered URI has a fragment and can never match")]
    RegisteredHasFragment,
    /// The registered URI has `user@` in its authority.
    #[error("the registered URI carries userinfo credentials and can never match")]
    RegisteredHasUserinfo,
    /// The registered URI cannot be parsed.
    #[error("the registered URI cannot be parsed and can never match")]
    RegisteredMalformed,
    /// Schemes differ (compared lower-cased).
    #[error("scheme differs")]
    SchemeDiffers,
    /// Hostnames differ (compared lower-cased), or one URI has an authority and the other not.
    #[error("hostname differs")]
    HostnameDiffers,
    /// The registered hostname is a wildcard that the requested hostname does not match.
    #[error("hostname does not match the registered wildcard")]
    WildcardMismatch,
    /// Ports differ (and the registered URI is not a loopback URI).
    #[error("port differs")]
    PortDiffers,
    /// Paths differ (compared byte for byte, `;params` included).
    #[error("path differs")]
    PathDiffers,
    /// One URI has a `?` and the other not (`/cb?` is not `/cb`).
    #[error("one URI has a query component and the other does not")]
    QueryPresenceDiffers,
    /// Query strings differ (compared byte for byte; order matters).
    #[error("query string differs")]
    QueryDiffers,
}

impl MismatchReason {
    /// True for reasons about the requested URI itself (the same for every candidate).
    pub fn is_about_requested_uri(self) -> bool {
        matches!(
            self,
            MismatchReason::RequestedHasFragment
                | MismatchReason::RequestedHasUserinfo
                | MismatchReason::RequestedHasInvalidCharacters
                | MismatchReason::RequestedMalformed
                | MismatchReason::RequestedSchemeNotAllowed
        )
    }
}

/// One entry of the mismatch report of [`check_redirect_uri_allowed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The registered URI that failed to match, or `None` when the requested URI itself was
    /// rejected before any comparison.
    pub candidate: Option<String>,
    /// Why.
    pub reason: MismatchReason,
}

/// Errors of [`validate_post_logout_redirect_uri`] (§4.4). `Display` is DOT's exact
/// `error_description`; all are `400 invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostLogoutUriError {
    /// No scheme (`example.org`).
    #[error("A Scheme is required for the redirect URI.")]
    MissingScheme,
    /// `OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS` and `http` for a public client.
    #[error("http is only allowed with confidential clients.")]
    HttpRequiresConfidentialClient,
    /// Scheme not in the allowed redirect schemes.
    #[error("Redirect to scheme \"{0}\" is not permitted.")]
    SchemeNotPermitted(String),
    /// No registered post-logout redirect URI matches.
    #[error("This client does not have this redirect uri registered.")]
    NotRegistered,
}

// ---------------------------------------------------------------------------------------------
// URI splitting (RFC 3986 §3 generic syntax, Appendix B)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Authority<'a> {
    /// Text before the last `@`, if any.
    userinfo: Option<&'a str>,
    /// Raw host; IP literals keep their brackets.
    host: &'a str,
    /// Text after the port `:`, possibly empty; `None` without a `:`.
    port: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ParsedUri<'a> {
    scheme: Option<&'a str>,
    authority: Option<Authority<'a>>,
    path: &'a str,
    /// `Some("")` for a bare `?`.
    query: Option<&'a str>,
    /// `Some("")` for a bare `#`.
    fragment: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseError {
    /// `[` without `]`, a bracket inside a reg-name, or text between `]` and `:`.
    BadIpLiteral,
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Splits `uri` into its components. Only fails on malformed IP-literal brackets; every other
/// string splits (a string without a valid scheme is a relative reference: `scheme` is `None`).
fn split_uri(uri: &str) -> Result<ParsedUri<'_>, ParseError> {
    // scheme: the text before the first ':' if it comes before any '/', '?' or '#'.
    let (scheme, rest) = match uri.find([':', '/', '?', '#']) {
        Some(i) => {
            let (head, tail) = uri.split_at(i);
            match tail.strip_prefix(':') {
                Some(after) if is_scheme(head) => (Some(head), after),
                _ => (None, uri),
            }
        }
        None => (None, uri),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((before, frag)) => (before, Some(frag)),
        None => (rest, None),
    };
    let (hier, query) = match rest.split_once('?') {
        Some((before, q)) => (before, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match hier.strip_prefix("//") {
        Some(after) => {
            let (auth, path) = match after.find('/') {
                Some(i) => after.split_at(i),
                None => (after, ""),
            };
            (Some(split_authority(auth)?), path)
        }
        None => (None, hier),
    };
    Ok(ParsedUri {
        scheme,
        authority,
        path,
        query,
        fragment,
    })
}

fn split_authority(auth: &str) -> Result<Authority<'_>, ParseError> {
    let (userinfo, hostport) = match auth.rsplit_once('@') {
        Some((u, hp)) => (Some(u), hp),
        None => (None, auth),
    };
    if hostport.starts_with('[') {
        let Some(close) = hostport.find(']') else {
            return Err(ParseError::BadIpLiteral);
        };
        let (host_open, after) = hostport.split_at(close);
        let after = after.strip_prefix(']').unwrap_or(after);
        // `host_open` is "[...", the host keeps both brackets.
        let host_len = host_open.len() + 1;
        let host = hostport.get(..host_len).unwrap_or(hostport);
        if after.is_empty() {
            Ok(Authority {
                userinfo,
                host,
                port: None,
            })
        } else if let Some(port) = after.strip_prefix(':') {
            Ok(Authority {
                userinfo,
                host,
                port: Some(port),
            })
        } else {
            Err(ParseError::BadIpLiteral)
        }
    } else if hostport.contains(['[', ']']) {
        Err(ParseError::BadIpLiteral)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        Ok(Authority {
            userinfo,
            host,
            port,
        })
    }
}

impl Authority<'_> {
    /// The hostname as compared at request time: IP-literal brackets removed, ASCII lower-cased.
    fn hostname(&self) -> String {
        let h = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host);
        h.to_ascii_lowercase()
    }

    /// The port as a number (`None` when absent or empty, as Python's `.port`);
    /// `Err` when not all digits or above 65535.
    fn port_number(&self) -> Result<Option<u16>, ()> {
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

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Renders a URI for a log line or an error message: truncated to [`MAX_LOGGED_URI_LENGTH`]
/// characters (marked `...[truncated]`) and escaped with `{:?}` so that control characters,
/// CR/LF above all, cannot forge log lines.
pub fn loggable_uri(uri: &str) -> String {
    match uri.char_indices().nth(MAX_LOGGED_URI_LENGTH) {
        Some((cut, _)) => {
            let head = uri.get(..cut).unwrap_or("");
            format!("{:?}", format!("{head}...[truncated]"))
        }
        None => format!("{uri:?}"),
    }
}

fn shown(uri: &str) -> String {
    loggable_uri(uri)
}

fn scheme_in(scheme: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|s| s.eq_ignore_ascii_case(scheme))
}

fn is_forbidden_scheme(scheme: &str) -> bool {
    FORBIDDEN_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

fn requires_authority(scheme: &str) -> bool {
    SCHEMES_REQUIRING_AUTHORITY
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

fn is_uri_char(c: char) -> bool {
    // RFC 3986 §2: unreserved, reserved (gen-delims and sub-delims) and '%'.
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

fn has_control_or_whitespace(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Checks a DNS name: labels of ASCII letters, digits and hyphens, 1–63 characters, not
/// starting or ending with a hyphen, at most 253 characters in all, one optional trailing dot.
/// The last label must not look numeric (WHATWG would parse the whole host as IPv4).
fn check_dns_name(host: &str) -> Result<(), &'static str> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("empty hostname");
    }
    if name.len() > 253 {
        return Err("hostname longer than 253 characters");
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("labels may only contain letters, digits and hyphens");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("labels must not start or end with a hyphen");
        }
        last = label;
    }
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err("the last label is numeric, which is only valid in an IPv4 address");
    }
    Ok(())
}

/// Checks a non-wildcard host: bracketed IPv6, IPv4 (dotted quad) or DNS name.
fn check_host(host: &str) -> Result<(), &'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err("unterminated IPv6 literal");
        };
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err("invalid IPv6 address"),
        };
    }
    if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match host.parse::<Ipv4Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err("invalid IPv4 address"),
        };
    }
    check_dns_name(host)
}

fn check_port(port: &str) -> bool {
    (2..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
}

// ---------------------------------------------------------------------------------------------
// Registration-time validation (§4.1, §3.6)
// ---------------------------------------------------------------------------------------------

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

    let parsed = match split_uri(uri) {
        Ok(p) => p,
        Err(ParseError::BadIpLiteral) => {
            return Err(UriError::InvalidHost {
                kind,
                uri: owned(),
                host: uri
                    .split_once("//")
                    .map(|(_, a)| a.split('/').next().unwrap_or(a))
                    .unwrap_or("")
                    .to_owned(),
                reason: "malformed IP literal brackets",
            })
        }
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

/// Registration-time validation of ONE redirect URI (§4.1): allowed scheme, RFC 3986
/// characters, no `#` (not even a bare one), private-use `scheme:/path` form for schemes other
/// than http/https/ws/wss/ftp, no userinfo, valid host (DNS name, dotless name, IPv4 or
/// bracketed IPv6), port of 2–5 digits within 1..=65535, and the wildcard rules when
/// `rules.allow_wildcards` (exactly one `*`, starting the hostname, at least three labels).
/// Queries are allowed.
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

/// Registration-time validation of one CORS origin (§3.6): scheme in `allowed_origin_schemes`
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

// ---------------------------------------------------------------------------------------------
// Request-time matching (§4.2)
// ---------------------------------------------------------------------------------------------

/// Checks of the requested URI that do not depend on the candidate.
fn parse_requested(requested: &str) -> Result<ParsedUri<'_>, MismatchReason> {
    if requested.contains('#') {
        return Err(MismatchReason::RequestedHasFragment);
    }
    if has_control_or_whitespace(requested) {
        return Err(MismatchReason::RequestedHasInvalidCharacters);
    }
    let parsed = split_uri(requested).map_err(|_| MismatchReason::RequestedMalformed)?;
    if let Some(auth) = parsed.authority {
        if auth.userinfo.is_some() {
            return Err(MismatchReason::RequestedHasUserinfo);
        }
        if auth.port_number().is_err() {
            return Err(MismatchReason::RequestedMalformed);
        }
    }
    Ok(parsed)
}

fn match_parsed(
    req: &ParsedUri<'_>,
    requested_raw: &str,
    registered: &str,
    rules: &UriRules,
) -> Result<(), MismatchReason> {
    if registered.contains('#') {
        return Err(MismatchReason::RegisteredHasFragment);
    }
    let reg = split_uri(registered).map_err(|_| MismatchReason::RegisteredMalformed)?;
    if let Some(auth) = reg.authority {
        if auth.userinfo.is_some() {
            return Err(MismatchReason::RegisteredHasUserinfo);
        }
    }

    // 2. scheme (case-insensitive: urlsplit lower-cases it).
    let scheme_eq = match (req.scheme, reg.scheme) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    if !scheme_eq {
        return Err(MismatchReason::SchemeDiffers);
    }

    // 3. hostname.
    let req_host = req.authority.map(|a| a.hostname());
    let reg_host = reg.authority.map(|a| a.hostname());
    match reg_host.as_deref() {
        Some(pattern) if rules.allow_wildcards && pattern.starts_with('*') => {
            let suffix = pattern.get(1..).unwrap_or("");
            let ok = req_host
                .as_deref()
                .is_some_and(|h| h.ends_with(suffix) && check_dns_name(h).is_ok());
            if !ok {
                return Err(MismatchReason::WildcardMismatch);
            }
        }
        _ => {
            let literal_star = reg_host.as_deref().is_some_and(|h| h.contains('*'));
            if literal_star || req_host != reg_host {
                return Err(MismatchReason::HostnameDiffers);
            }
        }
    }

    // 4. port, except for http loopback registrations (RFC 8252 §7.3).
    let is_loopback = reg.scheme.is_some_and(|s| s.eq_ignore_ascii_case("http"))
        && match reg_host.as_deref() {
            Some("127.0.0.1") | Some("::1") => true,
            Some("localhost") => rules.allow_localhost_loopback,
            _ => false,
        };
    if !is_loopback {
        let req_port = req.authority.map(|a| a.port_number());
        let reg_port = match reg.authority.map(|a| a.port_number()) {
            Some(Err(())) => return Err(MismatchReason::RegisteredMalformed),
            other => other,
        };
        if req_port != reg_port {
            return Err(MismatchReason::PortDiffers);
        }
    }

    // 5. path, byte for byte (";params" included).
    if req.path != reg.path {
        return Err(MismatchReason::PathDiffers);
    }

    // 6. query: presence of '?' and raw equality (order-sensitive).
    if requested_raw.contains('?') != registered.contains('?') {
        return Err(MismatchReason::QueryPresenceDiffers);
    }
    if req.query != reg.query {
        return Err(MismatchReason::QueryDiffers);
    }
    Ok(())
}

/// Request-time exact matching (§4.2, RFC 9700 §2.1) of `requested` against ONE registered URI.
///
/// Accepts iff: the requested URI has no `#`, no whitespace/control characters and no userinfo;
/// the registered URI has no `#` and no userinfo; schemes are equal (case-insensitive);
/// hostnames are equal (ASCII lower-cased), or — with `rules.allow_wildcards` and a registered
/// hostname starting with `*` — the requested hostname is a valid DNS name ending with the
/// registered hostname minus the `*`; ports are equal unless the registered URI is `http` on
/// `127.0.0.1`, `[::1]` (or `localhost` with `rules.allow_localhost_loopback`), where any port
/// or none is accepted (RFC 8252 §7.3); paths are byte-identical; both or neither have a `?`
/// and the raw query strings are byte-identical.
///
/// The allowed-scheme check is not done here; see [`redirect_uri_allowed`].
pub fn redirect_uri_matches(
    requested: &str,
    registered: &str,
    rules: &UriRules,
) -> Result<(), MismatchReason> {
    let req = parse_requested(requested)?;
    match_parsed(&req, requested, registered, rules)
}

/// Checks `requested` against every whitespace-separated URI of `registered_list` and, on
/// failure, returns why: a single entry with `candidate: None` when the requested URI itself is
/// unacceptable (fragment, userinfo, control characters, malformed, scheme not in
/// `rules.allowed_schemes`), otherwise one entry per registered URI. An empty `Err` vector
/// means no URI is registered.
pub fn check_redirect_uri_allowed(
    requested: &str,
    registered_list: &str,
    rules: &UriRules,
) -> Result<(), Vec<Mismatch>> {
    let rejected = |reason| {
        Err(vec![Mismatch {
            candidate: None,
            reason,
        }])
    };
    let req = match parse_requested(requested) {
        Ok(r) => r,
        Err(reason) => return rejected(reason),
    };
    let scheme_ok = req
        .scheme
        .is_some_and(|s| scheme_in(s, &rules.allowed_schemes) && !is_forbidden_scheme(s));
    if !scheme_ok {
        return rejected(MismatchReason::RequestedSchemeNotAllowed);
    }
    let mut mismatches = Vec::new();
    for candidate in registered_list.split_whitespace() {
        match match_parsed(&req, requested, candidate, rules) {
            Ok(()) => return Ok(()),
            Err(reason) => mismatches.push(Mismatch {
                candidate: Some(candidate.to_owned()),
                reason,
            }),
        }
    }
    Err(mismatches)
}

/// Renders the mismatches of [`check_redirect_uri_allowed`] as one log-friendly string, as DOT:
/// `"<candidate>": <reason>` joined by `; `, at most [`MAX_LOGGED_CANDIDATES`] candidates
/// (then `...and N further registered URI(s) not listed`), each URI escaped and truncated with
/// [`loggable_uri`]; `no URIs are registered` when empty.
pub fn format_mismatches(mismatches: &[Mismatch]) -> String {
    if mismatches.is_empty() {
        return "no URIs are registered".to_owned();
    }
    let mut out = mismatches
        .iter()
        .take(MAX_LOGGED_CANDIDATES)
        .map(|m| match &m.candidate {
            None => m.reason.to_string(),
            Some(c) => format!("{}: {}", loggable_uri(c), m.reason),
        })
        .collect::<Vec<_>>()
        .join("; ");
    if mismatches.len() > MAX_LOGGED_CANDIDATES {
        out.push_str(&format!(
            "; ...and {} further registered URI(s) not listed",
            mismatches.len() - MAX_LOGGED_CANDIDATES
        ));
    }
    out
}

fn allowed_and_logged(
    param: &str,
    requested: &str,
    registered_list: &str,
    rules: &UriRules,
) -> bool {
    match check_redirect_uri_allowed(requested, registered_list, rules) {
        Ok(()) => true,
        Err(mismatches) => {
            tracing::debug!(
                "{} {} does not match any {} registered for the client: {}",
                param,
                loggable_uri(requested),
                param,
                format_mismatches(&mismatches)
            );
            false
        }
    }
}

/// True if `requested` matches one of the whitespace-separated `registered_list` URIs
/// ([`redirect_uri_matches`]) and its scheme is in `rules.allowed_schemes`. On failure the
/// reason for each candidate is logged at DEBUG (URIs escaped, truncated to 256 characters,
/// at most 10 candidates); it must never be returned to the client.
pub fn redirect_uri_allowed(requested: &str, registered_list: &str, rules: &UriRules) -> bool {
    allowed_and_logged("redirect_uri", requested, registered_list, rules)
}

/// §4.3: the single registered URI, or `None` when zero or several are registered
/// (the caller then answers `invalid_request` "Missing redirect URI.").
pub fn default_redirect_uri(registered_list: &str) -> Option<&str> {
    let mut uris = registered_list.split_whitespace();
    match (uris.next(), uris.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// §4.4: checks a `post_logout_redirect_uri`, in DOT's order: it has a scheme; with
/// `strict_redirect_uris` (`OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS`) it is not `http`
/// unless the client is confidential; its scheme is in `rules.allowed_schemes`; it matches one
/// of `registered_list` (the client's `post_logout_redirect_uris`) with the §4.2 algorithm
/// (mismatch reasons are logged at DEBUG). Identifying the client is the caller's job.
pub fn validate_post_logout_redirect_uri(
    uri: &str,
    registered_list: &str,
    rules: &UriRules,
    strict_redirect_uris: bool,
    client_is_confidential: bool,
) -> Result<(), PostLogoutUriError> {
    let scheme = match uri.split_once(':') {
        Some((s, _)) if is_scheme(s) => s.to_ascii_lowercase(),
        _ => return Err(PostLogoutUriError::MissingScheme),
    };
    if strict_redirect_uris && scheme == "http" && !client_is_confidential {
        return Err(PostLogoutUriError::HttpRequiresConfidentialClient);
    }
    if !scheme_in(&scheme, &rules.allowed_schemes) || is_forbidden_scheme(&scheme) {
        return Err(PostLogoutUriError::SchemeNotPermitted(scheme));
    }
    if !allowed_and_logged("post_logout_redirect_uri", uri, registered_list, rules) {
        return Err(PostLogoutUriError::NotRegistered);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CORS origin matching (§3.6)
// ---------------------------------------------------------------------------------------------

/// §3.6 origin matching for the token endpoint's `Access-Control-Allow-Origin`.
///
/// True iff `origin` is a bare origin (`scheme://host[:port]`: no userinfo, path, query or
/// fragment, valid host, no whitespace/control characters) whose scheme is in
/// `allowed_origin_schemes` (`ALLOWED_SCHEMES`), and an entry of the whitespace-separated
/// `allowed_origins_list` has the same scheme (case-insensitive), the same host (lower-cased)
/// and the same raw port text.
///
/// With `allow_wildcards`, an entry whose host starts with `*` (`https://*.example.com`)
/// matches any origin whose host ends with the entry's host minus the `*`
/// (`https://a.example.com`, `https://a.b.example.com`, not `https://example.com`). This fixes
/// DOT's gap (§13 item 8): DOT lets such entries be stored but compares netlocs exactly, so they
/// never match. Without `allow_wildcards`, an entry containing `*` never matches.
pub fn origin_allowed(
    origin: &str,
    allowed_origins_list: &str,
    allowed_origin_schemes: &[String],
    allow_wildcards: bool,
) -> bool {
    if has_control_or_whitespace(origin) {
        return false;
    }
    let Ok(req) = split_uri(origin) else {
        return false;
    };
    let (Some(scheme), Some(auth)) = (req.scheme, req.authority) else {
        return false;
    };
    if !scheme_in(scheme, allowed_origin_schemes)
        || auth.userinfo.is_some()
        || !req.path.is_empty()
        || req.query.is_some()
        || req.fragment.is_some()
        || check_host(auth.host).is_err()
    {
        return false;
    }
    let host = auth.host.to_ascii_lowercase();

    allowed_origins_list.split_whitespace().any(|entry| {
        let Ok(allowed) = split_uri(entry) else {
            return false;
        };
        let (Some(a_scheme), Some(a_auth)) = (allowed.scheme, allowed.authority) else {
            return false;
        };
        if !a_scheme.eq_ignore_ascii_case(scheme)
            || a_auth.userinfo.is_some()
            || a_auth.port != auth.port
        {
            return false;
        }
        let a_host = a_auth.host.to_ascii_lowercase();
        match a_host.strip_prefix('*') {
            Some(suffix) if allow_wildcards => {
                !suffix.contains('*') && host.ends_with(suffix) && check_dns_name(&host).is_ok()
            }
            _ => !a_host.contains('*') && a_host == host,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> UriRules {
        UriRules::default()
    }

    fn rules_with(schemes: &[&str]) -> UriRules {
        UriRules {
            allowed_schemes: schemes.iter().map(|s| s.to_string()).collect(),
            ..UriRules::default()
        }
    }

    fn wild() -> UriRules {
        UriRules {
            allow_wildcards: true,
            ..UriRules::default()
        }
    }

    fn https() -> Vec<String> {
        vec!["https".to_owned()]
    }

    fn ok(uri: &str, r: &UriRules) {
        assert_eq!(
            validate_redirect_uri(uri, r),
            Ok(()),
            "{uri:?} should be valid"
        );
    }

    fn bad(uri: &str, r: &UriRules) -> UriError {
        match validate_redirect_uri(uri, r) {
            Ok(()) => panic!("{uri:?} should be rejected"),
            Err(e) => e,
        }
    }

    fn code(uri: &str, r: &UriRules) -> &'static str {
        bad(uri, r).code()
    }

    // ----- splitter ---------------------------------------------------------------------

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

    // ----- §4.1 registration: scheme ------------------------------------------------------

    #[test]
    fn reg_accepts_plain_http_and_https() {
        ok("https://example.com", &rules());
        ok("https://example.com/cb", &rules());
        ok("http://example.com/path/to/cb", &rules());
    }

    #[test]
    fn reg_rejects_scheme_not_allowed_with_clear_message() {
        let e = bad("ftp://x", &rules());
        assert_eq!(e.code(), "invalid_scheme");
        assert_eq!(
            e.to_string(),
            "invalid scheme \"ftp\" in redirect URI \"ftp://x\" (allowed: http, https)"
        );
    }

    #[test]
    fn reg_scheme_compared_case_insensitively() {
        ok("HTTPS://example.com", &rules());
        ok("https://example.com", &rules_with(&["HTTPS"]));
    }

    #[test]
    fn reg_rejects_missing_scheme() {
        for uri in [
            "uri-without-a-scheme",
            "*",
            "/../",
            "example.com/cb",
            "123://example.com",
        ] {
            assert_eq!(code(uri, &rules()), "invalid_scheme", "{uri}");
            assert!(matches!(bad(uri, &rules()), UriError::MissingScheme { .. }));
        }
    }

    #[test]
    fn reg_rejects_empty() {
        assert!(matches!(bad("", &rules()), UriError::Empty { .. }));
        assert!(matches!(bad("    ", &rules()), UriError::Empty { .. }));
    }

    #[test]
    fn reg_dot_message_format() {
        let e = bad("invalid", &rules());
        assert!(e.dot_message().contains("invalid_scheme: invalid"));
        assert_eq!(
            e.dot_message(),
            "redirect uri URI Validation error. invalid_scheme: invalid"
        );
        let e = bad("https://example.com/#x", &rules());
        assert_eq!(
            e.dot_message(),
            "redirect uri URI validation error. fragment not allowed: https://example.com/#x"
        );
    }

    #[test]
    fn reg_rejects_script_schemes_even_if_allowed() {
        let r = rules_with(&["javascript", "data", "vbscript"]);
        for uri in ["javascript:/alert(1)", "data:/text", "VBScript:/x"] {
            assert!(
                matches!(bad(uri, &r), UriError::ForbiddenScheme { .. }),
                "{uri}"
            );
        }
    }

    // ----- §4.1 registration: query / fragment --------------------------------------------

    #[test]
    fn reg_accepts_query() {
        ok("https://example.com/cb?foo=bar", &rules());
        ok("https://example.com?foo=bar&bar=baz", &rules());
        ok("https://example.com/cb?", &rules());
    }

    #[test]
    fn reg_rejects_fragment_even_bare() {
        for uri in [
            "https://example.com/cb#frag",
            "https://example.com/cb#",
            "https://example.com#",
            "https://example.com?q=1#x",
            "https://example.com/path/#fragment",
        ] {
            assert!(
                matches!(bad(uri, &rules()), UriError::FragmentNotAllowed { .. }),
                "{uri}"
            );
        }
    }

    #[test]
    fn reg_percent_encoded_hash_is_not_a_fragment() {
        ok("https://example.com/cb?x=%23y", &rules());
    }

    // ----- §4.1 registration: private-use schemes (RFC 8252 §7.1) -------------------------

    #[test]
    fn reg_private_use_single_slash_accepted() {
        let r = rules_with(&["com.example.app"]);
        ok("com.example.app:/oauth2redirect", &r);
        ok("com.example.app:/", &r);
        ok("com.example.app:/cb?x=1", &r);
    }

    #[test]
    fn reg_private_use_rejected_when_scheme_not_allowed() {
        assert!(matches!(
            bad("com.example.app:/oauth2redirect", &rules()),
            UriError::InvalidScheme { .. }
        ));
    }

    #[test]
    fn reg_private_use_triple_slash_rejected() {
        let r = rules_with(&["com.example.app", "scheme"]);
        assert!(matches!(
            bad("scheme:///path", &r),
            UriError::InvalidPrivateUseUri { .. }
        ));
        assert!(matches!(
            bad("com.example.app://", &r),
            UriError::InvalidPrivateUseUri { .. }
        ));
    }

    #[test]
    fn reg_private_use_rootless_rejected() {
        let r = rules_with(&["scheme"]);
        assert!(matches!(
            bad("scheme:path", &r),
            UriError::InvalidPrivateUseUri { .. }
        ));
        assert!(matches!(
            bad("scheme:", &r),
            UriError::InvalidPrivateUseUri { .. }
        ));
    }

    #[test]
    fn reg_private_use_with_authority_validated_as_host() {
        let r = rules_with(&["custom-scheme", "my-scheme", "git+ssh"]);
        ok("custom-scheme://example.com", &r);
        ok("my-scheme://example", &r);
        ok("my-scheme://localhost", &r);
        ok("git+ssh://example.com", &r);
        assert!(matches!(
            bad("my-scheme://-bad", &r),
            UriError::InvalidHost { .. }
        ));
    }

    #[test]
    fn reg_web_schemes_require_host() {
        let r = rules_with(&["http", "https", "ws", "wss", "ftp"]);
        for uri in [
            "https:/example.com",
            "http:example.com",
            "https:///cb",
            "https://",
            "ws:/x",
            "wss:/x",
            "ftp:/x",
            "HTTP:/x",
        ] {
            assert!(
                matches!(bad(uri, &r), UriError::MissingHost { .. }),
                "{uri}"
            );
        }
    }

    // ----- §4.1 registration: host --------------------------------------------------------

    #[test]
    fn reg_accepts_dotless_hosts() {
        ok("http://localhost", &rules());
        ok("https://example/cb", &rules());
        ok("http://localhost:8000/cb", &rules());
    }

    #[test]
    fn reg_accepts_ipv4_and_bracketed_ipv6() {
        ok("http://127.0.0.1/cb", &rules());
        ok("http://127.0.0.1:8080/cb", &rules());
        ok("http://[::1]/cb", &rules());
        ok("http://[::1]:8080/cb", &rules());
        ok("http://[2001:db8::1]/cb", &rules());
        ok("http://[::ffff:192.0.2.1]/cb", &rules());
    }

    #[test]
    fn reg_rejects_bad_ip_literals() {
        for uri in [
            "http://fe80::1",
            "http://[::1",
            "http://[zz::1]/",
            "http://[::1]x/",
            "http://[]/",
            "http://[fe80::1%25eth0]/",
            "https://[\"><script>alert()</script>",
            "http://256.1.1.1/",
            "http://1.2.3.4.5/",
            "http://01.2.3.4/",
        ] {
            let e = bad(uri, &rules());
            assert!(
                matches!(
                    e,
                    UriError::InvalidHost { .. }
                        | UriError::InvalidPort { .. }
                        | UriError::InvalidCharacter { .. }
                ),
                "{uri}: {e}"
            );
        }
    }

    #[test]
    fn reg_rejects_invalid_dns_names() {
        for uri in [
            "https://-exa",
            "https://exa-",
            "https://exa_mple.com",
            "https://a..b.com",
            "https://.example.com",
            "https://example.123",
            "http://1.2.3/",
            "http://123/",
            "https://example.0x1f",
        ] {
            assert!(
                matches!(bad(uri, &rules()), UriError::InvalidHost { .. }),
                "{uri}"
            );
        }
    }

    #[test]
    fn reg_label_and_name_lengths() {
        let label63 = "a".repeat(63);
        ok(&format!("https://{label63}.example.com/"), &rules());
        let label64 = "a".repeat(64);
        assert!(matches!(
            bad(&format!("https://{label64}.example.com/"), &rules()),
            UriError::InvalidHost { .. }
        ));
        // 4 * 63 + 3 dots = 255 > 253
        let long = [label63.as_str(); 4].join(".");
        assert!(matches!(
            bad(&format!("https://{long}/"), &rules()),
            UriError::InvalidHost { .. }
        ));
    }

    #[test]
    fn reg_accepts_trailing_dot_and_mixed_case_host() {
        ok("https://example.com./cb", &rules());
        ok("https://Example.COM/cb", &rules());
    }

    #[test]
    fn reg_rejects_userinfo() {
        assert!(matches!(
            bad("https://user@example.com/cb", &rules()),
            UriError::UserinfoNotAllowed { .. }
        ));
        assert!(matches!(
            bad("https://user:pass@example.com/cb", &rules()),
            UriError::UserinfoNotAllowed { .. }
        ));
    }

    // ----- §4.1 registration: port --------------------------------------------------------

    #[test]
    fn reg_port_two_to_five_digits() {
        ok("https://example.com:80/cb", &rules());
        ok("https://example.com:8080/cb", &rules());
        ok("https://example.com:65535/cb", &rules());
        for uri in [
            "https://example.com:8/cb",
            "https://example.com:123456/cb",
            "https://example.com:65536/cb",
            "https://example.com:99999/cb",
            "https://example.com:/cb",
            "https://example.com:abc/cb",
            "https://example.com:00/cb",
            "https://example.com:80:80/cb",
        ] {
            assert!(
                matches!(bad(uri, &rules()), UriError::InvalidPort { .. }),
                "{uri}"
            );
        }
    }

    // ----- §4.1 registration: characters and length ---------------------------------------

    #[test]
    fn reg_rejects_characters_outside_rfc3986() {
        for uri in [
            "https://exa mple.com",
            "https://example.com/c b",
            "https://example.com\\@evil.com",
            "https://example.com/\0",
            "https://example.com/caf\u{e9}",
            "https://ex\u{e4}mple.com/",
            "https://example.com/<script>",
            "https://example.com/\r\nX-Injected: 1",
        ] {
            assert!(
                matches!(bad(uri, &rules()), UriError::InvalidCharacter { .. }),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn reg_percent_encoding_must_be_valid() {
        ok("https://example.com/a%20b?x=%41", &rules());
        for uri in [
            "https://example.com/%",
            "https://example.com/%4",
            "https://example.com/%zz",
        ] {
            assert!(
                matches!(bad(uri, &rules()), UriError::InvalidPercentEncoding { .. }),
                "{uri}"
            );
        }
    }

    #[test]
    fn reg_rejects_too_long() {
        let uri = format!("https://example.com/{}", "a".repeat(3000));
        assert!(matches!(bad(&uri, &rules()), UriError::TooLong { .. }));
        let fits = format!("https://example.com/{}", "a".repeat(2000));
        ok(&fits, &rules());
    }

    #[test]
    fn reg_error_display_escapes_and_truncates_uri() {
        let uri = format!("ftp://x/{}", "\n".repeat(1000));
        let msg = bad(&uri, &rules()).to_string();
        assert!(!msg.contains('\n'));
        assert!(msg.contains("...[truncated]"));
        assert!(msg.len() < 1000);
    }

    // ----- §4.1 registration: wildcards ---------------------------------------------------

    #[test]
    fn reg_wildcard_rejected_when_disabled() {
        assert!(matches!(
            bad("https://*.example.com", &rules()),
            UriError::WildcardNotAllowed { .. }
        ));
    }

    #[test]
    fn reg_wildcard_valid_forms() {
        for uri in [
            "https://*.example.com",
            "https://*.example.com/cb?x=1",
            "https://*.example.com:8443/cb",
            "https://*-partial.example.com",
            "https://*-x.example.com",
            "https://*.partial.example.com",
            "https://*-partial.valid.example.com",
            "https://*--sitename.netlify.app",
        ] {
            ok(uri, &wild());
        }
    }

    #[test]
    fn reg_wildcard_too_broad() {
        for uri in [
            "https://*",
            "https://*/",
            "https://*.com",
            "https://*-partial",
            "https://*-partial.com",
        ] {
            assert!(
                matches!(bad(uri, &wild()), UriError::WildcardTooBroad { .. }),
                "{uri}"
            );
            assert_eq!(
                code(uri, &wild()),
                "wildcards cannot be in the top level or second level domain"
            );
        }
    }

    #[test]
    fn reg_wildcard_not_at_start() {
        for uri in [
            "https://example.*",
            "https://example.*.com",
            "https://invalid-*.example.com",
            "https://invalid.*.example.com",
            "https://invalid.*.invalid.example.com",
            "https://invalid-*.invalid.example.com",
        ] {
            assert!(
                matches!(bad(uri, &wild()), UriError::WildcardNotAtStart { .. }),
                "{uri}"
            );
        }
    }

    #[test]
    fn reg_wildcard_only_one() {
        assert!(matches!(
            bad("https://*.*.example.com", &wild()),
            UriError::MultipleWildcards { .. }
        ));
    }

    #[test]
    fn reg_wildcard_at_most_two_hyphens() {
        assert!(matches!(
            bad("https://*---x.example.com", &wild()),
            UriError::InvalidHost { .. }
        ));
    }

    #[test]
    fn reg_wildcard_star_without_scheme() {
        assert_eq!(code("*", &wild()), "invalid_scheme");
    }

    // ----- §4.1 lists ---------------------------------------------------------------------

    #[test]
    fn reg_list_collects_all_errors_in_order() {
        let errs = validate_redirect_uris(
            "https://ok.example.com ftp://x\thttps://example.com/#f\n invalid",
            &rules(),
        )
        .unwrap_err();
        assert_eq!(errs.len(), 3);
        assert!(matches!(errs[0], UriError::InvalidScheme { .. }));
        assert!(matches!(errs[1], UriError::FragmentNotAllowed { .. }));
        assert!(matches!(errs[2], UriError::MissingScheme { .. }));
        assert_eq!(errs[2].uri(), "invalid");
        assert_eq!(errs[2].kind(), UriKind::RedirectUri);
    }

    #[test]
    fn reg_list_valid_and_empty() {
        assert_eq!(
            validate_redirect_uris("http://localhost http://example.com?foo=bar", &rules()),
            Ok(())
        );
        assert_eq!(validate_redirect_uris("", &rules()), Ok(()));
        assert_eq!(validate_redirect_uris(" \n\t ", &rules()), Ok(()));
    }

    #[test]
    fn reg_dot_fixture_app_is_valid() {
        let r = rules_with(&["http", "custom-scheme"]);
        assert_eq!(validate_redirect_uris(FIXTURE, &r), Ok(()));
    }

    // ----- §3.6 origin validation ---------------------------------------------------------

    #[test]
    fn origin_valid() {
        assert_eq!(
            validate_origin("https://example.org", &https(), false),
            Ok(())
        );
        assert_eq!(
            validate_origin("https://example.org:8443", &https(), false),
            Ok(())
        );
        assert_eq!(
            validate_origin("HTTPS://Example.org", &https(), false),
            Ok(())
        );
        assert_eq!(
            validate_origin("https://example.org", &["HTTPS".to_owned()], false),
            Ok(())
        );
    }

    #[test]
    fn origin_scheme_must_be_allowed() {
        let e = validate_origin("http://example.com", &https(), false).unwrap_err();
        assert!(matches!(e, UriError::InvalidScheme { .. }));
        assert_eq!(
            e.to_string(),
            "invalid scheme \"http\" in allowed origin \"http://example.com\" (allowed: https)"
        );
        let both = vec!["http".to_owned(), "https".to_owned()];
        assert_eq!(
            validate_origin("http://localhost:3000", &both, false),
            Ok(())
        );
    }

    #[test]
    fn origin_rejects_path_even_lone_slash() {
        for o in ["https://example.org/", "https://example.org/path"] {
            assert!(matches!(
                validate_origin(o, &https(), false),
                Err(UriError::PathNotAllowed { .. })
            ));
        }
    }

    #[test]
    fn origin_rejects_query_fragment_userinfo() {
        assert!(matches!(
            validate_origin("https://example.org?", &https(), false),
            Err(UriError::QueryNotAllowed { .. })
        ));
        assert!(matches!(
            validate_origin("https://example.org?a=b", &https(), false),
            Err(UriError::QueryNotAllowed { .. })
        ));
        assert!(matches!(
            validate_origin("https://example.org#x", &https(), false),
            Err(UriError::FragmentNotAllowed { .. })
        ));
        assert!(matches!(
            validate_origin("https://u@example.org", &https(), false),
            Err(UriError::UserinfoNotAllowed { .. })
        ));
    }

    #[test]
    fn origin_requires_host() {
        for o in ["https://", "https:", "https:example.org"] {
            assert!(
                matches!(
                    validate_origin(o, &https(), false),
                    Err(UriError::MissingHost { .. }) | Err(UriError::PathNotAllowed { .. })
                ),
                "{o}"
            );
        }
        assert!(matches!(
            validate_origin("null", &https(), false),
            Err(UriError::MissingScheme { .. })
        ));
    }

    #[test]
    fn origin_wildcard_per_setting() {
        assert_eq!(
            validate_origin("https://*.example.com", &https(), true),
            Ok(())
        );
        assert!(matches!(
            validate_origin("https://*.example.com", &https(), false),
            Err(UriError::WildcardNotAllowed { .. })
        ));
        assert!(matches!(
            validate_origin("https://*.com", &https(), true),
            Err(UriError::WildcardTooBroad { .. })
        ));
    }

    #[test]
    fn origin_list_collects_errors() {
        let errs = validate_origins(
            "https://a.example.org http://b.example.org https://c.example.org/",
            &https(),
            false,
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.kind() == UriKind::Origin));
        assert_eq!(validate_origins("", &https(), false), Ok(()));
    }

    // ----- §3.6 origin matching (§11.5) -----------------------------------------------------

    #[test]
    fn origin_allowed_exact() {
        assert!(origin_allowed(
            "https://example.org",
            "https://example.org",
            &https(),
            false
        ));
    }

    #[test]
    fn origin_allowed_rejects_http_when_only_https() {
        assert!(!origin_allowed(
            "http://example.org",
            "https://example.org",
            &https(),
            false
        ));
        let both = vec!["http".to_owned(), "https".to_owned()];
        assert!(!origin_allowed(
            "http://example.org",
            "https://example.org",
            &both,
            false
        ));
    }

    #[test]
    fn origin_allowed_rejects_other_host() {
        assert!(!origin_allowed(
            "https://another_example.org",
            "https://example.org",
            &https(),
            false
        ));
        assert!(!origin_allowed(
            "https://example.org.evil.com",
            "https://example.org",
            &https(),
            false
        ));
    }

    #[test]
    fn origin_allowed_case_insensitive_scheme_and_host() {
        assert!(origin_allowed(
            "HTTPS://EXAMPLE.org",
            "https://example.org",
            &https(),
            false
        ));
        assert!(origin_allowed(
            "https://example.org",
            "https://Example.ORG",
            &https(),
            false
        ));
        assert!(origin_allowed(
            "https://example.org",
            "https://example.org",
            &["HTTPS".to_owned()],
            false
        ));
    }

    #[test]
    fn origin_allowed_port_must_match() {
        let list = "https://example.org:8443";
        assert!(origin_allowed(
            "https://example.org:8443",
            list,
            &https(),
            false
        ));
        assert!(!origin_allowed(
            "https://example.org",
            list,
            &https(),
            false
        ));
        assert!(!origin_allowed(
            "https://example.org:443",
            "https://example.org",
            &https(),
            false
        ));
    }

    #[test]
    fn origin_allowed_requires_bare_origin() {
        let list = "https://example.org";
        for o in [
            "https://example.org/",
            "https://example.org/x",
            "https://example.org?",
            "https://example.org#",
            "https://u@example.org",
            "https://example.org\n",
            "null",
            "",
        ] {
            assert!(!origin_allowed(o, list, &https(), false), "{o:?}");
        }
    }

    #[test]
    fn origin_allowed_empty_list() {
        assert!(!origin_allowed("https://example.org", "", &https(), false));
    }

    #[test]
    fn origin_allowed_wildcard_suffix_match_fixes_dot_gap() {
        let list = "https://*.example.com";
        assert!(origin_allowed(
            "https://a.example.com",
            list,
            &https(),
            true
        ));
        assert!(origin_allowed(
            "https://a.b.example.com",
            list,
            &https(),
            true
        ));
        assert!(!origin_allowed("https://example.com", list, &https(), true));
        assert!(!origin_allowed(
            "https://evilexample.com",
            list,
            &https(),
            true
        ));
        assert!(!origin_allowed(
            "https://a.example.com:8443",
            list,
            &https(),
            true
        ));
        assert!(!origin_allowed(
            "http://a.example.com",
            list,
            &https(),
            true
        ));
    }

    #[test]
    fn origin_allowed_wildcard_needs_setting() {
        let list = "https://*.example.com";
        assert!(!origin_allowed(
            "https://a.example.com",
            list,
            &https(),
            false
        ));
        // A literal '*' origin is not a valid host and never matches.
        assert!(!origin_allowed(
            "https://*.example.com",
            list,
            &https(),
            false
        ));
        assert!(!origin_allowed(
            "https://*.example.com",
            list,
            &https(),
            true
        ));
    }

    #[test]
    fn origin_allowed_wildcard_no_backslash_bypass() {
        assert!(!origin_allowed(
            "https://evil.com\\.example.com",
            "https://*.example.com",
            &https(),
            true
        ));
    }

    // ----- §4.2 matching ------------------------------------------------------------------

    fn m(req: &str, reg: &str) -> Result<(), MismatchReason> {
        redirect_uri_matches(req, reg, &rules())
    }

    #[test]
    fn match_identical() {
        assert_eq!(
            m("https://example.com/cb", "https://example.com/cb"),
            Ok(())
        );
        assert_eq!(m("http://example.com", "http://example.com"), Ok(()));
    }

    #[test]
    fn match_scheme_differs() {
        assert_eq!(
            m("http://example.com/cb", "https://example.com/cb"),
            Err(MismatchReason::SchemeDiffers)
        );
    }

    #[test]
    fn match_scheme_case_insensitive() {
        assert_eq!(
            m("HTTPS://example.com/cb", "https://example.com/cb"),
            Ok(())
        );
    }

    #[test]
    fn match_hostname_differs() {
        assert_eq!(
            m(
                "http://not-registered.example.org/cb",
                "http://example.org/cb"
            ),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    #[test]
    fn match_hostname_case_insensitive() {
        assert_eq!(
            m("https://EXAMPLE.com/cb", "https://example.COM/cb"),
            Ok(())
        );
    }

    #[test]
    fn match_hostname_lowercase_is_ascii_only() {
        // U+212A KELVIN SIGN lower-cases to 'k' in Python; never here.
        assert_eq!(
            m(
                "https://\u{212a}.example.com/cb",
                "https://k.example.com/cb"
            ),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    #[test]
    fn match_port_differs() {
        assert_eq!(
            m("https://example.com:8443/cb", "https://example.com/cb"),
            Err(MismatchReason::PortDiffers)
        );
        assert_eq!(
            m("http://example.com:80/cb", "http://example.com/cb"),
            Err(MismatchReason::PortDiffers)
        );
        assert_eq!(
            m("https://example.com:8443/cb", "https://example.com:8443/cb"),
            Ok(())
        );
    }

    #[test]
    fn match_path_differs() {
        assert_eq!(
            m("http://example.com/a?foo=bar", "http://example.com?foo=bar"),
            Err(MismatchReason::PathDiffers)
        );
        assert_eq!(
            m("https://example.com/cb/", "https://example.com/cb"),
            Err(MismatchReason::PathDiffers)
        );
    }

    #[test]
    fn match_path_case_sensitive() {
        assert_eq!(
            m("https://example.com/CB", "https://example.com/cb"),
            Err(MismatchReason::PathDiffers)
        );
    }

    #[test]
    fn match_path_params_compared() {
        assert_eq!(
            m("https://example.com/cb;evil=1", "https://example.com/cb"),
            Err(MismatchReason::PathDiffers)
        );
    }

    #[test]
    fn match_path_not_percent_decoded() {
        assert_eq!(
            m("https://example.com/%63b", "https://example.com/cb"),
            Err(MismatchReason::PathDiffers)
        );
    }

    #[test]
    fn match_query_presence() {
        assert_eq!(
            m("https://example.com/cb?", "https://example.com/cb"),
            Err(MismatchReason::QueryPresenceDiffers)
        );
        assert_eq!(
            m("https://example.com/cb", "https://example.com/cb?"),
            Err(MismatchReason::QueryPresenceDiffers)
        );
        assert_eq!(
            m("https://example.com/cb?", "https://example.com/cb?"),
            Ok(())
        );
    }

    #[test]
    fn match_query_order_sensitive() {
        assert_eq!(
            m(
                "http://example.com?foo=bar&bar=baz",
                "http://example.com?bar=baz&foo=bar"
            ),
            Err(MismatchReason::QueryDiffers)
        );
        assert_eq!(
            m(
                "http://example.com?bar=baz&foo=bar",
                "http://example.com?bar=baz&foo=bar"
            ),
            Ok(())
        );
    }

    #[test]
    fn match_query_no_extra_params() {
        assert_eq!(
            m(
                "http://example.com?foo=bar&x=1",
                "http://example.com?foo=bar"
            ),
            Err(MismatchReason::QueryDiffers)
        );
        assert_eq!(
            m("http://example.org?foo=baraa", "http://example.org?foo=bar"),
            Err(MismatchReason::QueryDiffers)
        );
    }

    #[test]
    fn match_query_percent_escapes_literal() {
        assert_eq!(
            m("https://example.com/cb?a=%3F", "https://example.com/cb?a=?"),
            Err(MismatchReason::QueryDiffers)
        );
        assert_eq!(
            m(
                "https://example.com/cb?a=%23",
                "https://example.com/cb?a=%23"
            ),
            Ok(())
        );
    }

    #[test]
    fn match_requested_fragment_rejected() {
        for req in ["https://example.com/cb#", "https://example.com/cb#x", "#"] {
            assert_eq!(
                m(req, "https://example.com/cb"),
                Err(MismatchReason::RequestedHasFragment),
                "{req}"
            );
        }
    }

    #[test]
    fn match_registered_fragment_never_matches() {
        assert_eq!(
            m("https://example.com/cb", "https://example.com/cb#"),
            Err(MismatchReason::RegisteredHasFragment)
        );
    }

    #[test]
    fn match_requested_userinfo_rejected() {
        assert_eq!(
            m("https://evil@example.com/cb", "https://example.com/cb"),
            Err(MismatchReason::RequestedHasUserinfo)
        );
        assert_eq!(
            m("https://u:p@example.com/cb", "https://u:p@example.com/cb"),
            Err(MismatchReason::RequestedHasUserinfo)
        );
    }

    #[test]
    fn match_registered_userinfo_never_matches() {
        assert_eq!(
            m("https://example.com/cb", "https://u@example.com/cb"),
            Err(MismatchReason::RegisteredHasUserinfo)
        );
    }

    #[test]
    fn match_requested_control_chars_rejected() {
        assert_eq!(
            m("https://example.com/c\nb", "https://example.com/cb"),
            Err(MismatchReason::RequestedHasInvalidCharacters)
        );
        assert_eq!(
            m("https://example.com/cb\t", "https://example.com/cb"),
            Err(MismatchReason::RequestedHasInvalidCharacters)
        );
    }

    #[test]
    fn match_requested_malformed() {
        assert_eq!(
            m("http://[::1/cb", "http://[::1]/cb"),
            Err(MismatchReason::RequestedMalformed)
        );
        assert_eq!(
            m("http://127.0.0.1:99999/cb", "http://127.0.0.1/cb"),
            Err(MismatchReason::RequestedMalformed)
        );
        assert_eq!(
            m("http://127.0.0.1:abc/cb", "http://127.0.0.1/cb"),
            Err(MismatchReason::RequestedMalformed)
        );
    }

    #[test]
    fn match_relative_requested_uri() {
        assert_eq!(
            m("/../", "http://example.com"),
            Err(MismatchReason::SchemeDiffers)
        );
    }

    #[test]
    fn match_empty_port_is_no_port_as_in_dot() {
        assert_eq!(
            m("https://example.com:/cb", "https://example.com/cb"),
            Ok(())
        );
    }

    // RFC 8252 §7.3 loopback.

    #[test]
    fn loopback_ipv4_any_port() {
        assert_eq!(m("http://127.0.0.1:1234/cb", "http://127.0.0.1/cb"), Ok(()));
        assert_eq!(
            m("http://127.0.0.1:1234/cb", "http://127.0.0.1:5678/cb"),
            Ok(())
        );
        assert_eq!(m("http://127.0.0.1/cb", "http://127.0.0.1:5678/cb"), Ok(()));
    }

    #[test]
    fn loopback_ipv6_any_port() {
        assert_eq!(m("http://[::1]:61000/cb", "http://[::1]/cb"), Ok(()));
    }

    #[test]
    fn loopback_still_requires_path_and_query() {
        assert_eq!(
            m("http://127.0.0.1:1234/other", "http://127.0.0.1/cb"),
            Err(MismatchReason::PathDiffers)
        );
        assert_eq!(
            m("http://127.0.0.1:1234/cb?x", "http://127.0.0.1/cb"),
            Err(MismatchReason::QueryPresenceDiffers)
        );
    }

    #[test]
    fn loopback_only_for_http() {
        assert_eq!(
            m("https://127.0.0.1:1234/cb", "https://127.0.0.1/cb"),
            Err(MismatchReason::PortDiffers)
        );
    }

    #[test]
    fn loopback_localhost_needs_setting() {
        assert_eq!(
            m("http://localhost:1234/cb", "http://localhost/cb"),
            Err(MismatchReason::PortDiffers)
        );
        let r = UriRules {
            allow_localhost_loopback: true,
            ..rules()
        };
        assert_eq!(
            redirect_uri_matches("http://localhost:1234/cb", "http://localhost/cb", &r),
            Ok(())
        );
    }

    #[test]
    fn loopback_https_localhost_never_exempt() {
        let r = UriRules {
            allow_localhost_loopback: true,
            ..rules()
        };
        assert_eq!(
            redirect_uri_matches("https://localhost:1234/cb", "https://localhost/cb", &r),
            Err(MismatchReason::PortDiffers)
        );
    }

    #[test]
    fn loopback_hosts_not_conflated() {
        let r = UriRules {
            allow_localhost_loopback: true,
            ..rules()
        };
        assert_eq!(
            redirect_uri_matches("http://localhost:1234/cb", "http://127.0.0.1/cb", &r),
            Err(MismatchReason::HostnameDiffers)
        );
        assert_eq!(
            m("http://[::1]:1234/cb", "http://127.0.0.1/cb"),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    // Wildcards at request time.

    #[test]
    fn wildcard_suffix_match() {
        let r = wild();
        let reg = "https://*.example.com/cb";
        assert_eq!(
            redirect_uri_matches("https://a.example.com/cb", reg, &r),
            Ok(())
        );
        assert_eq!(
            redirect_uri_matches("https://a.b.example.com/cb", reg, &r),
            Ok(())
        );
        assert_eq!(
            redirect_uri_matches("https://example.com/cb", reg, &r),
            Err(MismatchReason::WildcardMismatch)
        );
        assert_eq!(
            redirect_uri_matches("https://evilexample.com/cb", reg, &r),
            Err(MismatchReason::WildcardMismatch)
        );
        assert_eq!(
            redirect_uri_matches("https://a.example.com/other", reg, &r),
            Err(MismatchReason::PathDiffers)
        );
        assert_eq!(
            redirect_uri_matches("https://a.example.com:444/cb", reg, &r),
            Err(MismatchReason::PortDiffers)
        );
    }

    #[test]
    fn wildcard_partial_label() {
        let r = wild();
        assert_eq!(
            redirect_uri_matches(
                "https://pr-1-x.example.com/",
                "https://*-x.example.com/",
                &r
            ),
            Ok(())
        );
        assert_eq!(
            redirect_uri_matches(
                "https://deploy-preview-42--site.netlify.app/",
                "https://*--site.netlify.app/",
                &r
            ),
            Ok(())
        );
    }

    #[test]
    fn wildcard_requires_valid_requested_hostname() {
        let r = wild();
        let reg = "https://*.example.com/";
        for req in [
            "https://evil.com\\.example.com/",
            "https://.example.com/",
            "https://a..example.com/",
            "https://-a.example.com/",
        ] {
            assert_eq!(
                redirect_uri_matches(req, reg, &r),
                Err(MismatchReason::WildcardMismatch),
                "{req}"
            );
        }
    }

    #[test]
    fn wildcard_disabled_never_matches() {
        let reg = "https://*.example.com/cb";
        assert_eq!(
            m("https://a.example.com/cb", reg),
            Err(MismatchReason::HostnameDiffers)
        );
        assert_eq!(
            m("https://*.example.com/cb", reg),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    // Private-use schemes.

    #[test]
    fn private_use_exact() {
        assert_eq!(m("com.example.app:/cb", "com.example.app:/cb"), Ok(()));
        assert_eq!(
            m("com.example.app:/cb2", "com.example.app:/cb"),
            Err(MismatchReason::PathDiffers)
        );
    }

    #[test]
    fn private_use_single_vs_double_slash_differ() {
        assert_eq!(
            m("com.example.app://cb", "com.example.app:/cb"),
            Err(MismatchReason::HostnameDiffers)
        );
        assert_eq!(
            m("com.example.app:/cb", "com.example.app://cb"),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    #[test]
    fn private_use_triple_slash_differs_from_single() {
        assert_eq!(
            m("com.example.app:///cb", "com.example.app:/cb"),
            Err(MismatchReason::HostnameDiffers)
        );
    }

    #[test]
    fn mismatch_reason_texts_are_dots() {
        assert_eq!(MismatchReason::SchemeDiffers.to_string(), "scheme differs");
        assert_eq!(
            MismatchReason::HostnameDiffers.to_string(),
            "hostname differs"
        );
        assert_eq!(MismatchReason::PortDiffers.to_string(), "port differs");
        assert_eq!(MismatchReason::PathDiffers.to_string(), "path differs");
        assert_eq!(
            MismatchReason::QueryDiffers.to_string(),
            "query string differs"
        );
        assert_eq!(
            MismatchReason::QueryPresenceDiffers.to_string(),
            "one URI has a query component and the other does not"
        );
        assert_eq!(
            MismatchReason::WildcardMismatch.to_string(),
            "hostname does not match the registered wildcard"
        );
        assert!(MismatchReason::RequestedHasFragment
            .to_string()
            .starts_with("the requested URI has a fragment"));
        assert!(MismatchReason::RequestedHasUserinfo
            .to_string()
            .contains("userinfo credentials"));
        assert!(MismatchReason::RequestedHasFragment.is_about_requested_uri());
        assert!(!MismatchReason::PathDiffers.is_about_requested_uri());
    }

    // ----- redirect_uri_allowed / §11.1 fixture ----------------------------------------------

    const FIXTURE: &str = "http://localhost http://example.com http://example.org \
        custom-scheme://example.com http://example.com?foo=bar http://example.org?foo=bar \
        http://example.com?bar=baz&foo=bar";

    fn fixture_rules() -> UriRules {
        rules_with(&["http", "custom-scheme"])
    }

    #[test]
    fn fixture_accepts_registered() {
        for uri in FIXTURE.split_whitespace() {
            assert!(
                redirect_uri_allowed(uri, FIXTURE, &fixture_rules()),
                "{uri}"
            );
        }
    }

    #[test]
    fn fixture_rejects_unregistered() {
        for uri in [
            "http://not-registered.example.org/cb",
            "http://forbidden.it",
            "/../",
            "http://example.com/a?foo=bar",
            "http://example.com?next=http://evil.example",
            "http://example.org?foo=baraa",
            "http://example.com?foo=bar&bar=baz",
            "http://example.org/not-the-one-used",
            "http://attacker.example/cb",
            "",
        ] {
            assert!(
                !redirect_uri_allowed(uri, FIXTURE, &fixture_rules()),
                "{uri}"
            );
        }
    }

    #[test]
    fn fixture_reasons_per_candidate() {
        let errs = check_redirect_uri_allowed(
            "http://not-registered.example.org/cb",
            FIXTURE,
            &fixture_rules(),
        )
        .unwrap_err();
        assert_eq!(errs.len(), 7);
        assert!(errs.iter().all(|e| e.candidate.is_some()));
        assert!(errs
            .iter()
            .any(|e| e.reason == MismatchReason::HostnameDiffers));
        assert!(errs
            .iter()
            .any(|e| e.reason == MismatchReason::SchemeDiffers));
    }

    #[test]
    fn allowed_requires_allowed_scheme() {
        // Matches the registration, but "ftp" is not an allowed redirect scheme.
        assert!(!redirect_uri_allowed(
            "ftp://files.example.com/cb",
            "ftp://files.example.com/cb",
            &rules()
        ));
        let errs = check_redirect_uri_allowed(
            "ftp://files.example.com/cb",
            "ftp://files.example.com/cb",
            &rules(),
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![Mismatch {
                candidate: None,
                reason: MismatchReason::RequestedSchemeNotAllowed
            }]
        );
        assert!(!redirect_uri_allowed(
            "javascript:/x",
            "javascript:/x",
            &rules_with(&["javascript"])
        ));
    }

    #[test]
    fn allowed_requested_level_reason_reported_once() {
        let errs = check_redirect_uri_allowed("http://example.com#x", FIXTURE, &fixture_rules())
            .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].candidate, None);
        assert_eq!(errs[0].reason, MismatchReason::RequestedHasFragment);
    }

    #[test]
    fn allowed_empty_registration() {
        assert!(!redirect_uri_allowed("http://example.com", "", &rules()));
        assert_eq!(
            check_redirect_uri_allowed("http://example.com", "  ", &rules()),
            Err(vec![])
        );
        assert_eq!(format_mismatches(&[]), "no URIs are registered");
    }

    #[test]
    fn allowed_loopback_via_list() {
        assert!(redirect_uri_allowed(
            "http://127.0.0.1:49152/cb",
            "https://example.com/cb http://127.0.0.1/cb",
            &rules()
        ));
    }

    // ----- log formatting ----------------------------------------------------------------

    #[test]
    fn loggable_uri_escapes_and_truncates() {
        assert_eq!(loggable_uri("a\r\nb"), "\"a\\r\\nb\"");
        let long = "é".repeat(300);
        let s = loggable_uri(&long);
        assert!(s.ends_with("...[truncated]\""));
        assert_eq!(s.chars().filter(|&c| c == 'é').count(), 256);
        assert_eq!(
            loggable_uri(&"x".repeat(256)),
            format!("{:?}", "x".repeat(256))
        );
    }

    #[test]
    fn format_mismatches_limits_candidates() {
        let list: Vec<String> = (0..13)
            .map(|i| format!("https://h{i}.example.com/"))
            .collect();
        let errs =
            check_redirect_uri_allowed("https://other.example.com/", &list.join(" "), &rules())
                .unwrap_err();
        let s = format_mismatches(&errs);
        assert!(s.contains("\"https://h9.example.com/\": hostname differs"));
        assert!(!s.contains("h10.example.com"));
        assert!(s.ends_with("; ...and 3 further registered URI(s) not listed"));
    }

    #[test]
    fn format_mismatches_requested_level() {
        let s = format_mismatches(&[Mismatch {
            candidate: None,
            reason: MismatchReason::RequestedHasUserinfo,
        }]);
        assert_eq!(
            s,
            "the requested URI carries userinfo credentials in its authority"
        );
    }

    /// Minimal subscriber recording every event's level and message.
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Msg(String);
            impl tracing::field::Visit for Msg {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut msg = Msg(String::new());
            event.record(&mut msg);
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", event.metadata().level(), msg.0));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    fn captured_logs(f: impl FnOnce()) -> Vec<String> {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        tracing::subscriber::with_default(Capture(lines.clone()), f);
        let out = lines.lock().unwrap().clone();
        out
    }

    #[test]
    fn mismatch_is_logged_at_debug_with_reasons() {
        let logs = captured_logs(|| {
            assert!(!redirect_uri_allowed(
                "http://not-registered.example.org/cb\r\nforged",
                "http://example.org custom-scheme://example.com",
                &fixture_rules(),
            ));
            assert!(!redirect_uri_allowed(
                "http://not-registered.example.org/cb",
                "http://example.org custom-scheme://example.com",
                &fixture_rules(),
            ));
        });
        assert_eq!(logs.len(), 2, "{logs:?}");
        assert!(logs.iter().all(|l| l.starts_with("DEBUG ")));
        assert!(logs[0].contains("whitespace or control characters"));
        assert!(logs[0].contains("\\r\\n"), "{}", logs[0]);
        assert!(!logs[0].contains('\n'));
        assert!(logs[1].contains("\"http://example.org\": hostname differs"));
        assert!(logs[1].contains("\"custom-scheme://example.com\": scheme differs"));
    }

    #[test]
    fn match_is_not_logged() {
        let logs = captured_logs(|| {
            assert!(redirect_uri_allowed(
                "http://example.org",
                FIXTURE,
                &fixture_rules()
            ));
        });
        assert!(logs.is_empty(), "{logs:?}");
    }

    // ----- §4.3 default redirect URI ------------------------------------------------------

    #[test]
    fn default_redirect_uri_single() {
        assert_eq!(
            default_redirect_uri("http://localhost"),
            Some("http://localhost")
        );
        assert_eq!(
            default_redirect_uri("  http://localhost\n"),
            Some("http://localhost")
        );
    }

    #[test]
    fn default_redirect_uri_zero_or_several() {
        assert_eq!(default_redirect_uri(""), None);
        assert_eq!(default_redirect_uri(" \t\n"), None);
        assert_eq!(
            default_redirect_uri("http://a.example http://b.example"),
            None
        );
    }

    // ----- §4.4 post-logout ---------------------------------------------------------------

    const LOGOUT: &str = "http://example.org https://rp.example.com/bye";

    #[test]
    fn post_logout_accepts_registered() {
        assert_eq!(
            validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), false, false),
            Ok(())
        );
    }

    #[test]
    fn post_logout_requires_scheme() {
        let e = validate_post_logout_redirect_uri("example.org", LOGOUT, &rules(), false, true)
            .unwrap_err();
        assert_eq!(e, PostLogoutUriError::MissingScheme);
        assert_eq!(e.to_string(), "A Scheme is required for the redirect URI.");
    }

    #[test]
    fn post_logout_scheme_not_permitted() {
        let e =
            validate_post_logout_redirect_uri("imap://example.org", LOGOUT, &rules(), false, true)
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Redirect to scheme \"imap\" is not permitted."
        );
    }

    #[test]
    fn post_logout_unregistered() {
        let e =
            validate_post_logout_redirect_uri("http://other.org", LOGOUT, &rules(), false, true)
                .unwrap_err();
        assert_eq!(e, PostLogoutUriError::NotRegistered);
        assert_eq!(
            e.to_string(),
            "This client does not have this redirect uri registered."
        );
    }

    #[test]
    fn post_logout_strict_http_needs_confidential() {
        let e =
            validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), true, false)
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "http is only allowed with confidential clients."
        );
        assert_eq!(
            validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), true, true),
            Ok(())
        );
        assert_eq!(
            validate_post_logout_redirect_uri(
                "https://rp.example.com/bye",
                LOGOUT,
                &rules(),
                true,
                false
            ),
            Ok(())
        );
    }

    #[test]
    fn post_logout_state_not_part_of_uri_match() {
        // The RP's post_logout_redirect_uri must match exactly; state is added by the server.
        assert_eq!(
            validate_post_logout_redirect_uri(
                "http://example.org?state=1",
                LOGOUT,
                &rules(),
                false,
                false
            ),
            Err(PostLogoutUriError::NotRegistered)
        );
    }

    // ----- hostile input ------------------------------------------------------------------

    fn hostile_inputs() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "#",
            "?",
            ":",
            "::",
            "//",
            "///",
            "[",
            "]",
            "[]",
            "@",
            "%",
            "%%",
            "%e",
            "*",
            "http:",
            "http://",
            "http://[",
            "http://]",
            "http://[::1",
            "http://[::1]x",
            "http://[::1]:",
            "http://[]/",
            "http://@",
            "http://:@:",
            "http://a@b@c/",
            "http://h:99999999999999999999999/",
            "http://h:-1/",
            "http://h:+80/",
            "\0",
            "http://\0/",
            "http://h/\0",
            "\u{0}:\u{0}",
            "é",
            "é:",
            "http://é.com/",
            "http://ex\u{301}ample.com/",
            "\u{1d518}\u{1d52b}:/x",
            "h\u{ff1a}//x",
            "https://*",
            "https://**",
            "https://*.",
            "https://*..",
            "https://*-",
            "https://*--",
            "https://*---",
            "https://.",
            "https://..",
            "http://1.2.3.4.",
            "http://[v1.x]/",
            "http://[::1%]/",
            "a:/",
            "a:",
            "a",
            "\u{feff}https://example.com",
            "https://example.com\u{2028}",
            "HTTP://[::1]:99999/",
            "\\\\",
            "http:\\\\x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push("a".repeat(10_000));
        v.push(format!("http://{}", "a".repeat(10_000)));
        v.push(format!("https://{}/", "a.".repeat(5_000)));
        v.push("a:".repeat(5_000));
        v.push("[".repeat(5_000));
        v.push(format!("https://*{}", ".a".repeat(3_000)));
        v.push("é".repeat(10_000));
        v.push("#".repeat(10_000));
        v
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let inputs = hostile_inputs();
        let rule_sets = [
            rules(),
            wild(),
            UriRules {
                allowed_schemes: vec!["a".into(), "http".into(), "https".into(), "é".into()],
                allow_wildcards: true,
                allow_localhost_loopback: true,
            },
        ];
        let schemes = ["https".to_owned(), "a".to_owned()];
        for r in &rule_sets {
            for a in &inputs {
                let _ = validate_redirect_uri(a, r);
                let _ = validate_origin(a, &schemes, r.allow_wildcards);
                let _ = default_redirect_uri(a);
                let _ = loggable_uri(a);
                let _ = validate_post_logout_redirect_uri(a, a, r, true, false);
                for b in inputs.iter().take(60) {
                    let _ = redirect_uri_matches(a, b, r);
                    let _ = redirect_uri_matches(b, a, r);
                    let _ = redirect_uri_allowed(a, b, r);
                    let _ = origin_allowed(a, b, &schemes, r.allow_wildcards);
                    let _ = origin_allowed(b, a, &schemes, r.allow_wildcards);
                }
            }
            let all = inputs.join(" ");
            let _ = validate_redirect_uris(&all, r);
            let _ = validate_origins(&all, &schemes, r.allow_wildcards);
            if let Err(errs) = check_redirect_uri_allowed("https://example.com/", &all, r) {
                let _ = format_mismatches(&errs);
            }
        }
    }

    #[test]
    fn hostile_inputs_are_rejected() {
        for a in hostile_inputs() {
            assert!(validate_redirect_uri(&a, &wild()).is_err(), "{a:?}");
            assert!(validate_origin(&a, &https(), true).is_err(), "{a:?}");
        }
    }

    #[test]
    fn hostile_error_messages_are_escaped() {
        for a in hostile_inputs() {
            if let Err(e) = validate_redirect_uri(&a, &rules()) {
                let msg = e.to_string();
                assert!(!msg.contains('\0') && !msg.contains('\n'), "{msg:?}");
                assert!(msg.chars().count() < 600, "{}", msg.len());
            }
        }
    }
}
