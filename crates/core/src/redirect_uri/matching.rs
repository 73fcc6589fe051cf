//! Request-time matching of a requested redirect URI against the registered ones.

use super::error::{Mismatch, MismatchReason, PostLogoutUriError};
use super::log::allowed_and_logged;
use super::parse::{is_scheme, split_uri, ParsedUri};
use super::syntax::{check_dns_name, has_control_or_whitespace, is_forbidden_scheme, scheme_in};
use super::UriRules;

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

/// Request-time exact matching (RFC 9700 §2.1) of `requested` against ONE registered URI.
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

/// True if `requested` matches one of the whitespace-separated `registered_list` URIs
/// ([`redirect_uri_matches`]) and its scheme is in `rules.allowed_schemes`. On failure the
/// reason for each candidate is logged at DEBUG (URIs escaped, truncated to 256 characters,
/// at most 10 candidates); it must never be returned to the client.
pub fn redirect_uri_allowed(requested: &str, registered_list: &str, rules: &UriRules) -> bool {
    allowed_and_logged("redirect_uri", requested, registered_list, rules)
}

/// The single registered URI, or `None` when zero or several are registered
/// (the caller then answers `invalid_request` "Missing redirect URI.").
pub fn default_redirect_uri(registered_list: &str) -> Option<&str> {
    let mut uris = registered_list.split_whitespace();
    match (uris.next(), uris.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Checks a `post_logout_redirect_uri`, in DOT's order: it has a scheme; with
/// `strict_redirect_uris` (`OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS`) it is not `http`
/// unless the client is confidential; its scheme is in `rules.allowed_schemes`; it matches one
/// of `registered_list` (the client's `post_logout_redirect_uris`) as [`redirect_uri_matches`]
/// does (mismatch reasons are logged at DEBUG). Identifying the client is the caller's job.
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
