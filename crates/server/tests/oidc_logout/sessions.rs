//! A hint is never a credential: only a confirmed logout ends a session, and only its
//! own tokens go.

use serde_json::Value;

use crate::common::http_browser::{client, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    a_hint_without_a_session_deletes_nothing,
    confirming_with_another_users_hint_ends_only_ones_own_tokens,
    a_post_without_the_csrf_value_never_ends_a_session,
    a_copied_cookie_stops_working_after_rp_logout,
);

/// The bearer token still reaches userinfo (200) or not (401).
async fn userinfo_status(op: &Op, access_token: &Value) -> u16 {
    client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(access_token.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An `id_token_hint` is a hint, never a credential: a cookie-less GET or a cross-site POST
/// carrying A's ID token of `test_user` ends no session and deletes none of its tokens.
async fn a_hint_without_a_session_deletes_nothing(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let tokens = op.sign_in(&b, &op.a.clone()).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    let db = env.db().await;
    let stranger = Browser::new(op.base());
    let p = op
        .logout(
            &stranger,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org");
    let p = stranger
        .post(LOGOUT, &[("id_token_hint", hint.as_str())])
        .await;
    assert!(p.status == 200 || p.status == 302, "{}", p.body);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(userinfo_status(&op, &tokens["access_token"]).await, 200);
    assert!(logged_in(&b).await, "the victim's session is untouched");
    op.server.terminate();
}

/// B is logged in and confirms a logout that carries A's hint: B's session and B's tokens of
/// the client end; A's tokens and A's session stay.
async fn confirming_with_another_users_hint_ends_only_ones_own_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let alice = op.browser().await;
    let alice_tokens = op.sign_in(&alice, &op.a.clone()).await;
    let bob = Browser::new(op.base());
    bob.login_as("other_user", "123456").await;
    let bob_tokens = op.sign_in(&bob, &op.a.clone()).await;
    let p = op
        .logout(
            &bob,
            &[("id_token_hint", alice_tokens["id_token"].as_str().unwrap())],
        )
        .await;
    let p = answer(&bob, &p, true).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&bob).await);
    assert_eq!(userinfo_status(&op, &bob_tokens["access_token"]).await, 401);
    assert_eq!(
        userinfo_status(&op, &alice_tokens["access_token"]).await,
        200
    );
    assert!(logged_in(&alice).await);
    op.server.terminate();
}

/// A POST to `logout/` without the confirmation page's CSRF value, even with a hint that names
/// the logged-in user, only shows the confirmation page: no forced logout by a form on
/// another site (or a same-site one the browser sends the cookie with).
async fn a_post_without_the_csrf_value_never_ends_a_session(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let tokens = op.sign_in(&b, &op.a.clone()).await;
    let p = b
        .post(
            LOGOUT,
            &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
        )
        .await;
    assert_confirm_page(&p);
    assert!(logged_in(&b).await);
    assert_eq!(userinfo_status(&op, &tokens["access_token"]).await, 200);
    // A wrong CSRF value is refused outright.
    let p = b
        .post(
            LOGOUT,
            &[
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
                ("csrfmiddlewaretoken", "forged"),
                ("allow", "Logout"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// The session ends server-side: a copy of the cookie taken before the logout is refused
/// afterwards, by another process too.
async fn a_copied_cookie_stops_working_after_rp_logout(env: Env) {
    let op = dot_op(&env, &[]);
    let second = start(&env, &[("OAUTH_TOOLKIT_PKCE_REQUIRED", "false")]);
    let b = op.browser().await;
    let copy = b.on(&second.base);
    assert!(logged_in(&copy).await);
    let hint = op.id_token(&b).await;
    let p = op.logout(&b, &[("id_token_hint", hint.as_str())]).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&copy).await, "the copied cookie must be dead");
    second.terminate();
    op.server.terminate();
}
