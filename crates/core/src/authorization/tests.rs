//! The request types, parsing and locations.

use super::*;

#[test]
fn response_types_parse_as_sets() {
    assert_eq!(ResponseType::parse("code"), Some(ResponseType::Code));
    assert_eq!(ResponseType::parse("token"), Some(ResponseType::Token));
    assert_eq!(
        ResponseType::parse("token id_token"),
        Some(ResponseType::IdTokenToken)
    );
    assert_eq!(
        ResponseType::parse("id_token  code"),
        Some(ResponseType::CodeIdToken)
    );
    assert_eq!(ResponseType::parse("code code"), None);
    assert_eq!(ResponseType::parse("WRONG"), None);
    assert_eq!(ResponseType::parse(""), None);
    assert_eq!(ResponseType::parse("none"), None);
    assert_eq!(ResponseType::Code.default_mode(), ResponseMode::Query);
    assert_eq!(ResponseType::Token.default_mode(), ResponseMode::Fragment);
    assert_eq!(
        ResponseMode::choose(ResponseType::Token, Some("query")),
        ResponseMode::Fragment
    );
    assert_eq!(
        ResponseMode::choose(ResponseType::Code, Some("fragment")),
        ResponseMode::Fragment
    );
    assert_eq!(
        ResponseMode::choose(ResponseType::CodeIdToken, Some("query")),
        ResponseMode::Fragment
    );
    for rt in [
        ResponseType::Code,
        ResponseType::CodeIdToken,
        ResponseType::Token,
    ] {
        assert_eq!(
            ResponseMode::choose(rt, Some("form_post")),
            ResponseMode::FormPost
        );
    }
    let r = ClientResponse::new("http://x/cb", ResponseMode::FormPost, &[("code", "c")]);
    assert_eq!(r.location(), None);
}

#[test]
fn locations_keep_registered_query() {
    let p = [("error", "access_denied"), ("state", "a b&c")];
    assert_eq!(
        redirect_location("http://example.com?foo=bar", ResponseMode::Query, &p),
        "http://example.com?foo=bar&error=access_denied&state=a+b%26c"
    );
    assert_eq!(
        redirect_location("http://example.org", ResponseMode::Query, &p),
        "http://example.org?error=access_denied&state=a+b%26c"
    );
    assert_eq!(
        redirect_location("http://example.org/cb?", ResponseMode::Query, &p[..1]),
        "http://example.org/cb?error=access_denied"
    );
    assert_eq!(
        redirect_location("http://example.org?x=1", ResponseMode::Fragment, &p[..1]),
        "http://example.org?x=1#error=access_denied"
    );
}

#[test]
fn prompt_sets() {
    let p = Prompt::parse("login  consent bogus");
    assert!(p.login && p.consent && !p.none);
    assert!(Prompt::parse("none").none);
    assert!(!Prompt::parse("none").others_than_none());
}

#[test]
fn absolute_uris() {
    assert!(is_absolute_uri("http://x"));
    assert!(is_absolute_uri("com.example.app:/cb"));
    assert!(!is_absolute_uri("/../"));
    assert!(!is_absolute_uri("1http://x"));
    assert!(!is_absolute_uri(""));
}
