mod common;
use common::*;

// Black-box tests of the device authorization grant (RFC 8628) over real HTTP against the
// `oauth-toolkit serve` binary, on SQLite and PostgreSQL, adapted where
// we fix DOT. The user's side goes through the real login form and pages.

use std::collections::BTreeSet;
use std::time::Duration;

use common::http_browser::{client, encode, Browser, Page};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use oauth2::{TokenResponse, TokenUrl};
use oauth_toolkit_core::models::{DeviceGrant, DeviceGrantStatus};
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_AUTHORIZATION: &str = "/o/device-authorization/";
const TOKEN: &str = "/o/token/";
const DEVICE_PAGE: &str = "/o/device/";

backends!(
    device_authorization_response,
    device_authorization_errors,
    polling_answers,
    slow_down_when_polling_too_fast,
    expired_while_pending,
    pages_require_login,
    user_code_entry,
    confirm_accept_deny_and_status,
    another_user_sees_nothing,
    tokens_for_the_approving_user,
    scope_is_frozen_at_device_authorization,
    nonexistent_grants_are_404,
    authorized_code_redeemed_once_under_race,
    client_ids_unsafe_in_paths,
    device_flow_with_the_oauth2_crate,
    hostile_input_never_fails,
    metadata_advertises_the_device_endpoint,
    user_code_guessing_is_throttled_per_account,
);

// ---------------------------------------------------------------------------------------------
// Fixture and helpers
// ---------------------------------------------------------------------------------------------

/// The default scopes of DOT's fixture, OIDC off (only `read` and `write` configured).
fn settings(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read,write"),
        ("OAUTH_TOOLKIT_OIDC_ENABLED", "false"),
    ];
    v.extend_from_slice(extra);
    v
}

/// User `test_user`/`123456`, a public device application "Smart TV", a running server.
fn fixture(env: &Env, extra: &[(&'static str, &'static str)]) -> (Server, String) {
    env.create_user("test_user", "123456");
    let (id, _) = env.create_app("public", GRANT, &["--name", "Smart TV"]);
    (Server::start(env, &settings(extra)), id)
}

struct Json {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn post_form(server: &Server, path: &str, body: String, content_type: &str) -> Json {
    let resp = client()
        .post(format!("{}{path}", server.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert!(status < 500, "{path}: server error {status}: {text}");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Json {
        status,
        headers,
        body,
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// `POST device-authorization/` with `form`.
async fn device_authorize(server: &Server, form: &[(&str, &str)]) -> Json {
    post_form(server, DEVICE_AUTHORIZATION, encode(form), FORM).await
}

/// A device authorization of `client_id` that must succeed: (device_code, user_code).
async fn start(server: &Server, client_id: &str, scope: Option<&str>) -> (String, String) {
    let mut form = vec![("client_id", client_id)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = device_authorize(server, &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["device_code"].as_str().unwrap().to_string(),
        r.body["user_code"].as_str().unwrap().to_string(),
    )
}

/// Poll the token endpoint as a public device client.
async fn poll(server: &Server, client_id: &str, device_code: &str) -> Json {
    let form = [
        ("grant_type", GRANT),
        ("device_code", device_code),
        ("client_id", client_id),
    ];
    post_form(server, TOKEN, encode(&form), FORM).await
}

/// An RFC 6749 §5.2 error: status 400, JSON, not cached, with `code`.
fn assert_error(r: &Json, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], code, "{}", r.body);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers["cache-control"], "no-store");
}

async fn stored(env: &Env, device_code: &str) -> Option<DeviceGrant> {
    env.db()
        .await
        .store()
        .find_device_grant(&token_checksum(device_code))
        .await
        .unwrap()
}

async fn user_id(env: &Env, name: &str) -> i64 {
    env.db()
        .await
        .store()
        .find_user_by_username(name)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Run one SQL statement (test-only time travel: the store has no such methods).
async fn execute(env: &Env, sql: &str) {
    use sqlx::Connection;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

/// The stored form of a displayed user code.
fn stored_code(user_code: &str) -> String {
    user_code.replace('-', "")
}

/// Move a grant's `expires` into the past.
async fn expire_now(env: &Env, user_code: &str) {
    execute(
        env,
        &format!(
            "UPDATE oauth2_provider_devicegrant SET expires = expires - 3600000000000 \
             WHERE user_code = '{}'",
            stored_code(user_code)
        ),
    )
    .await;
}

/// Pretend the last poll was long ago.
async fn forget_last_poll(env: &Env, user_code: &str) {
    execute(
        env,
        &format!(
            "UPDATE oauth2_provider_devicegrant SET last_checked = last_checked - 3600000000 \
             WHERE user_code = '{}'",
            stored_code(user_code)
        ),
    )
    .await;
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The query parameter `next` of a redirect to the login page.
fn next_of(location: &str) -> String {
    assert!(
        location.starts_with("/accounts/login/?"),
        "not a login redirect: {location}"
    );
    reqwest::Url::parse(&format!("http://x{location}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("next")
}

impl Browser {
    /// Enter `user_code` on the device page (with this session's CSRF token).
    async fn enter(&self, user_code: &str) -> Page {
        let form = self.get(DEVICE_PAGE).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            DEVICE_PAGE,
            &[("csrfmiddlewaretoken", &csrf), ("user_code", user_code)],
        )
        .await
    }

    /// POST the confirmation form at `confirm` with `action`.
    async fn decide(&self, confirm: &str, action: &str) -> Page {
        let csrf = self.csrf().await;
        self.post(
            confirm,
            &[("csrfmiddlewaretoken", &csrf), ("action", action)],
        )
        .await
    }

    /// Enter the code, look at the confirmation page, decide; returns the status URL.
    async fn approve(&self, user_code: &str, action: &str) -> String {
        let entered = self.enter(user_code).await;
        assert_eq!(entered.status, 302, "{}", entered.body);
        let confirm = entered.loc();
        let page = self.get(&confirm).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let decided = self.decide(&confirm, action).await;
        assert_eq!(decided.status, 302, "{}", decided.body);
        decided.loc()
    }
}

/// A logged-in browser for `test_user`.
async fn logged_in(server: &Server) -> Browser {
    let b = Browser::new(&server.base);
    b.login().await;
    b
}

// ---------------------------------------------------------------------------------------------
// Device authorization endpoint
// ---------------------------------------------------------------------------------------------

/// The response, its defaults and settings; `; charset=` accepted;
/// `verification_uri` defaults to the provider's own page (DOT: null); the device code is
/// stored only as a digest.
async fn device_authorization_response(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let r = post_form(
        &server,
        DEVICE_AUTHORIZATION,
        encode(&[("client_id", &id)]),
        "application/x-www-form-urlencoded; charset=UTF-8",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "device_code",
            "user_code",
            "verification_uri",
            "expires_in",
            "interval"
        ]),
        "no verification_uri_complete unless configured: {}",
        r.body
    );
    assert_eq!(
        r.body["verification_uri"],
        format!("{}/o/device/", server.base)
    );
    assert_eq!(r.body["expires_in"], 1800);
    assert_eq!(r.body["interval"], 5);
    let device_code = r.body["device_code"].as_str().unwrap();
    assert!(device_code.len() >= 30, "{device_code}");
    let user_code = r.body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-");
    let grant = stored(&env, device_code).await.expect("stored by digest");
    assert_eq!(grant.status, DeviceGrantStatus::AuthorizationPending);
    assert_eq!(grant.user_code, stored_code(user_code));
    assert_eq!(grant.client_id, id);
    assert_eq!(grant.scope, "read write", "default scopes, frozen");
    assert_eq!(grant.user_id, None);
    assert_eq!((grant.expires - grant.created).whole_seconds(), 1800);
    // Every request gets fresh codes.
    let (other_device, other_user) = start(&server, &id, None).await;
    assert_ne!(other_device, device_code);
    assert_ne!(other_user, user_code);
    drop(server);

    // The other settings; the endpoints move with the prefix.
    let server = Server::start(
        &env,
        &settings(&[
            ("OAUTH_TOOLKIT_DEVICE_FLOW_INTERVAL", "10"),
            ("OAUTH_TOOLKIT_DEVICE_CODE_EXPIRE_SECONDS", "600"),
            (
                "OAUTH_TOOLKIT_OAUTH_DEVICE_VERIFICATION_URI",
                "https://example.com/device",
            ),
            (
                "OAUTH_TOOLKIT_OAUTH_DEVICE_VERIFICATION_URI_COMPLETE",
                "https://example.com/device?user_code={user_code}",
            ),
            ("OAUTH_TOOLKIT_URL_PREFIX", "/oauth"),
        ]),
    );
    let r = post_form(
        &server,
        "/oauth/device-authorization/",
        encode(&[("client_id", &id)]),
        FORM,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["interval"], 10);
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(r.body["verification_uri"], "https://example.com/device");
    let user_code = r.body["user_code"].as_str().unwrap();
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("https://example.com/device?user_code={user_code}")
    );
    let grant = stored(&env, r.body["device_code"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(grant.interval, 10);
    assert_eq!((grant.expires - grant.created).whole_seconds(), 600);
}

/// 111, 112 and client authentication: unknown clients are `invalid_client` (RFC 6749 §5.2;
/// DOT: 400 `invalid_request`), a confidential client needs its secret, a client of another
/// grant type is `unauthorized_client`, scopes are validated.
async fn device_authorization_errors(env: Env) {
    let (server, public_id) = fixture(&env, &[]);
    let (conf_id, conf_secret) = env.create_app("confidential", GRANT, &[]);
    let (code_id, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", "https://example.com/cb"],
    );

    let r = device_authorize(&server, &[("client_id", "client_id_that_does_not_exist")]).await;
    assert_error(&r, 401, "invalid_client");
    assert!(r.headers.contains_key("www-authenticate"));

    let r = device_authorize(&server, &[]).await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(r.body["error_description"], "Missing client_id parameter.");
    let r = device_authorize(&server, &[("scope", "read")]).await;
    assert_error(&r, 400, "invalid_request");

    let r = device_authorize(&server, &[("client_id", &code_id)]).await;
    assert_error(&r, 400, "unauthorized_client");

    // Confidential: the secret is required and checked.
    let r = device_authorize(&server, &[("client_id", &conf_id)]).await;
    assert_error(&r, 401, "invalid_client");
    let r = device_authorize(
        &server,
        &[("client_id", &conf_id), ("client_secret", "wrong")],
    )
    .await;
    assert_error(&r, 401, "invalid_client");
    let r = device_authorize(
        &server,
        &[("client_id", &conf_id), ("client_secret", &conf_secret)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = client()
        .post(format!("{}{DEVICE_AUTHORIZATION}", server.base))
        .basic_auth(&conf_id, Some(&conf_secret))
        .form(&[("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "Basic authentication, no client_id in the body"
    );

    // Scopes.
    let r = device_authorize(
        &server,
        &[("client_id", &public_id), ("scope", "read nuke")],
    )
    .await;
    assert_error(&r, 400, "invalid_scope");

    // Request shape: form bodies only, no query string, no repeated parameters.
    let r = post_form(
        &server,
        DEVICE_AUTHORIZATION,
        format!("{{\"client_id\":\"{public_id}\"}}"),
        "application/json",
    )
    .await;
    assert_error(&r, 415, "invalid_request");
    let r = post_form(
        &server,
        &format!("{DEVICE_AUTHORIZATION}?client_id={public_id}"),
        encode(&[("client_id", &public_id)]),
        FORM,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let r = device_authorize(
        &server,
        &[("client_id", &public_id), ("client_id", &public_id)],
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    let r = device_authorize(
        &server,
        &[
            ("client_id", &public_id),
            ("scope", "read"),
            ("scope", "write"),
        ],
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    // Only POST.
    let resp = client()
        .get(format!("{}{DEVICE_AUTHORIZATION}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

// ---------------------------------------------------------------------------------------------
// Polling the token endpoint
// ---------------------------------------------------------------------------------------------

/// Pending, denied, unknown codes, another client's code, missing code
/// (DOT answers 500), unknown codes are `invalid_grant` (RFC 8628 §3.5 / RFC 6749
/// §5.2; DOT: 404 `device_not_found`).
async fn polling_answers(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;

    let r = poll(&server, &id, &device_code).await;
    assert_error(&r, 400, "authorization_pending");
    assert_eq!(r.headers["pragma"], "no-cache");

    // Unknown, missing, empty, or someone else's device code.
    let r = poll(&server, &id, "device_code_that_does_not_exist").await;
    assert_error(&r, 400, "invalid_grant");
    let r = post_form(
        &server,
        TOKEN,
        encode(&[("grant_type", GRANT), ("client_id", &id)]),
        FORM,
    )
    .await;
    assert_error(&r, 400, "invalid_request");
    assert_eq!(
        r.body["error_description"],
        "Missing device_code parameter."
    );
    let r = poll(&server, &id, "").await;
    assert_error(&r, 400, "invalid_request");
    let (other_id, _) = env.create_app("public", GRANT, &[]);
    let r = poll(&server, &other_id, &device_code).await;
    assert_error(&r, 400, "invalid_grant");
    // A client without the device grant type may not use it.
    let (cc_id, cc_secret) = env.create_app("confidential", "client-credentials", &[]);
    let resp = client()
        .post(format!("{}{TOKEN}", server.base))
        .basic_auth(&cc_id, Some(&cc_secret))
        .form(&[("grant_type", GRANT), ("device_code", device_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    // No client at all.
    let r = post_form(
        &server,
        TOKEN,
        encode(&[("grant_type", GRANT), ("device_code", &device_code)]),
        FORM,
    )
    .await;
    assert_error(&r, 401, "invalid_client");

    // Denied by the user: access_denied, on every poll.
    let b = logged_in(&server).await;
    let status = b.approve(&user_code, "deny").await;
    assert!(b.get(&status).await.body.contains("Device Denied"));
    for _ in 0..2 {
        let r = poll(&server, &id, &device_code).await;
        assert_error(&r, 400, "access_denied");
    }
}

/// RFC 8628 §3.5 `slow_down` (DOT: none): a poll sooner than `interval` after the previous one
/// is refused and the grant's interval grows by 5 s; waiting the new interval is accepted.
async fn slow_down_when_polling_too_fast(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "authorization_pending",
    );
    let r = poll(&server, &id, &device_code).await;
    assert_error(&r, 400, "slow_down");
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("10 seconds"),
        "{}",
        r.body
    );
    let grant = stored(&env, &device_code).await.unwrap();
    assert_eq!(grant.interval, 10);
    assert!(grant.last_checked.is_some());
    // Again too fast: 15.
    assert_error(&poll(&server, &id, &device_code).await, 400, "slow_down");
    assert_eq!(stored(&env, &device_code).await.unwrap().interval, 15);
    // After the interval: pending again.
    forget_last_poll(&env, &user_code).await;
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "authorization_pending",
    );
    // Another grant is not slowed down by this one.
    let (second, _) = start(&server, &id, None).await;
    assert_error(
        &poll(&server, &id, &second).await,
        400,
        "authorization_pending",
    );
    // The growth stops 60 s above the configured interval.
    for _ in 0..20 {
        poll(&server, &id, &device_code).await;
    }
    assert_eq!(stored(&env, &device_code).await.unwrap().interval, 65);
}

/// : expiry is checked on every poll (DOT keeps answering `authorization_pending`), and
/// the grant is marked expired; the user is told too (119).
async fn expired_while_pending(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "authorization_pending",
    );
    expire_now(&env, &user_code).await;
    let r = poll(&server, &id, &device_code).await;
    assert_error(&r, 400, "expired_token");
    assert_eq!(
        stored(&env, &device_code).await.unwrap().status,
        DeviceGrantStatus::Expired
    );
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "expired_token",
    );
    let b = logged_in(&server).await;
    let page = b.enter(&user_code).await;
    assert_eq!(page.status, 200);
    assert_eq!(count(&page.body, "Expired user code"), 1, "{}", page.body);

    // Approved, but the device comes back too late: still expired.
    let (device_code, user_code) = start(&server, &id, None).await;
    b.approve(&user_code, "accept").await;
    expire_now(&env, &user_code).await;
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "expired_token",
    );

    // Expired before the user enters it: marked expired at entry (119).
    let (device_code, user_code) = start(&server, &id, None).await;
    expire_now(&env, &user_code).await;
    let page = b.enter(&user_code).await;
    assert_eq!(count(&page.body, "Expired user code"), 1, "{}", page.body);
    assert_eq!(
        stored(&env, &device_code).await.unwrap().status,
        DeviceGrantStatus::Expired
    );
}

// ---------------------------------------------------------------------------------------------
// The user's pages
// ---------------------------------------------------------------------------------------------

/// Every page sends anonymous users to the login page and back; POSTs need CSRF.
async fn pages_require_login(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (_, user_code) = start(&server, &id, None).await;
    let b = Browser::new(&server.base);
    let confirm = format!("/o/device-confirm/{id}/{}", stored_code(&user_code));
    let status = format!("/o/device-grant-status/{id}/{}", stored_code(&user_code));
    for path in [
        DEVICE_PAGE.to_string(),
        format!("{DEVICE_PAGE}?user_code={user_code}"),
        confirm.clone(),
        status.clone(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 302, "{path}");
        assert_eq!(next_of(&page.loc()), path);
    }
    // Logging in comes back to the page, code pre-filled.
    let next = format!("{DEVICE_PAGE}?user_code={user_code}");
    let login = b.login_next("test_user", "123456", &next).await;
    assert_eq!(login.status, 302);
    assert_eq!(login.loc(), next);
    let page = b.get(&next).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("value=\"{user_code}\"")));

    // POSTs without (or with a wrong) CSRF token are refused, logged in or not.
    for path in [DEVICE_PAGE, confirm.as_str()] {
        let page = b
            .post(path, &[("user_code", &user_code), ("action", "accept")])
            .await;
        assert_eq!(page.status, 403, "{path}");
        let page = b
            .post(
                path,
                &[
                    ("csrfmiddlewaretoken", "wrong"),
                    ("user_code", &user_code),
                    ("action", "accept"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "{path}");
        let anonymous = Browser::new(&server.base);
        let page = anonymous.post(path, &[("user_code", &user_code)]).await;
        assert_eq!(page.status, 403, "{path}");
    }
    // Security headers, as on every page.
    let page = b.get(DEVICE_PAGE).await;
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

/// The code form, its messages, typed codes normalized, pre-filling.
async fn user_code_entry(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;

    let form = b.get(DEVICE_PAGE).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Enter code displayed on device"));
    assert!(form.body.contains("name=\"user_code\""));
    assert!(form.body.contains("name=\"csrfmiddlewaretoken\""));
    assert!(!form.body.contains("<script"), "works without JavaScript");

    let page = b.enter("invalid_code").await;
    assert_eq!(page.status, 200);
    assert_eq!(count(&page.body, "Incorrect user code"), 1, "{}", page.body);
    assert!(page.body.contains("value=\"invalid_code\""));

    // 118.
    let page = b.get(&format!("{DEVICE_PAGE}?user_code=WDJB-MJHT")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"WDJB-MJHT\""), "{}", page.body);
    let page = b
        .get(&format!("{DEVICE_PAGE}?user_code=%22%3E%3Cscript%3E"))
        .await;
    assert!(!page.body.contains("\"><script>"), "escaped");

    // Lower case, spaces and dashes are ignored (RFC 8628 §6.1).
    let typed = format!(
        " {} {} ",
        &user_code[..4].to_lowercase(),
        &user_code[5..].to_lowercase()
    );
    let page = b.enter(&typed).await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.loc(),
        format!("/o/device-confirm/{id}/{}", stored_code(&user_code))
    );
    assert_eq!(
        stored(&env, &device_code).await.unwrap().user_id,
        Some(user_id(&env, "test_user").await),
        "bound to the user who entered it"
    );
    // Entering it again (back button) is fine for the same user.
    assert_eq!(b.enter(&user_code).await.status, 302);

    // Decided grants are "used".
    b.approve(&user_code, "accept").await;
    let page = b.enter(&user_code).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        count(&page.body, "User code has already been used"),
        1,
        "{}",
        page.body
    );
    let (_, denied) = start(&server, &id, None).await;
    b.approve(&denied, "deny").await;
    let page = b.enter(&denied).await;
    assert_eq!(count(&page.body, "User code has already been used"), 1);
}

/// The confirmation page, Accept / Deny, the status page, a bad action.
async fn confirm_accept_deny_and_status(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;
    let confirm = b.enter(&user_code).await.loc();

    // 120.
    let page = b.get(&confirm).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Smart TV"), "{}", page.body);
    assert!(page.body.contains("Reading scope") && page.body.contains("Writing scope"));
    assert!(
        page.body.contains(&user_code),
        "the code to compare with the device"
    );
    assert!(page.body.contains("name=\"action\" value=\"accept\""));
    assert!(page.body.contains("name=\"action\" value=\"deny\""));
    assert!(page.body.contains("name=\"csrfmiddlewaretoken\""));

    // An unknown action is a 400 and changes nothing.
    let page = b.decide(&confirm, "foo").await;
    assert_eq!(page.status, 400);
    let csrf = b.csrf().await;
    let page = b.post(&confirm, &[("csrfmiddlewaretoken", &csrf)]).await;
    assert_eq!(page.status, 400, "no action");
    let page = b
        .post(
            &confirm,
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("action", "accept"),
                ("action", "deny"),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "two actions");
    assert_eq!(
        stored(&env, &device_code).await.unwrap().status,
        DeviceGrantStatus::AuthorizationPending
    );

    // 121.
    let page = b.decide(&confirm, "accept").await;
    assert_eq!(page.status, 302);
    let status = format!("/o/device-grant-status/{id}/{}", stored_code(&user_code));
    assert_eq!(page.loc(), status);
    let page = b.get(&status).await;
    assert_eq!(page.status, 200);
    assert_eq!(count(&page.body, "Device Authorized"), 1, "{}", page.body);
    let grant = stored(&env, &device_code).await.unwrap();
    assert_eq!(grant.status, DeviceGrantStatus::Authorized);
    assert_eq!(grant.user_id, Some(user_id(&env, "test_user").await));
    // A decided grant's confirmation page leads to its status; deciding again changes nothing.
    let page = b.get(&confirm).await;
    assert_eq!((page.status, page.loc()), (302, status.clone()));
    assert_eq!(b.decide(&confirm, "deny").await.loc(), status);
    assert_eq!(
        stored(&env, &device_code).await.unwrap().status,
        DeviceGrantStatus::Authorized
    );

    // Deny.
    let (device_code, user_code) = start(&server, &id, None).await;
    let status = b.approve(&user_code, "deny").await;
    assert_eq!(
        status,
        format!("/o/device-grant-status/{id}/{}", stored_code(&user_code))
    );
    let page = b.get(&status).await;
    assert_eq!(count(&page.body, "Device Denied"), 1, "{}", page.body);
    assert_eq!(
        stored(&env, &device_code).await.unwrap().status,
        DeviceGrantStatus::Denied
    );

    // Once the device has its tokens the grant is gone: the status page says so (404).
    let (device_code, user_code) = start(&server, &id, None).await;
    let status = b.approve(&user_code, "accept").await;
    assert_eq!(poll(&server, &id, &device_code).await.status, 200);
    let page = b.get(&status).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("completed"), "{}", page.body);
}

/// A second user sees nothing of a grant the first one entered (404), cannot decide it,
/// and cannot take the code over.
async fn another_user_sees_nothing(env: Env) {
    let (server, id) = fixture(&env, &[]);
    env.create_user("other_user", "654321");
    let (device_code, user_code) = start(&server, &id, None).await;
    let owner = logged_in(&server).await;
    let confirm = owner.enter(&user_code).await.loc();
    let status = format!("/o/device-grant-status/{id}/{}", stored_code(&user_code));

    let other = Browser::new(&server.base);
    other.login_as("other_user", "654321").await;
    assert_eq!(other.get(&confirm).await.status, 404);
    assert_eq!(other.decide(&confirm, "accept").await.status, 404);
    assert_eq!(other.decide(&confirm, "deny").await.status, 404);
    assert_eq!(other.get(&status).await.status, 404);
    let page = other.enter(&user_code).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        count(&page.body, "User code has already been used"),
        1,
        "{}",
        page.body
    );
    let grant = stored(&env, &device_code).await.unwrap();
    assert_eq!(grant.status, DeviceGrantStatus::AuthorizationPending);
    assert_eq!(grant.user_id, Some(user_id(&env, "test_user").await));

    // The owner still can.
    assert_eq!(owner.decide(&confirm, "accept").await.status, 302);
    // And the other user still cannot look.
    assert_eq!(other.get(&status).await.status, 404);
}

/// Tokens with a refresh token, for the approving user; the code is single use
/// (DOT redeems it again and again); the refresh token works.
async fn tokens_for_the_approving_user(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (device_code, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;
    b.approve(&user_code, "accept").await;

    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "access_token",
            "expires_in",
            "token_type",
            "scope",
            "refresh_token"
        ])
    );
    assert_eq!(r.body["expires_in"], 36000);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["scope"], "read write");
    let uid = user_id(&env, "test_user").await;
    let store = env.db().await.store();
    let access = store
        .find_access_token(&token_checksum(r.body["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.user_id, Some(uid));
    let refresh_token = r.body["refresh_token"].as_str().unwrap();
    let refresh = store
        .find_refresh_token(&token_checksum(refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh.user_id, uid);

    // Single use: the grant is gone.
    assert!(stored(&env, &device_code).await.is_none());
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "invalid_grant",
    );

    // The refresh token works for the public client.
    let r = post_form(
        &server,
        TOKEN,
        encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &id),
        ]),
        FORM,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "read write");
}

/// The scope asked for, or the default scopes frozen at device authorization time.
async fn scope_is_frozen_at_device_authorization(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let b = logged_in(&server).await;

    let (device_code, user_code) = start(&server, &id, Some("read")).await;
    let page = b.get(&b.enter(&user_code).await.loc()).await;
    assert!(page.body.contains("Reading scope") && !page.body.contains("Writing scope"));
    b.decide(
        &format!("/o/device-confirm/{id}/{}", stored_code(&user_code)),
        "accept",
    )
    .await;
    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.body["scope"], "read", "{}", r.body);

    // Whitespace only: the defaults. A long repetitive scope string is one scope.
    let (device_code, _) = start(&server, &id, Some("   ")).await;
    assert_eq!(
        stored(&env, &device_code).await.unwrap().scope,
        "read write"
    );
    let long = "read ".repeat(1000);
    let (device_code, _) = start(&server, &id, Some(&long)).await;
    assert_eq!(stored(&env, &device_code).await.unwrap().scope, "read");

    // No scope: today's defaults, kept when the defaults change before the user approves.
    let (device_code, user_code) = start(&server, &id, None).await;
    drop(server);
    let server = Server::start(&env, &settings(&[("OAUTH_TOOLKIT_DEFAULT_SCOPES", "read")]));
    let b = b.on(&server.base);
    b.approve(&user_code, "accept").await;
    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "read write");
}

/// Confirmation and status URLs of grants that do not exist, and malformed ones, are 404.
async fn nonexistent_grants_are_404(env: Env) {
    let (server, id) = fixture(&env, &[]);
    let (_, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;
    let code = stored_code(&user_code);
    for path in [
        format!("/o/device-confirm/{id}/ABCDEFGH"),
        format!("/o/device-confirm/not-a-client/{code}"),
        format!("/o/device-grant-status/{id}/ABCDEFGH"),
        format!("/o/device-grant-status/not-a-client/{code}"),
        // Entered by nobody yet: not this user's.
        format!("/o/device-confirm/{id}/{code}"),
        format!("/o/device-grant-status/{id}/{code}"),
        "/o/device-confirm/%00/%00".to_string(),
        "/o/device-confirm/%FF%FE/x".to_string(),
        "/o/device-grant-status/%zz/%".to_string(),
        format!(
            "/o/device-confirm/{}/{}",
            "A".repeat(5000),
            "B".repeat(5000)
        ),
        "/o/device-confirm/x/y/z".to_string(),
        "/o/device-confirm/x".to_string(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
    }
    let csrf = b.csrf().await;
    let page = b
        .post(
            &format!("/o/device-confirm/{id}/ABCDEFGH"),
            &[("csrfmiddlewaretoken", &csrf), ("action", "accept")],
        )
        .await;
    assert_eq!(page.status, 404);
}

/// An authorized device code is redeemed exactly once when polls race, across two `serve`
/// processes sharing the database (DOT issues tokens for each).
async fn authorized_code_redeemed_once_under_race(env: Env) {
    let (first, id) = fixture(&env, &[]);
    let second = Server::start(&env, &settings(&[]));
    let (device_code, user_code) = start(&first, &id, None).await;
    logged_in(&first).await.approve(&user_code, "accept").await;

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let base = if i % 2 == 0 {
                first.base.clone()
            } else {
                second.base.clone()
            };
            let form = encode(&[
                ("grant_type", GRANT),
                ("device_code", &device_code),
                ("client_id", &id),
            ]);
            tokio::spawn(async move {
                let resp = client()
                    .post(format!("{base}{TOKEN}"))
                    .header("content-type", FORM)
                    .body(form)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ok, 1, "exactly one poll gets tokens");
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_refreshtoken").await, 1);
}

/// DOT routes `device-confirm/` with slug converters, so URL-shaped client ids (CIMD) cannot
/// be confirmed; here path segments are percent-encoded and decoded.
async fn client_ids_unsafe_in_paths(env: Env) {
    env.create_user("test_user", "123456");
    let weird = "tv.example/apps/living-room?x=1#%25é"; // no `:`: it would break Basic auth
    let (id, _) = env.create_app("public", GRANT, &["--client-id", weird]);
    assert_eq!(id, weird);
    let server = Server::start(&env, &settings(&[]));
    let (device_code, user_code) = start(&server, &id, None).await;
    let b = logged_in(&server).await;
    let entered = b.enter(&user_code).await;
    assert_eq!(entered.status, 302);
    let confirm = entered.loc();
    assert!(
        confirm.starts_with(
            "/o/device-confirm/tv.example%2Fapps%2Fliving-room%3Fx%3D1%23%2525%C3%A9/"
        ),
        "{confirm}"
    );
    assert_eq!(b.get(&confirm).await.status, 200);
    let status = b.decide(&confirm, "accept").await.loc();
    assert_eq!(b.get(&status).await.status, 200);
    let r = poll(&server, &id, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The whole flow with the `oauth2` crate as the device (RFC 8628 client: it polls, honours
/// `interval` and `slow_down`), the user logging in through the real pages meanwhile.
async fn device_flow_with_the_oauth2_crate(env: Env) {
    let (server, id) = fixture(&env, &[("OAUTH_TOOLKIT_DEVICE_FLOW_INTERVAL", "1")]);
    let device = BasicClient::new(ClientId::new(id.clone()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{}{DEVICE_AUTHORIZATION}", server.base)).unwrap(),
        )
        .set_token_uri(TokenUrl::new(format!("{}{TOKEN}", server.base)).unwrap());
    let http = client();
    let details: StandardDeviceAuthorizationResponse = device
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/o/device/", server.base)
    );
    assert_eq!(details.interval(), Duration::from_secs(1));
    let user_code = details.user_code().secret().clone();

    let polling = {
        let device = device.clone();
        let details = details.clone();
        tokio::spawn(async move {
            let http = client();
            device
                .exchange_device_access_token(&details)
                .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
                .await
        })
    };
    // Let the device poll a few times while the user is still away.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!polling.is_finished());

    // The user opens the verification URI, logs in, enters the code and accepts.
    let b = Browser::new(&server.base);
    let page = b.get(DEVICE_PAGE).await;
    let login = next_of(&page.loc());
    assert_eq!(login, DEVICE_PAGE);
    b.login().await;
    b.approve(&user_code, "accept").await;

    let token = polling.await.unwrap().expect("tokens");
    assert_eq!(token.scopes().unwrap(), &vec![Scope::new("read".into())]);
    assert!(token.refresh_token().is_some());
    let stored = env
        .db()
        .await
        .store()
        .find_access_token(&token_checksum(token.access_token().secret()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, Some(user_id(&env, "test_user").await));
    assert!(
        !server
            .log
            .lock()
            .unwrap()
            .contains(details.device_code().secret()),
        "device codes are never logged"
    );

    // Denied: the crate reports access_denied.
    let details: StandardDeviceAuthorizationResponse = device
        .exchange_device_code()
        .request_async(&http)
        .await
        .unwrap();
    b.approve(details.user_code().secret(), "deny").await;
    let err = device
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(30)))
        .await
        .unwrap_err();
    match err {
        oauth2::RequestTokenError::ServerResponse(e) => {
            assert_eq!(
                e.error(),
                &oauth2::DeviceCodeErrorResponseType::AccessDenied
            )
        }
        other => panic!("{other:?}"),
    }
}

/// Hostile input at every device endpoint: never a 5xx; token errors stay RFC 6749 §5.2.
async fn hostile_input_never_fails(env: Env) {
    // More wrong codes than the user-code throttle allows (tested on its own).
    let (server, id) = fixture(
        &env,
        &[("OAUTH_TOOLKIT_DEVICE_USER_CODE_FAILURE_LIMIT", "0")],
    );
    let (device_code, user_code) = start(&server, &id, None).await;
    let huge = "x".repeat(200_000);
    let nul = "a\0b";
    let raw_bodies: Vec<String> = vec![
        encode(&[("client_id", nul)]),
        encode(&[("client_id", &huge)]),
        encode(&[("client_id", &id), ("scope", nul)]),
        encode(&[("client_id", &id), ("scope", "read\u{1}")]),
        encode(&[("client_id", "é\u{202e}")]),
        format!("client_id={id}&client_id=%FF%FE"),
        "client_id=%".to_string(),
        "client_id=%zz&&&==&".to_string(),
        "\u{0}\u{0}".to_string(),
        String::new(),
    ];
    for body in &raw_bodies {
        let r = post_form(&server, DEVICE_AUTHORIZATION, body.clone(), FORM).await;
        assert!(r.status == 400 || r.status == 401 || r.status == 200 || r.status == 413);
        if r.status != 413 && r.status != 200 {
            assert!(r.body["error"].is_string(), "{body:.80}: {}", r.body);
        }
    }
    let token_bodies = vec![
        encode(&[
            ("grant_type", GRANT),
            ("client_id", &id),
            ("device_code", nul),
        ]),
        encode(&[
            ("grant_type", GRANT),
            ("client_id", &id),
            ("device_code", &huge),
        ]),
        encode(&[
            ("grant_type", GRANT),
            ("client_id", &id),
            ("device_code", &device_code),
            ("device_code", &device_code),
        ]),
        encode(&[
            ("grant_type", GRANT),
            ("client_id", &id),
            ("device_code", "%00"),
        ]),
        format!("grant_type={GRANT}&client_id={id}&device_code=%FF%FE"),
        encode(&[
            ("grant_type", GRANT),
            ("client_id", nul),
            ("device_code", "x"),
        ]),
    ];
    for body in &token_bodies {
        let r = post_form(&server, TOKEN, body.clone(), FORM).await;
        assert!(
            matches!(r.status, 400 | 401 | 413),
            "{body:.80}: {} {}",
            r.status,
            r.body
        );
        if r.status != 413 {
            let code = r.body["error"].as_str().unwrap_or("");
            assert!(
                ["invalid_request", "invalid_grant", "invalid_client"].contains(&code),
                "{body:.80}: {}",
                r.body
            );
        }
    }
    // The grant is untouched by all that.
    assert_error(
        &poll(&server, &id, &device_code).await,
        400,
        "authorization_pending",
    );

    // The pages.
    let b = logged_in(&server).await;
    for input in [
        nul,
        "\u{0}",
        &huge[..5000],
        "é",
        "../../etc/passwd",
        "WDJB-MJHT-WDJB-MJHT",
        "%",
        "' OR 1=1 --",
        "",
        "        ",
        "-----",
    ] {
        let page = b.enter(input).await;
        assert_eq!(page.status, 200, "{input:.40}");
        assert!(
            page.body.contains("Incorrect user code"),
            "{input:.40}: {}",
            page.body
        );
    }
    // The server closes the connection after a 413 (the body is left unread): send it from a
    // throwaway client with the same cookies, so no later request reuses that connection.
    let page = b.on(&server.base).enter(&huge).await;
    assert_eq!(page.status, 413, "beyond max_body_bytes");
    let csrf = b.csrf().await;
    for form in [
        vec![("csrfmiddlewaretoken", csrf.as_str())],
        vec![
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("user_code", "nope"),
            ("user_code", &user_code),
        ],
    ] {
        let page = b.post(DEVICE_PAGE, &form).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Incorrect user code"));
    }
    let page = b
        .post_raw(
            DEVICE_PAGE,
            b"user_code=%FF%FE&csrfmiddlewaretoken=x%00".to_vec(),
        )
        .await;
    assert_eq!(page.status, 403);
    for query in [
        "?user_code=%00",
        "?user_code=%FF",
        "?user_code=%",
        "?user_code=a&user_code=b",
    ] {
        let page = b.get(&format!("{DEVICE_PAGE}{query}")).await;
        assert_eq!(page.status, 200, "{query}");
    }
    // Nothing was bound or decided.
    let grant = stored(&env, &device_code).await.unwrap();
    assert_eq!(grant.user_id, None);
    assert_eq!(grant.status, DeviceGrantStatus::AuthorizationPending);
}

/// RFC 8414 / RFC 8628 §4: the endpoint and the grant type are advertised, and answer there.
async fn metadata_advertises_the_device_endpoint(env: Env) {
    let (server, id) = fixture(&env, &[("OAUTH_TOOLKIT_ISSUER", "http://localhost")]);
    let doc: Value = client()
        .get(format!(
            "{}/o/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        "http://localhost/o/device-authorization/"
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(GRANT)));
    let r = device_authorize(&server, &[("client_id", &id)]).await;
    assert_eq!(r.status, 200);
    // The default verification URI follows the issuer.
    assert_eq!(r.body["verification_uri"], "http://localhost/o/device/");
}

/// RFC 8628 §5.1: after `device_user_code_failure_limit` wrong codes an account is refused
/// (429, `Retry-After`) even for a right code, until the window closes; other accounts are
/// not affected, and the count lives in the database (a second process refuses too).
async fn user_code_guessing_is_throttled_per_account(env: Env) {
    env.create_user("other_user", "123456");
    let (server, client_id) = fixture(
        &env,
        &[("OAUTH_TOOLKIT_DEVICE_USER_CODE_FAILURE_LIMIT", "3")],
    );
    let second = Server::start(
        &env,
        &settings(&[("OAUTH_TOOLKIT_DEVICE_USER_CODE_FAILURE_LIMIT", "3")]),
    );
    let (_, user_code) = start(&server, &client_id, None).await;
    let guesser = Browser::new(&server.base);
    guesser.login().await;
    for guess in ["AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"] {
        let p = guesser.enter(guess).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("Incorrect user code"), "{}", p.body);
    }
    let p = guesser.enter(&user_code).await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(
        p.body.contains("Too many incorrect user codes"),
        "{}",
        p.body
    );
    let retry: u64 = p.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // The same account on another process is refused too.
    let p = guesser.on(&second.base).enter(&user_code).await;
    assert_eq!(p.status, 429, "{}", p.body);
    // Another account is not locked out by the guesser.
    let other = Browser::new(&server.base);
    other.login_as("other_user", "123456").await;
    let p = other.enter(&user_code).await;
    assert_eq!(p.status, 302, "{}", p.body);
    second.terminate();
    server.terminate();
}
