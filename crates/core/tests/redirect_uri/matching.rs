use super::*;

// ----- matching ----------------------------------------------------------------------

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
fn match_brackets_outside_the_host_never_match() {
    assert_eq!(
        m(
            "https://example.com/cb?a[]=1",
            "https://example.com/cb?a[]=1"
        ),
        Err(MismatchReason::RequestedMalformed)
    );
    assert_eq!(
        m("https://example.com/cb?a=1", "https://example.com/cb?a[]=1"),
        Err(MismatchReason::RegisteredMalformed)
    );
    assert_eq!(
        m(
            "https://example.com/cb?a%5B%5D=1",
            "https://example.com/cb?a%5B%5D=1"
        ),
        Ok(())
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
