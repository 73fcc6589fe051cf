//! Polling the token endpoint.

use oauth_toolkit_core::models::DeviceGrantStatus;
use serde_json::Value;

use crate::common::http_browser::{client, encode};
use crate::common::*;
use crate::support::*;

backends!(
    polling_answers,
    slow_down_when_polling_too_fast,
    expired_while_pending
);

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
