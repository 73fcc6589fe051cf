//! Errors: fatal ones as pages, the others redirected to the client; redirect URI rules;
//! hostile parameters.

use oauth_toolkit_core::pkce::s256_challenge;

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

backends!(
    fatal_errors_are_pages_without_location,
    loopback_ports_and_private_use_schemes,
    request_errors_redirect_to_the_client,
    hostile_parameters_never_fail,
);

/// Errors about the client or its redirect URI are a 400 page,
/// never a redirect, and never show the registered URIs.
async fn fatal_errors_are_pages_without_location(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let (cc, _) = create_app(&env, "confidential", "client-credentials", &[]);
    let b = Browser::new(&server.base);
    b.login().await;

    // 3
    let p = b
        .get(&authorize_url(&[
            ("client_id", "fakeclientid"),
            ("response_type", "code"),
        ]))
        .await;
    p.assert_fatal("Invalid client_id parameter value.");
    assert!(p.body.contains("Error: invalid_request"));
    // 4
    b.get(&authorize_url(&params(
        &a,
        &[("redirect_uri", "http://not-registered.example.org/cb")],
    )))
    .await
    .assert_fatal("Mismatching redirect URI.");
    // 5
    b.get(&authorize_url(&[
        ("client_id", &cc),
        ("response_type", "code"),
    ]))
    .await
    .assert_fatal("Missing redirect URI.");
    // 7
    b.get(&authorize_url(&[
        ("client_id", &a),
        ("response_type", "code"),
    ]))
    .await
    .assert_fatal("Missing redirect URI.");
    // 8
    b.get(&authorize_url(&params(
        &a,
        &[("redirect_uri", "http://forbidden.it")],
    )))
    .await
    .assert_fatal("Mismatching redirect URI.");
    // 9
    b.get(&authorize_url(&params(
        &a,
        &[(
            "redirect_uri",
            "http://example.com?next=http://evil.example",
        )],
    )))
    .await
    .assert_fatal("Mismatching redirect URI.");
    let ok = b
        .get(&authorize_url(&params(
            &a,
            &[("redirect_uri", "http://example.com?foo=bar")],
        )))
        .await;
    assert_eq!(ok.status, 200);
    // Missing client_id, relative redirect URI, duplicated parameters.
    b.get(&authorize_url(&[("response_type", "code")]))
        .await
        .assert_fatal("Missing client_id parameter.");
    b.get(&authorize_url(&params(&a, &[("redirect_uri", "/../")])))
        .await
        .assert_fatal("Invalid redirect URI.");
    for dup in [
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
    ] {
        let mut pairs = params(&a, &[]);
        let value = pairs.iter().find(|(k, _)| *k == dup).unwrap().1;
        pairs.push((dup, value));
        b.get(&authorize_url(&pairs))
            .await
            .assert_fatal(&format!("Duplicate {dup} parameter."));
    }

    // The consent POST is validated again.
    for (key, value, description) in [
        (
            "redirect_uri",
            "http://forbidden.it",
            "Mismatching redirect URI.",
        ),
        ("redirect_uri", "/../", "Invalid redirect URI."),
        (
            "redirect_uri",
            "http://example.com/a?foo=bar",
            "Mismatching redirect URI.",
        ),
        (
            "client_id",
            "unknown-client",
            "Invalid client_id parameter value.",
        ),
    ] {
        let form = params(&a, &[(key, value), ("allow", "True")]);
        b.consent(&form).await.assert_fatal(description);
    }
    assert_eq!(grants(&env).await, 0);
    server.terminate();
}

/// RFC 8252 §7.3 loopback port rule and private-use schemes (§4.2).
async fn loopback_ports_and_private_use_schemes(env: Env) {
    env.create_user("test_user", "123456");
    let schemes = "http,custom-scheme,com.example.app";
    let (l, _) = create_app_schemes(
        &env,
        schemes,
        "public",
        "authorization-code",
        &[
            "--redirect-uris",
            "http://127.0.0.1/cb http://[::1]/cb http://localhost/cb com.example.app:/oauth",
        ],
    );
    let server = Server::start(&env, &settings(&[(SCHEMES_VAR, schemes)]));
    let b = Browser::new(&server.base);
    b.login().await;
    for (uri, allowed) in [
        ("http://127.0.0.1:54321/cb", true),
        ("http://127.0.0.1/cb", true),
        ("http://[::1]:8080/cb", true),
        ("http://localhost/cb", true),
        ("http://localhost:8080/cb", false),
        ("http://127.0.0.1:54321/other", false),
        ("https://127.0.0.1:54321/cb", false),
        ("com.example.app:/oauth", true),
        ("com.example.app://oauth", false),
    ] {
        let p = b
            .get(&authorize_url(&params(&l, &[("redirect_uri", uri)])))
            .await;
        if allowed {
            assert_eq!(p.status, 200, "{uri}: {}", p.body);
            assert_eq!(p.hidden("redirect_uri").as_deref(), Some(uri));
        } else {
            p.assert_fatal("Mismatching redirect URI.");
        }
    }
    let p = b
        .consent(&params(
            &l,
            &[
                ("redirect_uri", "http://127.0.0.1:54321/cb"),
                ("allow", "Authorize"),
            ],
        ))
        .await;
    assert!(
        p.loc().starts_with("http://127.0.0.1:54321/cb?code="),
        "{}",
        p.loc()
    );
    let p = b
        .consent(&params(
            &l,
            &[
                ("redirect_uri", "com.example.app:/oauth"),
                ("allow", "Authorize"),
            ],
        ))
        .await;
    assert!(
        p.loc().starts_with("com.example.app:/oauth?code="),
        "{}",
        p.loc()
    );
    server.terminate();
}

/// Errors (and RFC 7636 syntax) after the redirect URI is trusted go
/// to the client, with `state`.
async fn request_errors_redirect_to_the_client(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let (p_app, _) = create_app(
        &env,
        "public",
        "authorization-code",
        &[
            "--redirect-uris",
            "http://example.org",
            "--skip-authorization",
        ],
    );
    let b = Browser::new(&server.base);
    b.login().await;

    // 10
    let loc = redirect_of(&b, params(&a, &[("response_type", "WRONG")])).await;
    assert!(loc.starts_with("http://example.org?"), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["error"], "unsupported_response_type");
    assert_eq!(q["state"], STATE);
    // Missing response_type.
    let mut pairs = params(&a, &[]);
    pairs.retain(|(k, _)| *k != "response_type");
    let q = query_of(&redirect_of(&b, pairs).await);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["error_description"], "Missing response_type parameter.");
    // A response type the client may not use; errors of token types go in the fragment.
    let loc = redirect_of(&b, params(&a, &[("response_type", "token")])).await;
    assert!(loc.starts_with("http://example.org#"), "{loc}");
    let f = fragment_of(&loc);
    assert_eq!(f["error"], "unauthorized_client");
    assert_eq!(f["state"], STATE);
    // OpenID Connect response types do not exist while OIDC is off.
    let f = fragment_of(&redirect_of(&b, params(&a, &[("response_type", "code id_token")])).await);
    assert_eq!(f["error"], "unsupported_response_type");
    // Unknown scope.
    let q = query_of(&redirect_of(&b, params(&a, &[("scope", "read nuke")])).await);
    assert_eq!(q["error"], "invalid_scope");
    assert_eq!(q["state"], STATE);
    // 27
    let challenge = s256_challenge(&"v".repeat(64));
    let q = query_of(
        &redirect_of(
            &b,
            params(
                &p_app,
                &[
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "invalid"),
                ],
            ),
        )
        .await,
    );
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["error_description"], "Transform algorithm not supported.");
    // RFC 7636 §4.2 syntax.
    for bad in ["short", &"a".repeat(129), &format!("{}+/", "a".repeat(43))] {
        let q = query_of(
            &redirect_of(
                &b,
                params(
                    &a,
                    &[("code_challenge", bad), ("code_challenge_method", "S256")],
                ),
            )
            .await,
        );
        assert_eq!(q["error"], "invalid_request", "{bad}");
    }
    // A parameter repeated after the redirect URI is trusted.
    let mut pairs = params(&a, &[("code_challenge", &challenge)]);
    pairs.push(("code_challenge", &challenge));
    let q = query_of(&redirect_of(&b, pairs).await);
    assert_eq!(
        q["error_description"],
        "Duplicate code_challenge parameter."
    );
    // 28
    let p = b
        .get(&authorize_url(&params(
            &a,
            &[("code_challenge", &challenge)],
        )))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.hidden("code_challenge_method").as_deref(), Some("plain"));
    // 29
    let p = b
        .get(&authorize_url(&params(
            &a,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body.matches("value=\"S256\"").count(), 1);
    assert_eq!(p.body.matches(&format!("value=\"{challenge}\"")).count(), 1);
    // The same checks on the consent POST.
    let loc = b
        .consent(&params(
            &a,
            &[("response_type", "UNKNOWN"), ("allow", "True")],
        ))
        .await
        .loc();
    assert!(loc.starts_with("http://example.org?error"), "{loc}");

    // With PKCE required and RFC 9700 PKCE methods (a second process).
    let strict = Server::start(
        &env,
        &settings(&[
            ("OAUTH_TOOLKIT_PKCE_REQUIRED", "true"),
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_PKCE_METHOD", "true"),
        ]),
    );
    let s = b.on(&strict.base);
    let p = s
        .get(&authorize_url(&params(
            &p_app,
            &[("code_challenge_method", "S256")],
        )))
        .await;
    let q = query_of(&p.loc());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["error_description"], "Code challenge required.");
    let p = s
        .get(&authorize_url(&params(
            &p_app,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
        )))
        .await;
    let loc = p.loc();
    assert!(
        query_of(&loc).contains_key("error") && !loc.contains("code="),
        "{loc}"
    );
    let p = s
        .get(&authorize_url(&params(
            &p_app,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )))
        .await;
    assert!(query_of(&p.loc()).contains_key("code"), "{}", p.loc());
    strict.terminate();
    assert_eq!(grants(&env).await, 1);
    server.terminate();
}

/// GET an authorization URL that must redirect; the Location.
async fn redirect_of(b: &Browser, pairs: Vec<(&str, &str)>) -> String {
    let p = b.get(&authorize_url(&pairs)).await;
    assert_eq!(p.status, 302, "{}", p.body);
    p.loc()
}

/// Hostile parameters (NUL bytes, 10,000-character values, duplicates, invalid UTF-8) get a
/// 400 page or an RFC error redirect to the registered URI; never a server error.
async fn hostile_parameters_never_fail(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    let anon = Browser::new(&server.base);
    b.login().await;
    let long = "x".repeat(10_000);
    let base =
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org&state=s");
    let cases: Vec<String> = vec![
        format!("client_id=%00&response_type=code"),
        format!("client_id={a}%00&response_type=code"),
        format!("client_id={long}&response_type=code"),
        format!("client_id=%FF%FE&response_type=code"),
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org%00"),
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org%2F%FF"),
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org%2F{long}"),
        format!("{base}&scope=read%00"),
        format!("{base}&scope={long}"),
        format!("{base}&response_type=code"),
        format!("{base}&scope=read&scope=write"),
        format!("{base}&code_challenge=%00{long}"),
        format!("{base}&code_challenge_method=%FF"),
        format!("{base}&nonce=%00"),
        format!("{base}&nonce={long}"),
        format!("{base}&claims=%7B"),
        format!("{base}&prompt=%00"),
        format!("{base}&prompt=none&prompt=login"),
        format!("{base}&approval_prompt=%FF"),
        format!("{base}&response_mode=%00"),
        format!("{base}%00=%00&%FF"),
        format!("client_id={a}&response_type=%00&redirect_uri=http%3A%2F%2Fexample.org"),
        format!("client_id={a}&response_type={long}&redirect_uri=http%3A%2F%2Fexample.org"),
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org&state={long}"),
        format!("client_id={a}&response_type=code&redirect_uri=http%3A%2F%2Fexample.org&state=%00%FF%0D%0ASet-Cookie:x"),
        "%".to_string(),
        "=&&==".to_string(),
    ];
    for query in &cases {
        let url = format!("{AUTHORIZE}?{query}");
        for who in [&b, &anon] {
            let p = who.get(&url).await;
            match p.status {
                400 => assert!(p.location().is_none()),
                302 => {
                    let loc = p.loc();
                    assert!(
                        loc.starts_with("http://example.org?")
                            || loc.starts_with("/accounts/login/?"),
                        "{query}: {loc}"
                    );
                    assert!(!loc.contains('\r') && !loc.contains('\n'));
                }
                200 => assert!(p.body.contains("authorizationForm")),
                other => panic!("{query}: status {other}"),
            }
        }
        // The same as a consent POST (allowed), with the session's token.
        let csrf = b.csrf().await;
        let mut body = format!("csrfmiddlewaretoken={csrf}&allow=True&{query}").into_bytes();
        body.extend_from_slice(b"&x=\xff\x00");
        let p = b.post_raw(AUTHORIZE, body).await;
        match p.status {
            400 => assert!(p.location().is_none()),
            302 => assert!(
                p.loc().starts_with("http://example.org?"),
                "{query}: {}",
                p.loc()
            ),
            other => panic!("POST {query}: status {other}"),
        }
    }
    // A long state survives the round trip.
    let csrf = b.csrf().await;
    let p = b
        .post(
            AUTHORIZE,
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("client_id", &a),
                ("response_type", "code"),
                ("redirect_uri", "http://example.org"),
                ("state", &long),
                ("allow", "True"),
            ],
        )
        .await;
    assert_eq!(query_of(&p.loc())["state"], long);
    // The login page with hostile `next`.
    for next in ["%00", &long, "%FF%FE", "%0D%0ALocation:%20http://evil"] {
        let p = anon.get(&format!("/accounts/login/?next={next}")).await;
        assert_eq!(p.status, 200);
    }
    assert_eq!(anon.get("/health").await.status, 200);
    server.terminate();
}
