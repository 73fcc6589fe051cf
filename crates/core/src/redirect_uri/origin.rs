//! CORS origin matching.

use super::parse::split_uri;
use super::syntax::{check_dns_name, check_host, has_control_or_whitespace, scheme_in};

/// Origin matching for the token endpoint's `Access-Control-Allow-Origin`.
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
/// a gap of DOT's: DOT lets such entries be stored but compares netlocs exactly, so they
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
