mod common;
use common::*;

// Black-box tests of the authorization endpoint, login and logout, over real HTTP against
// the `oauth-toolkit serve` binary, on SQLite and PostgreSQL, with DOT's
// behaviour where the RFCs allow it and the RFC's where DOT differs.

use std::collections::BTreeMap;

use common::http_browser::{client, encode, escape, Browser, Page};
use oauth_toolkit_core::pkce::s256_challenge;
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::Url;

/// DOT's baseline fixture: the registered URIs of application A.
const URIS: &str = "http://localhost http://example.com http://example.org custom-scheme://example.com http://example.com?foo=bar http://example.org?foo=bar http://example.com?bar=baz&foo=bar";
const STATE: &str = "random_state_string";
const AUTHORIZE: &str = "/o/authorize/";
const SCHEMES_VAR: &str = "OAUTH_TOOLKIT_ALLOWED_REDIRECT_URI_SCHEMES";

/// DOT's baseline settings (plus OIDC off: OpenID Connect has its own tests).
fn settings(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
        (SCHEMES_VAR, "http,custom-scheme"),
        ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read,write"),
        ("OAUTH_TOOLKIT_OIDC_ENABLED", "false"),
    ];
    v.extend_from_slice(extra);
    v
}

/// `createapplication` with the schemes of the fixture allowed.
fn create_app(env: &Env, client_type: &str, grant: &str, extra: &[&str]) -> (String, String) {
    create_app_schemes(env, "http,custom-scheme", client_type, grant, extra)
}

fn create_app_schemes(
    env: &Env,
    schemes: &str,
    client_type: &str,
    grant: &str,
    extra: &[&str],
) -> (String, String) {
    let mut args = vec!["createapplication", client_type, grant, "--json"];
    args.extend_from_slice(extra);
    let o = env
        .cmd()
        .env(SCHEMES_VAR, schemes)
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "createapplication: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap_or("").to_string(),
    )
}

/// User `test_user`/`123456`, application A, and a running server.
fn fixture(env: &Env, extra: &[(&'static str, &'static str)]) -> (Server, String, String) {
    env.create_user("test_user", "123456");
    let (id, secret) = create_app(
        env,
        "confidential",
        "authorization-code",
        &["--name", "App A", "--redirect-uris", URIS],
    );
    (Server::start(env, &settings(extra)), id, secret)
}

// ---------------------------------------------------------------------------------------------
// The browser is `common::http_browser`; what only these tests need:
// ---------------------------------------------------------------------------------------------

impl Page {
    fn assert_fatal(&self, description: &str) {
        assert_eq!(self.status, 400, "{}", self.body);
        assert!(self.location().is_none(), "a fatal error must not redirect");
        assert!(
            self.body.contains("Error: invalid_request"),
            "{}",
            self.body
        );
        assert!(
            self.body.contains(&escape(description)),
            "{description:?} not in {}",
            self.body
        );
        // The registered redirect URIs are never disclosed.
        assert!(!self.body.contains("example."), "{}", self.body);
    }
}

impl Browser {
    /// POST the consent form with `fields` plus this session's CSRF token.
    async fn consent(&self, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", &csrf)];
        form.extend_from_slice(fields);
        self.post(AUTHORIZE, &form).await
    }
}

/// `/o/authorize/?<pairs>`.
fn authorize_url(pairs: &[(&str, &str)]) -> String {
    format!("{AUTHORIZE}?{}", encode(pairs))
}

/// DOT's "authorize params" for `client_id`, with `extra` appended.
fn params<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("state", STATE),
        ("scope", "read write"),
        ("redirect_uri", "http://example.org"),
    ];
    for (k, val) in extra {
        v.retain(|(n, _)| n != k);
        v.push((k, val));
    }
    v
}

fn decode(s: &str) -> BTreeMap<String, String> {
    Url::parse(&format!("http://x/?{s}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Query parameters of a Location.
fn query_of(location: &str) -> BTreeMap<String, String> {
    let before_fragment = location.split('#').next().unwrap();
    decode(before_fragment.split_once('?').map(|x| x.1).unwrap_or(""))
}

/// Fragment parameters of a Location.
fn fragment_of(location: &str) -> BTreeMap<String, String> {
    decode(location.split_once('#').map(|x| x.1).unwrap_or(""))
}

/// The `next` of a redirect to the login page.
fn next_of(location: &str) -> String {
    assert!(
        location.starts_with("/accounts/login/?"),
        "not a login redirect: {location}"
    );
    query_of(location).remove("next").expect("next")
}

async fn grants(env: &Env) -> i64 {
    count_rows(&env.db().await, "oauth2_provider_grant").await
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

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

/// GET an authorization URL that must redirect; the Location.
async fn redirect_of(b: &Browser, pairs: Vec<(&str, &str)>) -> String {
    let p = b.get(&authorize_url(&pairs)).await;
    assert_eq!(p.status, 302, "{}", p.body);
    p.loc()
}

fn borrow(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Obtain a code for `client_id` through the consent form.
async fn code_for(b: &Browser, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut form = params(client_id, extra);
    form.push(("allow", "Authorize"));
    let p = b.consent(&form).await;
    assert_eq!(p.status, 302, "{}", p.body);
    query_of(&p.loc())
        .remove("code")
        .unwrap_or_else(|| panic!("no code in {}", p.loc()))
}

/// POST /o/token/ with HTTP Basic client authentication.
async fn token(
    base: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let resp = client()
        .post(format!("{base}/o/token/"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
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

/// The implicit grant answers in the fragment, errors too.
async fn implicit_grant_uses_the_fragment(env: Env) {
    let (server, _, _) = fixture(&env, &[]);
    let (i, _) = create_app(
        &env,
        "public",
        "implicit",
        &[
            "--redirect-uris",
            "http://example.org http://example.com?foo=bar",
        ],
    );
    let b = Browser::new(&server.base);
    b.login().await;
    let implicit = |extra: &[(&'static str, &'static str)]| {
        let mut v = params(&i, &[("response_type", "token")]);
        for (k, val) in extra {
            v.retain(|(n, _)| n != k);
            v.push((k, val));
        }
        v.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };

    // Consent page with the default scopes.
    let mut no_scope = implicit(&[]);
    no_scope.retain(|(k, _)| k != "scope");
    let p = b.get(&authorize_url(&borrow(&no_scope))).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.hidden("scope").as_deref(), Some("read write"));
    assert_eq!(p.hidden("response_type").as_deref(), Some("token"));
    // 45
    let loc = b
        .consent(&borrow(&implicit(&[("allow", "True")])))
        .await
        .loc();
    assert!(loc.starts_with("http://example.org#"), "{loc}");
    let f = fragment_of(&loc);
    assert_eq!(f["token_type"], "Bearer");
    assert_eq!(f["expires_in"], "36000");
    assert_eq!(f["scope"], "read write");
    assert_eq!(f["state"], STATE);
    assert!(!f.contains_key("refresh_token"));
    let stored = env
        .db()
        .await
        .store()
        .find_access_token(&token_checksum(&f["access_token"]))
        .await
        .unwrap()
        .expect("the access token is stored");
    assert_eq!(stored.scope, "read write");
    // The denial goes in the fragment.
    let loc = b
        .consent(&borrow(&implicit(&[("allow", "False")])))
        .await
        .loc();
    assert_eq!(
        loc,
        format!(
            "http://example.org#error=access_denied&state=random_state_string&iss={}",
            iss(&server)
        )
    );
    let loc = b
        .get(&authorize_url(&borrow(&implicit(&[("scope", "nuke")]))))
        .await
        .loc();
    assert_eq!(fragment_of(&loc)["error"], "invalid_scope", "{loc}");
    assert!(query_of(&loc).is_empty(), "{loc}");
    // A token never travels in a query, even when asked.
    let loc = b
        .consent(&borrow(&implicit(&[
            ("allow", "True"),
            ("response_mode", "query"),
        ])))
        .await
        .loc();
    assert!(loc.starts_with("http://example.org#access_token="), "{loc}");
    // 47
    let loc = b
        .consent(&borrow(&implicit(&[
            ("redirect_uri", "http://example.com?foo=bar"),
            ("allow", "True"),
        ])))
        .await
        .loc();
    assert!(
        loc.starts_with("http://example.com?foo=bar#access_token="),
        "{loc}"
    );

    // RFC 9700 disables the implicit grant.
    let strict = Server::start(
        &env,
        &settings(&[("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT", "true")]),
    );
    let loc = b
        .on(&strict.base)
        .get(&authorize_url(&borrow(&implicit(&[]))))
        .await
        .loc();
    assert_eq!(fragment_of(&loc)["error"], "unauthorized_client", "{loc}");
    assert!(!loc.contains("access_token"));
    strict.terminate();
    server.terminate();
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

/// The whole authorization code flow with S256 PKCE, refresh, and a replayed code revoking
/// what was issued from it (RFC 6749 §4.1.2).
async fn code_flow_with_pkce_refresh_and_replay(env: Env) {
    let (server, a, secret) = fixture(&env, &[]);
    let b = Browser::new(&server.base);
    b.login().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = s256_challenge(verifier);
    let page = b
        .get(&authorize_url(&params(
            &a,
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = page.form_fields();
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("allow", "Authorize"));
    let loc = b.post(AUTHORIZE, &form).await.loc();
    let q = query_of(&loc);
    assert_eq!(q["state"], STATE);
    let code = q["code"].clone();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://example.org"),
        ("code_verifier", verifier),
    ];
    let (status, body) = token(&server.base, &a, &secret, &exchange).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();

    let (status, refreshed) = token(
        &server.base,
        &a,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let access2 = refreshed["access_token"].as_str().unwrap().to_string();
    let store = env.db().await.store();
    assert!(store
        .find_access_token(&token_checksum(&access2))
        .await
        .unwrap()
        .is_some());

    // Replay: refused, and the tokens of the code's family are gone.
    let (status, body) = token(&server.base, &a, &secret, &exchange).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    for t in [&access, &access2] {
        assert!(store
            .find_access_token(&token_checksum(t))
            .await
            .unwrap()
            .is_none());
    }
    // A wrong verifier on a fresh code.
    let code = code_for(
        &b,
        &a,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let (status, body) = token(
        &server.base,
        &a,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://example.org"),
            ("code_verifier", &"w".repeat(43)),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
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

/// The `iss` parameter (RFC 9207) a server with the default issuer adds to its responses:
/// `http://<bind>/o`, percent-encoded.
fn iss(server: &Server) -> String {
    let issuer = format!("{}/o", server.base);
    encode(&[("iss", &issuer)])["iss=".len()..].to_string()
}

/// RFC 9207: `iss` in authorization responses, errors included; on by default
/// (DOT: off), off with `compliant_bcp_rfc9700_authz_response_iss = false`.
async fn iss_in_authorization_responses(env: Env) {
    let (server, a, _) = fixture(&env, &[("OAUTH_TOOLKIT_ISSUER", "http://testserver")]);
    let b = Browser::new(&server.base);
    b.login().await;
    let loc = b.consent(&params(&a, &[("allow", "True")])).await.loc();
    assert!(loc.contains("iss=http%3A%2F%2Ftestserver%2Fo"), "{loc}");
    let loc = b.consent(&params(&a, &[])).await.loc();
    assert_eq!(
        loc,
        "http://example.org?error=access_denied&state=random_state_string&iss=http%3A%2F%2Ftestserver%2Fo"
    );
    let plain = Server::start(
        &env,
        &settings(&[(
            "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
            "false",
        )]),
    );
    let loc = b
        .on(&plain.base)
        .consent(&params(&a, &[("allow", "True")]))
        .await
        .loc();
    assert!(!loc.contains("iss="), "{loc}");
    plain.terminate();
    server.terminate();
}

backends!(
    anonymous_is_sent_to_login_and_back,
    consent_page_shows_the_request,
    fatal_errors_are_pages_without_location,
    loopback_ports_and_private_use_schemes,
    request_errors_redirect_to_the_client,
    skip_authorization_issues_immediately,
    approval_prompt_auto_and_force,
    consent_decisions_redirect_to_the_client,
    csrf_missing_or_wrong_is_forbidden,
    login_never_redirects_off_site,
    prompt_login_and_none,
    implicit_grant_uses_the_fragment,
    hostile_parameters_never_fail,
    code_flow_with_pkce_refresh_and_replay,
    sessions_work_across_processes,
    logout_and_tampered_sessions,
    iss_in_authorization_responses,
);
