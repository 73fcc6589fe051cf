//! The consent page, skipping it, and the decision.

use crate::common::http_browser::{escape, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    consent_page_shows_the_request,
    skip_authorization_issues_immediately,
    approval_prompt_auto_and_force,
    consent_decisions_redirect_to_the_client,
);

/// The consent page and its hidden fields.
async fn consent_page_shows_the_request(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let p = b.get(&authorize_url(&params(&a, &[]))).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        p.hidden("redirect_uri").as_deref(),
        Some("http://example.org")
    );
    assert_eq!(p.hidden("state").as_deref(), Some(STATE));
    assert_eq!(p.hidden("scope").as_deref(), Some("read write"));
    assert_eq!(p.hidden("client_id").as_deref(), Some(a.as_str()));
    assert_eq!(p.hidden("response_type").as_deref(), Some("code"));
    assert!(p.body.contains("Authorize App A?"), "{}", p.body);
    assert!(p.body.contains("Reading scope") && p.body.contains("Writing scope"));
    assert!(p.body.contains("name=\"allow\" value=\"Authorize\""));
    assert!(p
        .body
        .contains(&format!("action=\"{}\"", escape(AUTHORIZE))));
    assert_eq!(p.header("x-frame-options"), Some("DENY"));
    assert_eq!(p.header("cache-control"), Some("no-store"));
    // No other registered URI shows.
    assert!(!p.body.contains("example.com"));

    // A private-use scheme.
    let p = b
        .get(&authorize_url(&params(
            &a,
            &[("redirect_uri", "custom-scheme://example.com")],
        )))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(
        p.hidden("redirect_uri").as_deref(),
        Some("custom-scheme://example.com")
    );

    // 6: the single registered URI is the default.
    let (single, _) = create_app(
        &env,
        "confidential",
        "authorization-code",
        &["--redirect-uris", "http://localhost"],
    );
    let p = b
        .get(&authorize_url(&[
            ("client_id", &single),
            ("response_type", "code"),
        ]))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    // The request had no redirect_uri, and the form keeps it so (the decision then uses the
    // default again, and the token request may omit it: RFC 6749 §4.1.3). DOT fills it in.
    assert_eq!(p.hidden("redirect_uri").as_deref(), Some(""));
    assert_eq!(p.hidden("scope").as_deref(), Some("read write"));
    assert_eq!(p.hidden("state").as_deref(), Some(""));

    // Default scopes (a second process, same database and session).
    let other = Server::start(&env, &settings(&[("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read")]));
    let p = b
        .on(&other.base)
        .get(&authorize_url(&[
            ("client_id", &a),
            ("response_type", "code"),
            ("redirect_uri", "http://example.org"),
        ]))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.hidden("scope").as_deref(), Some("read"));
    other.terminate();
    server.terminate();
}

/// `skip_authorization` issues at once (also with `prompt=none`).
async fn skip_authorization_issues_immediately(env: Env) {
    env.create_user("test_user", "123456");
    let (s, _) = create_app(
        &env,
        "confidential",
        "authorization-code",
        &[
            "--redirect-uris",
            "http://example.org",
            "--skip-authorization",
        ],
    );
    let server = Server::start(&env, &settings(&[]));
    let b = Browser::new(&server.base);
    b.login().await;
    for extra in [vec![], vec![("prompt", "none")]] {
        let p = b.get(&authorize_url(&params(&s, &extra))).await;
        assert_eq!(p.status, 302, "{}", p.body);
        let loc = p.loc();
        assert!(loc.starts_with("http://example.org?"), "{loc}");
        let q = query_of(&loc);
        assert_eq!(q["state"], STATE);
        assert_eq!(q["code"].len(), 30);
        assert_eq!(p.header("cache-control"), Some("no-store"));
    }
    assert_eq!(grants(&env).await, 2);
    server.terminate();
}

/// `approval_prompt=auto` skips the page when a live token covers the
/// requested scopes; `force` (the default) always asks.
async fn approval_prompt_auto_and_force(env: Env) {
    let (server, a, secret) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let code = code_for(&b, &a, &[("scope", "read")]).await;
    let (status, body) = token(
        &server.base,
        &a,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://example.org"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let auto_read = authorize_url(&params(
        &a,
        &[("scope", "read"), ("approval_prompt", "auto")],
    ));
    let p = b.get(&auto_read).await;
    assert_eq!(p.status, 302, "{}", p.body);
    assert!(query_of(&p.loc()).contains_key("code"));
    // The token's scope does not cover "read write".
    let p = b
        .get(&authorize_url(&params(&a, &[("approval_prompt", "auto")])))
        .await;
    assert_eq!(p.status, 200);
    // `approval_prompt=force` by default.
    let p = b
        .get(&authorize_url(&params(&a, &[("scope", "read")])))
        .await;
    assert_eq!(p.status, 200);
    // prompt=consent always asks.
    let p = b
        .get(&authorize_url(&params(
            &a,
            &[
                ("scope", "read"),
                ("approval_prompt", "auto"),
                ("prompt", "consent"),
            ],
        )))
        .await;
    assert_eq!(p.status, 200);

    // With REQUEST_APPROVAL_PROMPT=auto.
    let auto = Server::start(
        &env,
        &settings(&[("OAUTH_TOOLKIT_REQUEST_APPROVAL_PROMPT", "auto")]),
    );
    let s = b.on(&auto.base);
    let p = s
        .get(&authorize_url(&params(&a, &[("scope", "read")])))
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
    let p = s
        .get(&authorize_url(&params(
            &a,
            &[("scope", "read"), ("approval_prompt", "force")],
        )))
        .await;
    assert_eq!(p.status, 200);
    auto.terminate();
    server.terminate();
}

/// The consent decision.
async fn consent_decisions_redirect_to_the_client(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;

    // 16
    let p = b.consent(&params(&a, &[("allow", "True")])).await;
    let loc = p.loc();
    assert!(loc.starts_with("http://example.org?"), "{loc}");
    assert!(loc.contains("state=random_state_string") && loc.contains("code="));
    assert_eq!(p.header("cache-control"), Some("no-store"));
    // 17
    let loc = b.consent(&params(&a, &[("allow", "False")])).await.loc();
    assert_eq!(
        loc,
        format!(
            "http://example.org?error=access_denied&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    // The Cancel button, which sends no `allow`.
    let mut no_state = params(&a, &[]);
    no_state.retain(|(k, _)| *k != "state");
    let loc = b.consent(&no_state).await.loc();
    assert_eq!(
        loc,
        format!(
            "http://example.org?error=access_denied&iss={}",
            iss(&server)
        )
    );
    // 23
    let loc = b
        .consent(&params(
            &a,
            &[
                ("redirect_uri", "custom-scheme://example.com"),
                ("allow", "True"),
            ],
        ))
        .await
        .loc();
    assert!(loc.starts_with("custom-scheme://example.com?"), "{loc}");
    assert!(loc.contains("state=") && loc.contains("code="));
    let loc = b
        .consent(&params(
            &a,
            &[("redirect_uri", "custom-scheme://example.com")],
        ))
        .await
        .loc();
    assert!(loc.starts_with("custom-scheme://example.com?") && loc.contains("error=access_denied"));
    // The registered query string is kept.
    let loc = b
        .consent(&params(
            &a,
            &[
                ("redirect_uri", "http://example.com?foo=bar"),
                ("allow", "True"),
            ],
        ))
        .await
        .loc();
    assert!(loc.starts_with("http://example.com?foo=bar&code="), "{loc}");
    assert!(
        loc.ends_with(&format!("&state=random_state_string&iss={}", iss(&server))),
        "{loc}"
    );
    // Exactly.
    let loc = b
        .consent(&params(
            &a,
            &[
                ("redirect_uri", "http://example.com?foo=bar"),
                ("allow", "False"),
            ],
        ))
        .await
        .loc();
    assert_eq!(
        loc,
        format!(
            "http://example.com?foo=bar&error=access_denied&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    // The whole consent form as rendered, submitted with the Authorize button.
    let page = b.get(&authorize_url(&params(&a, &[]))).await;
    let fields = page.form_fields();
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("allow", "Authorize"));
    let loc = b.post(AUTHORIZE, &form).await.loc();
    assert!(query_of(&loc).contains_key("code"), "{loc}");
    assert_eq!(grants(&env).await, 4);
    server.terminate();
}
