use super::*;

// ----- hostile input -----------------------------------------------------------------

fn hostile_inputs() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "#",
        "?",
        ":",
        "::",
        "//",
        "///",
        "[",
        "]",
        "[]",
        "@",
        "%",
        "%%",
        "%e",
        "*",
        "http:",
        "http://",
        "http://[",
        "http://]",
        "http://[::1",
        "http://[::1]x",
        "http://[::1]:",
        "http://[]/",
        "http://@",
        "http://:@:",
        "http://a@b@c/",
        "http://h:99999999999999999999999/",
        "http://h:-1/",
        "http://h:+80/",
        "\0",
        "http://\0/",
        "http://h/\0",
        "\u{0}:\u{0}",
        "é",
        "é:",
        "http://é.com/",
        "http://ex\u{301}ample.com/",
        "\u{1d518}\u{1d52b}:/x",
        "h\u{ff1a}//x",
        "https://*",
        "https://**",
        "https://*.",
        "https://*..",
        "https://*-",
        "https://*--",
        "https://*---",
        "https://.",
        "https://..",
        "http://1.2.3.4.",
        "http://[v1.x]/",
        "http://[::1%]/",
        "a:/",
        "a:",
        "a",
        "\u{feff}https://example.com",
        "https://example.com\u{2028}",
        "HTTP://[::1]:99999/",
        "\\\\",
        "http:\\\\x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(10_000));
    v.push(format!("http://{}", "a".repeat(10_000)));
    v.push(format!("https://{}/", "a.".repeat(5_000)));
    v.push("a:".repeat(5_000));
    v.push("[".repeat(5_000));
    v.push(format!("https://*{}", ".a".repeat(3_000)));
    v.push("é".repeat(10_000));
    v.push("#".repeat(10_000));
    v
}

#[test]
fn hostile_inputs_never_panic() {
    let inputs = hostile_inputs();
    let rule_sets = [
        rules(),
        wild(),
        UriRules {
            allowed_schemes: vec!["a".into(), "http".into(), "https".into(), "é".into()],
            allow_wildcards: true,
            allow_localhost_loopback: true,
        },
    ];
    let schemes = ["https".to_owned(), "a".to_owned()];
    for r in &rule_sets {
        for a in &inputs {
            let _ = validate_redirect_uri(a, r);
            let _ = validate_origin(a, &schemes, r.allow_wildcards);
            let _ = default_redirect_uri(a);
            let _ = loggable_uri(a);
            let _ = validate_post_logout_redirect_uri(a, a, r, true, false);
            for b in inputs.iter().take(60) {
                let _ = redirect_uri_matches(a, b, r);
                let _ = redirect_uri_matches(b, a, r);
                let _ = redirect_uri_allowed(a, b, r);
                let _ = origin_allowed(a, b, &schemes, r.allow_wildcards);
                let _ = origin_allowed(b, a, &schemes, r.allow_wildcards);
            }
        }
        let all = inputs.join(" ");
        let _ = validate_redirect_uris(&all, r);
        let _ = validate_origins(&all, &schemes, r.allow_wildcards);
        if let Err(errs) = check_redirect_uri_allowed("https://example.com/", &all, r) {
            let _ = format_mismatches(&errs);
        }
    }
}

#[test]
fn hostile_inputs_are_rejected() {
    for a in hostile_inputs() {
        assert!(validate_redirect_uri(&a, &wild()).is_err(), "{a:?}");
        assert!(validate_origin(&a, &https(), true).is_err(), "{a:?}");
    }
}

#[test]
fn hostile_error_messages_are_escaped() {
    for a in hostile_inputs() {
        if let Err(e) = validate_redirect_uri(&a, &rules()) {
            let msg = e.to_string();
            assert!(!msg.contains('\0') && !msg.contains('\n'), "{msg:?}");
            assert!(msg.chars().count() < 600, "{}", msg.len());
        }
    }
}
