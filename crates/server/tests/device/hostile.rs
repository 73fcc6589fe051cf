//! Hostile input at every endpoint, and user codes guessed.

use oauth_toolkit_core::models::DeviceGrantStatus;

use crate::common::http_browser::{encode, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    hostile_input_never_fails,
    user_code_guessing_is_throttled_per_account
);

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
