//! The redirect URI and CORS origin rules, through the public API of
//! `oauth_toolkit_core::redirect_uri`.

use oauth_toolkit_core::redirect_uri::*;

mod allowed;
mod hostile;
mod matching;
mod origins;
mod registration;

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

const FIXTURE: &str = "http://localhost http://example.com http://example.org \
    custom-scheme://example.com http://example.com?foo=bar http://example.org?foo=bar \
    http://example.com?bar=baz&foo=bar";

fn fixture_rules() -> UriRules {
    rules_with(&["http", "custom-scheme"])
}
