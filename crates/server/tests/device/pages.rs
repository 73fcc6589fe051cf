//! The user's pages.

use oauth_toolkit_core::models::DeviceGrantStatus;

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

backends!(
    pages_require_login,
    user_code_entry,
    confirm_accept_deny_and_status,
    another_user_sees_nothing,
    nonexistent_grants_are_404,
    client_ids_unsafe_in_paths,
);

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
    // The only script is the pages' external one, which adds copy buttons; nothing inline.
    assert!(
        form.body
            .match_indices("<script")
            .all(|(i, _)| form.body[i..].starts_with("<script src=")),
        "no inline script: {}",
        form.body
    );

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
