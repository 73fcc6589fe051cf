mod common;
use common::*;

// Hardening of sign-in, black-box against `oauth-toolkit serve` on SQLite and PostgreSQL:
// sessions that end server-side (logout, deactivation, a new password, in every process),
// `updateuser`, `prompt=login` that logs nobody out, the database-backed throttles of sign-in
// and client authentication, and the fair slow-hash gate under a flood of wrong passwords.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::http_browser::{client, encode, Browser};
use serde_json::Value;

backends!(
    a_copied_cookie_stops_working_after_logout,
    deactivation_ends_sessions_and_sign_in,
    a_new_password_ends_sessions,
    updateuser_checks_before_writing,
    prompt_login_keeps_the_session_until_the_new_login,
    sign_in_is_throttled_per_username_and_address,
    a_success_resets_the_sign_in_count,
    the_password_grant_is_throttled_too,
    the_sign_in_throttle_can_be_turned_off,
    concurrent_guesses_learn_no_more_than_the_limit,
    concurrent_sign_ins_of_one_user_are_not_refused,
    the_address_limit_counts_every_username,
    client_authentication_is_throttled_per_client_and_address,
    a_flood_of_wrong_passwords_does_not_starve_a_sign_in,
);

const REDIRECT: &str = "http://127.0.0.1/cb";

/// A reqwest client whose connections come from `addr` (any 127.0.0.0/8 address is the
/// loopback interface), so tests can be "another client address".
fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(addr.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn browser_from(base: &str, addr: &str) -> Browser {
    let mut b = Browser::new(base);
    b.http = client_from(addr);
    b
}

/// Is `b` logged in? (The provider's logout page says so.)
async fn logged_in(b: &Browser) -> bool {
    b.get("/accounts/logout/")
        .await
        .body
        .contains("Do you want to log out?")
}

async fn logout(b: &Browser) {
    let csrf = b.csrf().await;
    let p = b
        .post("/accounts/logout/", &[("csrfmiddlewaretoken", &csrf)])
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
}

fn updateuser(env: &Env, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut cmd = env.cmd();
    cmd.arg("updateuser").args(args);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

async fn a_copied_cookie_stops_working_after_logout(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let one = Server::start(&env, &[]);
    let two = Server::start(&env, &[]);
    let b = Browser::new(&one.base);
    b.login_as("alice", "s3cret-pw").await;
    let copy = b.on(&two.base);
    assert!(logged_in(&copy).await, "the cookie works on every process");
    logout(&b).await;
    assert!(!logged_in(&b).await);
    assert!(
        !logged_in(&copy).await,
        "a copy taken before the logout is dead"
    );
    // A new login is a new session: the old cookie stays dead.
    b.login_as("alice", "s3cret-pw").await;
    assert!(!logged_in(&copy).await);
    assert!(logged_in(&b.on(&two.base)).await);
    two.terminate();
    one.terminate();
}

async fn deactivation_ends_sessions_and_sign_in(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let server = Server::start(&env, &[]);
    let b = Browser::new(&server.base);
    b.login_as("alice", "s3cret-pw").await;
    let copy = b.on(&server.base);
    let o = updateuser(&env, &["alice", "--inactive", "--json"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["username"], "alice");
    assert!(v["id"].as_i64().is_some());
    assert!(!logged_in(&copy).await);
    // Cannot sign in, with the right password.
    let p = Browser::new(&server.base)
        .login_next("alice", "s3cret-pw", "/")
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p
        .body
        .contains("Please enter a correct username and password"));
    // Reactivated: signs in again.
    let o = updateuser(&env, &["alice", "--active"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    Browser::new(&server.base)
        .login_as("alice", "s3cret-pw")
        .await;
    server.terminate();
}

async fn a_new_password_ends_sessions(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let server = Server::start(&env, &[]);
    let b = Browser::new(&server.base);
    b.login_as("alice", "s3cret-pw").await;
    let o = updateuser(&env, &["alice", "--password-stdin"], Some("n3w-pass\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 session(s) ended"), "{}", stdout(&o));
    assert!(!logged_in(&b).await);
    let p = Browser::new(&server.base)
        .login_next("alice", "s3cret-pw", "/")
        .await;
    assert_eq!(p.status, 200, "the old password no longer works");
    Browser::new(&server.base)
        .login_as("alice", "n3w-pass")
        .await;
    server.terminate();
}

async fn updateuser_checks_before_writing(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let o = updateuser(&env, &["nobody", "--inactive"], None);
    assert!(!o.status.success());
    assert_eq!(error_line(&o), "error: username: no user named `nobody`");
    let o = updateuser(
        &env,
        &["alice", "--email", "not-an-address", "--staff"],
        None,
    );
    assert!(!o.status.success());
    assert!(
        error_line(&o).starts_with("error: email:"),
        "{}",
        stderr(&o)
    );
    let o = updateuser(&env, &["alice", "--active", "--inactive"], None);
    assert!(!o.status.success());
    let o = updateuser(&env, &["alice", "--password-stdin"], Some("\n"));
    assert!(!o.status.success());
    assert_eq!(error_line(&o), "error: password: must not be empty");
    let u = db_user(&env, "alice").await;
    let (staff, email) = (u.is_staff, u.email);
    assert!(!staff, "nothing was written");
    assert_eq!(email, "");
    let o = updateuser(
        &env,
        &["alice", "--staff", "--email", "alice@example.org"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let u = db_user(&env, "alice").await;
    assert!(u.is_staff);
    assert_eq!(u.email, "alice@example.org");
    assert!(u.is_active);
}

async fn db_user(env: &Env, name: &str) -> oauth_toolkit_core::models::User {
    let db = env.db().await;
    let store = db.store();
    let user = store.find_user_by_username(name).await.unwrap().unwrap();
    db.close().await;
    user
}

/// `prompt=login` sends the user to the login page but does not end the session: a
/// cross-site link with it cannot log anyone out.
async fn prompt_login_keeps_the_session_until_the_new_login(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let (client_id, _) = env.create_app(
        "confidential",
        "authorization-code",
        &["--redirect-uris", REDIRECT],
    );
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let b = Browser::new(&server.base);
    b.login_as("alice", "s3cret-pw").await;
    let q = encode(&[
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT),
        ("nonce", "n"),
        ("prompt", "login"),
    ]);
    let p = b.get(&format!("/o/authorize/?{q}")).await;
    assert_eq!(p.status, 302);
    assert!(p.loc().starts_with("/accounts/login/"), "{}", p.loc());
    assert!(
        logged_in(&b).await,
        "prompt=login must not log the user out"
    );
    // The new login continues the request, without the prompt.
    let next = reqwest::Url::parse(&format!("http://x{}", p.loc()))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(!next.contains("prompt=login"), "{next}");
    let p = b.login_next("alice", "s3cret-pw", &next).await;
    assert_eq!(p.status, 302);
    assert_eq!(p.loc(), next);
    server.terminate();
}

/// Post the login form from `b` with `password`; the response.
async fn try_login(b: &Browser, user: &str, password: &str) -> common::http_browser::Page {
    b.login_next(user, password, "/").await
}

async fn sign_in_is_throttled_per_username_and_address(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let one = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "3")]);
    let two = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "3")]);
    let attacker = browser_from(&one.base, "127.0.0.1");
    for _ in 0..3 {
        let p = try_login(&attacker, "alice", "wrong").await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("Please enter a correct username"));
    }
    // Locked for alice from this address, even with the right password, on every process.
    for server in [&one, &two] {
        let b = browser_from(&server.base, "127.0.0.1");
        let p = try_login(&b, "alice", "s3cret-pw").await;
        assert_eq!(p.status, 429, "{}", p.body);
        assert!(
            p.body.contains("Too many failed login attempts"),
            "{}",
            p.body
        );
        assert!(
            p.body.contains("name=\"password\""),
            "the form is shown again"
        );
        let retry: u64 = p.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert!(!logged_in(&b).await);
    }
    // Alice from her own address is not locked out by the attacker.
    let alice = browser_from(&one.base, "127.0.0.2");
    alice.login_as("alice", "s3cret-pw").await;
    // Other usernames from the attacker's address are not affected (no address limit).
    let p = try_login(&attacker, "bob", "x").await;
    assert_eq!(p.status, 200);
    two.terminate();
    one.terminate();
}

async fn a_success_resets_the_sign_in_count(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "3")]);
    for _ in 0..3 {
        let b = Browser::new(&server.base);
        for _ in 0..2 {
            assert_eq!(try_login(&b, "alice", "wrong").await.status, 200);
        }
        b.login_as("alice", "s3cret-pw").await;
    }
    server.terminate();
}

async fn password_grant(
    http: &reqwest::Client,
    base: &str,
    app: &(String, String),
    user: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http
        .post(format!("{base}/o/token/"))
        .basic_auth(&app.0, Some(&app.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ]))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn the_password_grant_is_throttled_too(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let app = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[]);
    let http = client();
    for _ in 0..5 {
        let (status, _, body) = password_grant(&http, &server.base, &app, "alice", "nope").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
    let (status, headers, body) =
        password_grant(&http, &server.base, &app, "alice", "s3cret-pw").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(headers["cache-control"], "no-store");
    // The login page shares the count (same username, same address).
    let p = try_login(&Browser::new(&server.base), "alice", "s3cret-pw").await;
    assert_eq!(p.status, 429);
    // Another address is fine.
    let (status, _, body) = password_grant(
        &client_from("127.0.0.3"),
        &server.base,
        &app,
        "alice",
        "s3cret-pw",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    server.terminate();
}

async fn the_sign_in_throttle_can_be_turned_off(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "0")]);
    let b = Browser::new(&server.base);
    for _ in 0..8 {
        assert_eq!(try_login(&b, "alice", "wrong").await.status, 200);
    }
    b.login_as("alice", "s3cret-pw").await;
    server.terminate();
}

async fn client_credentials(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http
        .post(format!("{base}/o/token/"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn client_authentication_is_throttled_per_client_and_address(env: Env) {
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let settings = [
        ("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_FAILURE_LIMIT", "4"),
        // Without the cache every request really checks the secret.
        ("OAUTH_TOOLKIT_CLIENT_AUTHENTICATION_CACHE_SECONDS", "0"),
    ];
    let one = Server::start(&env, &settings);
    let two = Server::start(&env, &settings);
    let attacker = client_from("127.0.0.1");
    for _ in 0..4 {
        let (status, _, body) = client_credentials(&attacker, &one.base, &id, "guess").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
    }
    for base in [&one.base, &two.base] {
        let (status, headers, body) = client_credentials(&attacker, base, &id, &secret).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(
            headers["retry-after"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }
    // Introspection and revocation authenticate through the same throttle.
    let r = attacker
        .post(format!("{}/o/introspect/", one.base))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = attacker
        .post(format!("{}/o/revoke_token/", one.base))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // The client itself, from its own address, is not locked out.
    let (status, _, body) =
        client_credentials(&client_from("127.0.0.2"), &one.base, &id, &secret).await;
    assert_eq!(status, 200, "{body}");
    two.terminate();
    one.terminate();
}

/// 64 connections send wrong passwords (unknown usernames, so no throttle stops them: every
/// one costs a full argon2 check) as fast as they can from one address; sign-ins from
/// another address still complete. Prints the figures.
async fn a_flood_of_wrong_passwords_does_not_starve_a_sign_in(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let app = env.create_app("confidential", "password", &[]);
    // A short request timeout: a sign-in queued behind the flood would run into it.
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_REQUEST_TIMEOUT_SECONDS", "10")]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut flood = Vec::new();
    for c in 0..64 {
        let (stop, sent) = (stop.clone(), sent.clone());
        let (base, app) = (server.base.clone(), app.clone());
        flood.push(tokio::spawn(async move {
            let http = client_from("127.0.0.1");
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let user = format!("nobody{c}x{i}");
                let _ = password_grant(&http, &base, &app, &user, "wrong").await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    // Let the flood fill the queue first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let b = browser_from(&server.base, "127.0.0.2");
        b.login_as("alice", "s3cret-pw").await;
        times.push(started.elapsed());
    }
    // For comparison: sign-ins from the flood's own address wait in its queue, as every
    // sign-in did behind a first-come-first-served gate.
    let mut same = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let b = browser_from(&server.base, "127.0.0.1");
        b.login_as("alice", "s3cret-pw").await;
        same.push(started.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in flood {
        t.await.unwrap();
    }
    times.sort();
    same.sort();
    println!(
        "fair slow-hash gate: {} wrong-password requests by 64 connections; 5 sign-ins from \
         another address: median {:?}, max {:?}; 3 from the flood's address: median {:?}",
        sent.load(std::sync::atomic::Ordering::Relaxed),
        times[2],
        times[4],
        same[1]
    );
    assert!(
        sent.load(std::sync::atomic::Ordering::Relaxed) > 64,
        "the flood ran"
    );
    server.terminate();
}

/// 24 wrong guesses at once for one username from one address, limit 3: the guesses that
/// raced past the limit are answered 429, so at most 3 are told "wrong"; then even the right
/// password is refused.
async fn concurrent_guesses_learn_no_more_than_the_limit(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let app = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "3")]);
    let guesses = (0..24).map(|i| format!("guess{i}")).collect();
    let statuses = simultaneous_password_grants(&server.base, &app, guesses).await;
    let told_wrong = statuses.iter().filter(|s| **s == 400).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(told_wrong + refused, 24, "{statuses:?}");
    assert!(told_wrong <= 3, "{statuses:?}");
    let (status, _, body) =
        password_grant(&client(), &server.base, &app, "alice", "s3cret-pw").await;
    assert_eq!(status, 429, "{body}");
    server.terminate();
}

/// Failures are what is counted: 24 simultaneous right sign-ins of one user from one address
/// (a service account) all succeed.
async fn concurrent_sign_ins_of_one_user_are_not_refused(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let app = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "2")]);
    let right = vec!["s3cret-pw".to_string(); 24];
    let statuses = simultaneous_password_grants(&server.base, &app, right).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    server.terminate();
}

/// `login_failure_address_limit`: failures over all usernames from one address; then that
/// address is refused for every username (even with a right password), other addresses not.
async fn the_address_limit_counts_every_username(env: Env) {
    env.create_user("alice", "s3cret-pw");
    let server = Server::start(
        &env,
        &[
            ("OAUTH_TOOLKIT_LOGIN_FAILURE_ADDRESS_LIMIT", "3"),
            ("OAUTH_TOOLKIT_LOGIN_FAILURE_LIMIT", "0"),
        ],
    );
    let spray = browser_from(&server.base, "127.0.0.1");
    for user in ["bob", "carol", "dave"] {
        assert_eq!(try_login(&spray, user, "Winter2026!").await.status, 200);
    }
    let p = try_login(&spray, "alice", "s3cret-pw").await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.header("retry-after").is_some());
    browser_from(&server.base, "127.0.0.2")
        .login_as("alice", "s3cret-pw")
        .await;
    server.terminate();
}

/// One password grant for `alice` per password, all sent at once; their statuses.
async fn simultaneous_password_grants(
    base: &str,
    app: &(String, String),
    passwords: Vec<String>,
) -> Vec<u16> {
    let tasks: Vec<_> = passwords
        .into_iter()
        .map(|password| {
            let (base, app) = (base.to_string(), app.clone());
            tokio::spawn(async move {
                password_grant(&client(), &base, &app, "alice", &password)
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}
