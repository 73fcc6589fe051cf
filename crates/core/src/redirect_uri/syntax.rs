//! Character, scheme, host and port rules shared by registration and matching.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{FORBIDDEN_SCHEMES, SCHEMES_REQUIRING_AUTHORITY};

pub(super) fn scheme_in(scheme: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|s| s.eq_ignore_ascii_case(scheme))
}

pub(super) fn is_forbidden_scheme(scheme: &str) -> bool {
    FORBIDDEN_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

pub(super) fn requires_authority(scheme: &str) -> bool {
    SCHEMES_REQUIRING_AUTHORITY
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

pub(super) fn is_uri_char(c: char) -> bool {
    // RFC 3986 §2: unreserved, reserved (gen-delims and sub-delims) and '%'.
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

pub(super) fn has_control_or_whitespace(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Checks a DNS name: labels of ASCII letters, digits and hyphens, 1–63 characters, not
/// starting or ending with a hyphen, at most 253 characters in all, one optional trailing dot.
/// The last label must not look numeric (WHATWG would parse the whole host as IPv4).
pub(super) fn check_dns_name(host: &str) -> Result<(), &'static str> {
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
pub(super) fn check_host(host: &str) -> Result<(), &'static str> {
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

pub(super) fn check_port(port: &str) -> bool {
    (2..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
}
