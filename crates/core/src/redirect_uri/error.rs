//! Error and mismatch types of the redirect URI rules.

use std::fmt;

use super::log::shown;

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
/// [`MAX_LOGGED_URI_LENGTH`](super::MAX_LOGGED_URI_LENGTH) characters); [`UriError::code`] is
/// DOT's short cause and [`UriError::dot_message`] DOT's full message format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The value is empty or only whitespace.
    #[error("{kind} is empty")]
    Empty {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// Longer than [`MAX_URI_LENGTH`](super::MAX_URI_LENGTH) characters.
    #[error("{kind} {} is too long ({len} characters, at most {max})", shown(.uri))]
    TooLong {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// Its length in characters.
        len: usize,
        /// The most characters allowed.
        max: usize,
    },
    /// No (syntactically valid) scheme.
    #[error("{kind} {} has no scheme (expected an absolute URI such as \"https://example.com/cb\")", shown(.uri))]
    MissingScheme {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// The scheme is not in the allowed list.
    #[error("invalid scheme {} in {kind} {} (allowed: {})", shown(.scheme), shown(.uri), .allowed.join(", "))]
    InvalidScheme {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// The scheme, lower-cased.
        scheme: String,
        /// The schemes that are allowed.
        allowed: Vec<String>,
    },
    /// `javascript:`, `data:` or `vbscript:`, refused even when configured as allowed.
    #[error("scheme {scheme:?} in {kind} {} is never allowed (it can run script)", shown(.uri))]
    ForbiddenScheme {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// The scheme, lower-cased.
        scheme: String,
    },
    /// A character that RFC 3986 does not allow anywhere in a URI, or a `[` or `]` outside an
    /// IP-literal host.
    #[error("{kind} {} contains the character {ch:?} at byte offset {offset}, which is not allowed there in a URI", shown(.uri))]
    InvalidCharacter {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// The character that is not allowed there.
        ch: char,
        /// Byte offset of the character in `uri`.
        offset: usize,
    },
    /// A `%` not followed by two hexadecimal digits.
    #[error("{kind} {} has an invalid percent-encoding at byte offset {offset}", shown(.uri))]
    InvalidPercentEncoding {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// Byte offset of the `%` in `uri`.
        offset: usize,
    },
    /// A `#` (even a bare trailing one); RFC 6749 §3.1.2 forbids fragments.
    #[error("{kind} {} must not contain a fragment ('#')", shown(.uri))]
    FragmentNotAllowed {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// A `?` in an origin.
    #[error("{kind} {} must not contain a query string ('?')", shown(.uri))]
    QueryNotAllowed {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// A path (even `/`) in an origin.
    #[error("{kind} {} must not contain a path (not even \"/\")", shown(.uri))]
    PathNotAllowed {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// `user[:password]@` in the authority.
    #[error("{kind} {} must not contain userinfo credentials ('user@')", shown(.uri))]
    UserinfoNotAllowed {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// No host where one is required (`https:/x`, `https:///x`, `https://`).
    #[error("{kind} {} has no host", shown(.uri))]
    MissingHost {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// A private-use scheme URI not of the form `scheme:/path` (RFC 8252 §7.1).
    #[error("{kind} {} is not a valid private-use scheme URI: {reason}", shown(.uri))]
    InvalidPrivateUseUri {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// What is wrong with its form.
        reason: &'static str,
    },
    /// The host is not a DNS name, an IPv4 address or a bracketed IPv6 address.
    #[error("invalid host {} in {kind} {}: {reason}", shown(.host), shown(.uri))]
    InvalidHost {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// The host (or authority) as written.
        host: String,
        /// Why the host is not valid.
        reason: &'static str,
    },
    /// The port is not 2 to 5 digits, or is outside 1..=65535.
    #[error("invalid port {} in {kind} {} (expected 2 to 5 digits, 1-65535)", shown(.port), shown(.uri))]
    InvalidPort {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
        /// The port as written, after the `:`.
        port: String,
    },
    /// A `*` in the host while `ALLOW_URI_WILDCARDS` is off.
    #[error("{kind} {} contains a wildcard but ALLOW_URI_WILDCARDS is disabled", shown(.uri))]
    WildcardNotAllowed {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// More than one `*` in the host.
    #[error("only one wildcard is allowed in the hostname of {kind} {}", shown(.uri))]
    MultipleWildcards {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// A `*` elsewhere than at the start of the host.
    #[error("the wildcard must be at the beginning of the hostname of {kind} {}", shown(.uri))]
    WildcardNotAtStart {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
    /// A wildcard host with fewer than three labels (`*.com`, `*`).
    #[error("wildcards cannot be in the top level or second level domain of {kind} {}", shown(.uri))]
    WildcardTooBroad {
        /// Whether the entry is a redirect URI or an origin.
        kind: UriKind,
        /// The rejected entry, unabridged.
        uri: String,
    },
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

/// Why a requested redirect URI does not match a registered one (request time).
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
    /// The requested URI does not parse: a `[` or `]` outside an IP-literal host, a malformed
    /// IP literal, an `@` in the host, or a non-numeric/out-of-range port.
    #[error("the requested URI cannot be parsed (bad brackets, host or port)")]
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

/// One entry of the mismatch report of
/// [`check_redirect_uri_allowed`](super::check_redirect_uri_allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The registered URI that failed to match, or `None` when the requested URI itself was
    /// rejected before any comparison.
    pub candidate: Option<String>,
    /// Why.
    pub reason: MismatchReason,
}

/// Errors of [`validate_post_logout_redirect_uri`](super::validate_post_logout_redirect_uri).
/// `Display` is DOT's exact `error_description`; all are `400 invalid_request`.
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
