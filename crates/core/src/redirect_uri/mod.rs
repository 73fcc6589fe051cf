//! Redirect URI and CORS origin rules.
//!
//! This module implements the URI rules of django-oauth-toolkit (DOT) 3.4.x:
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
//! URIs are split into RFC 3986's components
//! (`scheme ":" ["//" authority] path ["?" query] ["#" fragment]`) by the `iri-string` crate
//! (see `parse`) and compared as raw strings: only the scheme and the hostname are lower-cased,
//! nothing is percent-decoded and query strings are compared byte for byte. The rules on top of
//! RFC 3986 (hosts, ports, wildcards, schemes) are ours (`syntax`, `register`, `matching`,
//! `origin`). Every function is total: hostile input (empty, NUL bytes, non-ASCII, very long
//! strings) yields an error or `false`, never a panic.
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
//! * `[` and `]` only around an IPv6 host, as RFC 3986 says: in a path or a query they must be
//!   percent-encoded (`?a%5B%5D=1`, not `?a[]=1`);
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
//!   `urlsplit` silently deletes tabs and newlines before comparing), nor does one with `[` or
//!   `]` outside an IPv6 host;
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
//!   gap where wildcard origins could be stored but never matched.
//!
//! The token endpoint's check of `redirect_uri` against the URI stored on the grant is plain
//! string equality and does not belong here.

mod error;
mod log;
mod matching;
mod origin;
mod parse;
mod register;
mod syntax;

pub use error::{Mismatch, MismatchReason, PostLogoutUriError, UriError, UriKind};
pub use log::{format_mismatches, loggable_uri};
pub use matching::{
    check_redirect_uri_allowed, default_redirect_uri, redirect_uri_allowed, redirect_uri_matches,
    validate_post_logout_redirect_uri,
};
pub use origin::origin_allowed;
pub use register::{
    validate_origin, validate_origins, validate_redirect_uri, validate_redirect_uris,
};

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
