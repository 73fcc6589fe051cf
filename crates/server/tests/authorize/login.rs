//! Login, `prompt`, CSRF, logout, and sessions across processes.

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

backends!(
    anonymous_is_sent_to_login_and_back,
    csrf_missing_or_wrong_is_forbidden,
    login_never_redirects_off_site,
    prompt_login_and_none,
    sessions_work_across_processes,
    logout_and_tampered_sessions,
);

/// Anonymous → login with `next` (and `prompt=login` stripped); the login
/// form logs in and returns to `next`; login page headers and cookie attributes.
async fn anonymous_is_sent_to_login_and_back(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    let url = authorize_url(&params(&a, &[]));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.header("cache-control"), Some("no-store"));
    let loc = p.loc();
    let next = next_of(&loc);
    assert_eq!(next, url, "next is the request's path and query");
    assert!(next.contains(&format!("client_id={a}")));
    assert!(next.contains("response_type=code"));
    assert!(next.contains("state=random_state_string"));
    assert!(next.contains("redirect_uri=http%3A%2F%2Fexample.org"));

    // `prompt=login` is removed from next.
    let p = b
        .get(&authorize_url(&params(&a, &[("prompt", "login")])))
        .await;
    let next31 = next_of(&p.loc());
    assert!(!next31.contains("prompt"), "{next31}");
    assert!(next31.contains("state=random_state_string"));

    // The login page: a CSRF-protected form, never framed or cached, an anonymous session.
    let page = b.get(&loc).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.hidden("next").as_deref(), Some(url.as_str()));
    assert!(page.body.contains("name=\"username\""));
    assert!(page.body.contains("name=\"password\""));
    let cookie = b.set_cookies.lock().unwrap().last().cloned().unwrap();
    assert!(cookie.starts_with("sessionid="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "http issuer: {cookie}");
    let anonymous_csrf = page.csrf();
    let anonymous_session = b.session().unwrap();

    // Log in: back to exactly `next`; the session id and CSRF token are new (fixation).
    let p = b
        .post(
            "/accounts/login/",
            &[
                ("csrfmiddlewaretoken", &anonymous_csrf),
                ("username", "test_user"),
                ("password", "123456"),
                ("next", &url),
            ],
        )
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
    assert_eq!(p.loc(), url);
    assert_ne!(b.session().unwrap(), anonymous_session);
    let consent = b.get(&url).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert_ne!(consent.csrf(), anonymous_csrf);
    server.terminate();
}

/// A consent POST without the session's CSRF token is refused with 403 and issues
/// nothing (without the field at all it is an authorization request: the consent page); the
/// same for login and logout.
async fn csrf_missing_or_wrong_is_forbidden(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let other = Browser::new(&server.base);
    other.login().await;
    let others_token = other.csrf().await;
    let good = b.csrf().await;
    let allow = params(&a, &[("allow", "True")]);
    let doubled = [good.clone(), good.clone()];
    let longer = [format!("{good}x")];
    // No CSRF field at all: not the consent form but an authorization request by POST (OIDC
    // Core §3.1.2.1), answered like the GET: the consent page, `allow` ignored, nothing issued.
    let p = b.post(AUTHORIZE, &allow).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.location().is_none());
    let tokens: [&[String]; 5] = [
        &["wrong".to_string()],
        &[String::new()],
        std::slice::from_ref(&others_token),
        &doubled,
        &longer,
    ];
    for sent in tokens {
        let mut pairs = allow.clone();
        pairs.extend(sent.iter().map(|t| ("csrfmiddlewaretoken", t.as_str())));
        let p = b.post(AUTHORIZE, &pairs).await;
        assert_eq!(p.status, 403, "{sent:?}: {}", p.body);
        assert!(p.location().is_none());
        assert!(p.body.contains("CSRF verification failed"));
    }
    // Without any session cookie at all.
    let bare = Browser::new(&server.base);
    let mut f = allow.clone();
    f.push(("csrfmiddlewaretoken", &good));
    assert_eq!(bare.post(AUTHORIZE, &f).await.status, 403);
    assert_eq!(grants(&env).await, 0);
    // The right token works.
    let mut f = allow.clone();
    f.push(("csrfmiddlewaretoken", &good));
    assert_eq!(b.post(AUTHORIZE, &f).await.status, 302);
    assert_eq!(grants(&env).await, 1);

    // Login: no cookie, or no token → 403.
    let anon = Browser::new(&server.base);
    let p = anon
        .post(
            "/accounts/login/",
            &[("username", "test_user"), ("password", "123456")],
        )
        .await;
    assert_eq!(p.status, 403);
    anon.get("/accounts/login/").await;
    let p = anon
        .post(
            "/accounts/login/",
            &[("username", "test_user"), ("password", "123456")],
        )
        .await;
    assert_eq!(p.status, 403);
    // Logout without the token leaves the session alone.
    let p = b.post("/accounts/logout/", &[]).await;
    assert_eq!(p.status, 403);
    assert_eq!(b.get(&authorize_url(&params(&a, &[]))).await.status, 200);
    server.terminate();
}

/// `next` after login stays on this site; wrong credentials re-render the form.
async fn login_never_redirects_off_site(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    for next in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "http:evil.com",
        "javascript:alert(1)",
        " /x",
        "",
    ] {
        let b = Browser::new(&server.base);
        let p = b.login_next("test_user", "123456", next).await;
        assert_eq!(p.status, 302, "{next:?}");
        assert_eq!(p.loc(), "/", "{next:?}");
    }
    let b = Browser::new(&server.base);
    let p = b
        .login_next("test_user", "123456", "/o/authorize/?x=1")
        .await;
    assert_eq!(p.loc(), "/o/authorize/?x=1");

    // Wrong password, unknown user, empty fields: 200, an error, not logged in.
    for (user, password) in [("test_user", "wrong"), ("nobody", "123456"), ("", "")] {
        let b = Browser::new(&server.base);
        let p = b.login_next(user, password, "/next/").await;
        assert_eq!(p.status, 200, "{user}");
        assert!(p
            .body
            .contains("Please enter a correct username and password"));
        assert_eq!(p.hidden("next").as_deref(), Some("/next/"));
        let p = b.get(&authorize_url(&params(&a, &[]))).await;
        assert_eq!(p.status, 302);
        next_of(&p.loc());
    }
    server.terminate();
}

/// `prompt=login` and `prompt=none`.
async fn prompt_login_and_none(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let anon = Browser::new(&server.base);
    // 32
    let loc = anon
        .get(&authorize_url(&params(&a, &[("prompt", "none")])))
        .await
        .loc();
    assert_eq!(
        loc,
        format!(
            "http://example.org?error=login_required&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    // Without a client, nothing is redirected anywhere.
    anon.get(&authorize_url(&[
        ("prompt", "none"),
        ("redirect_uri", "http://attacker.example/cb"),
        ("state", "phish-123"),
    ]))
    .await
    .assert_fatal("Missing client_id parameter.");
    // A registered client with an unregistered redirect URI.
    anon.get(&authorize_url(&params(
        &a,
        &[
            ("prompt", "none"),
            ("redirect_uri", "http://attacker.example/cb"),
        ],
    )))
    .await
    .assert_fatal("Mismatching redirect URI.");

    let b = Browser::new(&server.base);
    b.login().await;
    // Logged in, consent needed, no UI allowed → consent_required, never a page.
    let p = b
        .get(&authorize_url(&params(&a, &[("prompt", "none")])))
        .await;
    assert_eq!(p.status, 302);
    assert_eq!(
        p.loc(),
        format!(
            "http://example.org?error=consent_required&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    let q = query_of(
        &b.get(&authorize_url(&params(&a, &[("prompt", "none login")])))
            .await
            .loc(),
    );
    assert_eq!(q["error"], "invalid_request");
    // Logged in + prompt=login → login again, prompt stripped from next.
    let url = authorize_url(&params(&a, &[("prompt", "login")]));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    let next = next_of(&p.loc());
    assert!(
        next.contains("redirect_uri=http%3A%2F%2Fexample.org"),
        "{next}"
    );
    assert!(next.contains("state=random_state_string"));
    assert!(next.contains("scope=read+write"));
    assert!(next.contains(&format!("client_id={a}")));
    assert!(!next.contains("prompt"));
    // The session was not ended by the prompt (a cross-site link must not log anyone out);
    // the new login replaces it and continues the request.
    assert!(
        b.get("/accounts/logout/")
            .await
            .body
            .contains("Do you want to log out?"),
        "still logged in"
    );
    let p = b.login_next("test_user", "123456", &next).await;
    assert_eq!(p.loc(), next);
    assert_eq!(b.get(&next).await.status, 200);
    server.terminate();
}

/// Stateless sessions: log in on one process, consent on another, exchange on the first.
async fn sessions_work_across_processes(env: Env) {
    let (one, a, secret) = fixture(&env, &[]);
    let two = Server::start(&env, &settings(&[]));
    let b1 = Browser::new(&one.base);
    b1.login().await;
    let b2 = b1.on(&two.base);
    let page = b2.get(&authorize_url(&params(&a, &[]))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = page.form_fields();
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("allow", "Authorize"));
    let loc = b2.post(AUTHORIZE, &form).await.loc();
    let code = query_of(&loc)["code"].clone();
    let (status, body) = token(
        &one.base,
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
    two.terminate();
    one.terminate();
}

/// Logout: a confirmation page, a CSRF-checked POST that ends the session; tampered cookies
/// count as no session; `Secure` cookies behind an https issuer.
async fn logout_and_tampered_sessions(env: Env) {
    let (server, a, _) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let page = b.get("/accounts/logout/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Do you want to log out?"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let p = b
        .post(
            "/accounts/logout/",
            &[("csrfmiddlewaretoken", &page.csrf())],
        )
        .await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), "/");
    assert!(b.session().is_none(), "the cookie is deleted");
    let p = b.get(&authorize_url(&params(&a, &[]))).await;
    next_of(&p.loc());

    // A tampered or foreign cookie is no session.
    let c = Browser::new(&server.base);
    c.login().await;
    let mut value = c.session().unwrap();
    let last = value.pop().unwrap();
    value.push(if last == 'A' { 'B' } else { 'A' });
    c.set_session(&value);
    next_of(&c.get(&authorize_url(&params(&a, &[]))).await.loc());
    c.set_session("not-a-session");
    next_of(&c.get(&authorize_url(&params(&a, &[]))).await.loc());

    // An https issuer makes the cookie Secure.
    let https = Server::start(
        &env,
        &settings(&[("OAUTH_TOOLKIT_ISSUER", "https://auth.example.com")]),
    );
    let s = Browser::new(&https.base);
    s.get("/accounts/login/").await;
    let cookie = s.set_cookies.lock().unwrap().last().cloned().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    https.terminate();
    server.terminate();
}
