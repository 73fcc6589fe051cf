use super::*;

// ----- redirect_uri_allowed / DOT fixture --------------------------------------------

#[test]
fn fixture_accepts_registered() {
    for uri in FIXTURE.split_whitespace() {
        assert!(
            redirect_uri_allowed(uri, FIXTURE, &fixture_rules()),
            "{uri}"
        );
    }
}

#[test]
fn fixture_rejects_unregistered() {
    for uri in [
        "http://not-registered.example.org/cb",
        "http://forbidden.it",
        "/../",
        "http://example.com/a?foo=bar",
        "http://example.com?next=http://evil.example",
        "http://example.org?foo=baraa",
        "http://example.com?foo=bar&bar=baz",
        "http://example.org/not-the-one-used",
        "http://attacker.example/cb",
        "",
    ] {
        assert!(
            !redirect_uri_allowed(uri, FIXTURE, &fixture_rules()),
            "{uri}"
        );
    }
}

#[test]
fn fixture_reasons_per_candidate() {
    let errs = check_redirect_uri_allowed(
        "http://not-registered.example.org/cb",
        FIXTURE,
        &fixture_rules(),
    )
    .unwrap_err();
    assert_eq!(errs.len(), 7);
    assert!(errs.iter().all(|e| e.candidate.is_some()));
    assert!(errs
        .iter()
        .any(|e| e.reason == MismatchReason::HostnameDiffers));
    assert!(errs
        .iter()
        .any(|e| e.reason == MismatchReason::SchemeDiffers));
}

#[test]
fn allowed_requires_allowed_scheme() {
    // Matches the registration, but "ftp" is not an allowed redirect scheme.
    assert!(!redirect_uri_allowed(
        "ftp://files.example.com/cb",
        "ftp://files.example.com/cb",
        &rules()
    ));
    let errs = check_redirect_uri_allowed(
        "ftp://files.example.com/cb",
        "ftp://files.example.com/cb",
        &rules(),
    )
    .unwrap_err();
    assert_eq!(
        errs,
        vec![Mismatch {
            candidate: None,
            reason: MismatchReason::RequestedSchemeNotAllowed
        }]
    );
    assert!(!redirect_uri_allowed(
        "javascript:/x",
        "javascript:/x",
        &rules_with(&["javascript"])
    ));
}

#[test]
fn allowed_requested_level_reason_reported_once() {
    let errs =
        check_redirect_uri_allowed("http://example.com#x", FIXTURE, &fixture_rules()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].candidate, None);
    assert_eq!(errs[0].reason, MismatchReason::RequestedHasFragment);
}

#[test]
fn allowed_empty_registration() {
    assert!(!redirect_uri_allowed("http://example.com", "", &rules()));
    assert_eq!(
        check_redirect_uri_allowed("http://example.com", "  ", &rules()),
        Err(vec![])
    );
    assert_eq!(format_mismatches(&[]), "no URIs are registered");
}

#[test]
fn allowed_loopback_via_list() {
    assert!(redirect_uri_allowed(
        "http://127.0.0.1:49152/cb",
        "https://example.com/cb http://127.0.0.1/cb",
        &rules()
    ));
}

// ----- log formatting ----------------------------------------------------------------

#[test]
fn loggable_uri_escapes_and_truncates() {
    assert_eq!(loggable_uri("a\r\nb"), "\"a\\r\\nb\"");
    let long = "é".repeat(300);
    let s = loggable_uri(&long);
    assert!(s.ends_with("...[truncated]\""));
    assert_eq!(s.chars().filter(|&c| c == 'é').count(), 256);
    assert_eq!(
        loggable_uri(&"x".repeat(256)),
        format!("{:?}", "x".repeat(256))
    );
}

#[test]
fn format_mismatches_limits_candidates() {
    let list: Vec<String> = (0..13)
        .map(|i| format!("https://h{i}.example.com/"))
        .collect();
    let errs = check_redirect_uri_allowed("https://other.example.com/", &list.join(" "), &rules())
        .unwrap_err();
    let s = format_mismatches(&errs);
    assert!(s.contains("\"https://h9.example.com/\": hostname differs"));
    assert!(!s.contains("h10.example.com"));
    assert!(s.ends_with("; ...and 3 further registered URI(s) not listed"));
}

#[test]
fn format_mismatches_requested_level() {
    let s = format_mismatches(&[Mismatch {
        candidate: None,
        reason: MismatchReason::RequestedHasUserinfo,
    }]);
    assert_eq!(
        s,
        "the requested URI carries userinfo credentials in its authority"
    );
}

/// Minimal subscriber recording every event's level and message.
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Msg(String);
        impl tracing::field::Visit for Msg {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut msg = Msg(String::new());
        event.record(&mut msg);
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", event.metadata().level(), msg.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn captured_logs(f: impl FnOnce()) -> Vec<String> {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    tracing::subscriber::with_default(Capture(lines.clone()), f);
    let out = lines.lock().unwrap().clone();
    out
}

#[test]
fn mismatch_is_logged_at_debug_with_reasons() {
    let logs = captured_logs(|| {
        assert!(!redirect_uri_allowed(
            "http://not-registered.example.org/cb\r\nforged",
            "http://example.org custom-scheme://example.com",
            &fixture_rules(),
        ));
        assert!(!redirect_uri_allowed(
            "http://not-registered.example.org/cb",
            "http://example.org custom-scheme://example.com",
            &fixture_rules(),
        ));
    });
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().all(|l| l.starts_with("DEBUG ")));
    assert!(logs[0].contains("whitespace or control characters"));
    assert!(logs[0].contains("\\r\\n"), "{}", logs[0]);
    assert!(!logs[0].contains('\n'));
    assert!(logs[1].contains("\"http://example.org\": hostname differs"));
    assert!(logs[1].contains("\"custom-scheme://example.com\": scheme differs"));
}

#[test]
fn match_is_not_logged() {
    let logs = captured_logs(|| {
        assert!(redirect_uri_allowed(
            "http://example.org",
            FIXTURE,
            &fixture_rules()
        ));
    });
    assert!(logs.is_empty(), "{logs:?}");
}

// ----- default redirect URI ----------------------------------------------------------

#[test]
fn default_redirect_uri_single() {
    assert_eq!(
        default_redirect_uri("http://localhost"),
        Some("http://localhost")
    );
    assert_eq!(
        default_redirect_uri("  http://localhost\n"),
        Some("http://localhost")
    );
}

#[test]
fn default_redirect_uri_zero_or_several() {
    assert_eq!(default_redirect_uri(""), None);
    assert_eq!(default_redirect_uri(" \t\n"), None);
    assert_eq!(
        default_redirect_uri("http://a.example http://b.example"),
        None
    );
}

// ----- post-logout -------------------------------------------------------------------

const LOGOUT: &str = "http://example.org https://rp.example.com/bye";

#[test]
fn post_logout_accepts_registered() {
    assert_eq!(
        validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), false, false),
        Ok(())
    );
}

#[test]
fn post_logout_requires_scheme() {
    let e = validate_post_logout_redirect_uri("example.org", LOGOUT, &rules(), false, true)
        .unwrap_err();
    assert_eq!(e, PostLogoutUriError::MissingScheme);
    assert_eq!(e.to_string(), "A Scheme is required for the redirect URI.");
}

#[test]
fn post_logout_scheme_not_permitted() {
    let e = validate_post_logout_redirect_uri("imap://example.org", LOGOUT, &rules(), false, true)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Redirect to scheme \"imap\" is not permitted."
    );
}

#[test]
fn post_logout_unregistered() {
    let e = validate_post_logout_redirect_uri("http://other.org", LOGOUT, &rules(), false, true)
        .unwrap_err();
    assert_eq!(e, PostLogoutUriError::NotRegistered);
    assert_eq!(
        e.to_string(),
        "This client does not have this redirect uri registered."
    );
}

#[test]
fn post_logout_strict_http_needs_confidential() {
    let e = validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), true, false)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "http is only allowed with confidential clients."
    );
    assert_eq!(
        validate_post_logout_redirect_uri("http://example.org", LOGOUT, &rules(), true, true),
        Ok(())
    );
    assert_eq!(
        validate_post_logout_redirect_uri(
            "https://rp.example.com/bye",
            LOGOUT,
            &rules(),
            true,
            false
        ),
        Ok(())
    );
}

#[test]
fn post_logout_state_not_part_of_uri_match() {
    // The RP's post_logout_redirect_uri must match exactly; state is added by the server.
    assert_eq!(
        validate_post_logout_redirect_uri(
            "http://example.org?state=1",
            LOGOUT,
            &rules(),
            false,
            false
        ),
        Err(PostLogoutUriError::NotRegistered)
    );
}
