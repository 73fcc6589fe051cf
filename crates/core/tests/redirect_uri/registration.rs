use super::*;

// ----- registration: scheme ----------------------------------------------------------

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

// ----- registration: query / fragment ------------------------------------------------

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

// ----- registration: private-use schemes (RFC 8252 §7.1) -----------------------------

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

// ----- registration: host ------------------------------------------------------------

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

// ----- registration: port ------------------------------------------------------------

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

// ----- registration: characters and length -------------------------------------------

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
fn reg_rejects_brackets_outside_the_host() {
    let r = rules_with(&["https", "com.example.app"]);
    for (uri, offset) in [
        ("https://example.com/cb?a[]=1", 24),
        ("https://example.com/[x]", 20),
        ("com.example.app:/cb]", 19),
    ] {
        match bad(uri, &r) {
            UriError::InvalidCharacter { offset: o, ch, .. } => {
                assert_eq!(o, offset, "{uri}");
                assert!(ch == '[' || ch == ']', "{uri}");
            }
            e => panic!("{uri}: {e}"),
        }
    }
    ok("https://example.com/cb?a%5B%5D=1", &r);
}

#[test]
fn reg_structure_errors_name_the_component() {
    assert!(matches!(
        bad("https://a@b@example.com/cb", &rules()),
        UriError::UserinfoNotAllowed { .. }
    ));
    assert!(matches!(
        bad("http://[zz::1]/cb", &rules()),
        UriError::InvalidHost {
            reason: "invalid IPv6 address",
            ..
        }
    ));
    assert!(matches!(
        bad("http://[::1]x/cb", &rules()),
        UriError::InvalidHost { .. }
    ));
    match bad("https://example.com:8a/cb", &rules()) {
        UriError::InvalidPort { port, .. } => assert_eq!(port, "8a"),
        e => panic!("{e}"),
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

// ----- registration: wildcards -------------------------------------------------------

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

// ----- registration: lists ------------------------------------------------------------

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
