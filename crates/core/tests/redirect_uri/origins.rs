use super::*;

// ----- origin validation -------------------------------------------------------------

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

// ----- origin matching ---------------------------------------------------------------

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
