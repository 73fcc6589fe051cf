//! DOT's behaviour (ALWAYS_PROMPT=False).

use serde_json::Value;

use crate::common::http_browser::{client, encode, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    dot_153_160_without_hint_the_user_is_asked,
    dot_154_155_hint_of_the_session_user_logs_out_at_once,
    dot_156_client_id_must_match_the_hint,
    dot_157_orphaned_hint,
    dot_158_logout_deletes_only_the_requesting_clients_tokens,
    dot_159_strict_redirect_uris,
    dot_161_confirmation_answers,
    dot_162_expired_hints,
    dot_163_post_logout_redirect_uri_rules,
    dot_164_logout_deletes_tokens,
    hint_of_another_user_asks,
    logout_disabled_is_not_routed,
);

async fn exec(db: &oauth_toolkit_store::Database, sql: &str) {
    use sqlx::Connection;
    match db {
        oauth_toolkit_store::Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        oauth_toolkit_store::Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

/// Logged in, no parameters or only `client_id` → the confirmation page, still
/// logged in; the page names the client when known.
async fn dot_153_160_without_hint_the_user_is_asked(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[]).await;
    assert_confirm_page(&p);
    let p = op.logout(&b, &[("client_id", &op.a)]).await;
    assert_confirm_page(&p);
    assert!(p.body.contains("Relying Party A"));
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A valid hint of the logged-in user → logged out at once (no page): the "logged
/// out" page, or the registered URI exactly, with `state` added.
async fn dot_154_155_hint_of_the_session_user_logs_out_at_once(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op.logout(&b, &[("id_token_hint", &hint)]).await;
    assert_logged_out_page(&p);
    assert!(!logged_in(&b).await);

    b.login().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org");
    b.login().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "http://example.org"),
                ("state", "987654321"),
            ],
        )
        .await;
    assert_eq!(p.loc(), "http://example.org?state=987654321");
    assert!(!logged_in(&b).await);
    op.server.terminate();
}

/// 156, 163 (hint `111`, unknown client): a hint with another client's `client_id` → 400;
/// an unknown `client_id` → 400, never a 500; still logged in.
async fn dot_156_client_id_must_match_the_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.p)])
        .await;
    assert_refused(&p, MISMATCH);
    let p = op.logout(&b, &[("client_id", "not-a-client")]).await;
    assert_refused(&p, CLIENT_UNKNOWN);
    let p = op
        .logout(&b, &[("client_id", "x\u{0}y"), ("state", "s")])
        .await;
    assert_eq!(p.status, 400);
    let p = op.logout(&b, &[("id_token_hint", "111")]).await;
    assert_refused(&p, INVALID_HINT);
    let p = op
        .logout(&b, &[("client_id", &op.a), ("client_id", &op.a)])
        .await;
    assert_refused(&p, "Duplicate client_id parameter.");
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// A hint whose ID token record was deleted still identifies the client but no longer
/// the user: the user is asked; a wrong `client_id` or another RP's URI is refused.
async fn dot_157_orphaned_hint(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    exec(&env.db().await, "DELETE FROM oauth2_provider_idtoken").await;
    let p = op.logout(&b, &[("id_token_hint", &hint)]).await;
    assert_confirm_page(&p);
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_confirm_page(&p);
    let p = op
        .logout(
            &b,
            &[("id_token_hint", &hint), ("client_id", "not-the-right-one")],
        )
        .await;
    assert_eq!(p.status, 400);
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", P_LOGOUT_URI),
            ],
        )
        .await;
    assert_refused(&p, NOT_REGISTERED);
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// Where we differ from DOT: the first RP's logout deletes only its own tokens;
/// the second RP's hint still names the user and its URI is honoured.
async fn dot_158_logout_deletes_only_the_requesting_clients_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let a_tokens = op.sign_in(&b, &op.a.clone()).await;
    let p_tokens = op.sign_in(&b, &op.p.clone()).await;
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 2);
    let p = op
        .logout(
            &b,
            &[("id_token_hint", a_tokens["id_token"].as_str().unwrap())],
        )
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    // P's access token still works.
    let r = client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(p_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A's does not.
    let r = client()
        .get(format!("{}/o/userinfo/", op.base()))
        .bearer_auth(a_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The second RP's logout, once the browser is logged out: it is still redirected, but a
    // request that ends no session deletes nothing (the hint is no credential).
    let p = op
        .logout(
            &b,
            &[
                ("id_token_hint", p_tokens["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", P_LOGOUT_URI),
            ],
        )
        .await;
    assert_eq!(p.loc(), P_LOGOUT_URI);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    op.server.terminate();
}

/// The public client P may use its `http` URI, unless
/// `oidc_rp_initiated_logout_strict_redirect_uris`.
async fn dot_159_strict_redirect_uris(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.sign_in(&b, &op.p.clone()).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", op.p.as_str()),
        ("post_logout_redirect_uri", P_LOGOUT_URI),
    ];
    let strict = start(
        &env,
        &[(
            "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS",
            "true",
        )],
    );
    let p = b
        .on(&strict.base)
        .get(&format!("{LOGOUT}?{}", encode(&params)))
        .await;
    assert_refused(&p, "http is only allowed with confidential clients.");
    let p = op.logout(&b, &params).await;
    assert_eq!(p.loc(), P_LOGOUT_URI);
    strict.terminate();
    op.server.terminate();
}

/// The user's answer. Cancel → 400 `logout_denied`, still logged in; Logout → logged
/// out; a forged answer (no or another session's CSRF token) → 403; an RP's logout request
/// sent by POST (no CSRF field, RP-Initiated Logout §2) is handled like a GET.
async fn dot_161_confirmation_answers(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op.logout(&b, &[("client_id", &op.a)]).await;
    let cancelled = answer(&b, &p, false).await;
    assert_refused(&cancelled, "Logout has been refused by the user.");
    assert!(cancelled.body.contains("logout_denied"));
    assert!(logged_in(&b).await);

    let other = op.browser().await;
    let forged = b
        .post(
            LOGOUT,
            &[
                ("client_id", &op.a),
                ("allow", "Logout"),
                ("csrfmiddlewaretoken", &other.csrf().await),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(logged_in(&b).await);

    // The RP's POST: the confirmation page, as for a GET.
    let p = b
        .post(LOGOUT, &[("client_id", &op.a), ("allow", "Logout")])
        .await;
    assert_confirm_page(&p);
    assert!(logged_in(&b).await);
    let done = answer(&b, &p, true).await;
    assert_logged_out_page(&done);
    assert!(!logged_in(&b).await);

    // Anonymous: nothing to confirm; the answer form works too.
    let anon = Browser::new(op.base());
    let csrf = anon.csrf().await;
    let p = anon
        .post(
            LOGOUT,
            &[
                ("client_id", &op.a),
                ("allow", "True"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_logged_out_page(&p);
    op.server.terminate();
}

/// An expired hint is accepted by default, refused with
/// `oidc_rp_initiated_logout_accept_expired_tokens = false`.
async fn dot_162_expired_hints(env: Env) {
    let op = dot_op(&env, &[("OAUTH_TOOLKIT_ID_TOKEN_EXPIRE_SECONDS", "1")]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let strict = start(
        &env,
        &[
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS",
                "false",
            ),
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
                "false",
            ),
        ],
    );
    let params = [
        ("id_token_hint", hint.as_str()),
        ("client_id", op.a.as_str()),
        ("post_logout_redirect_uri", "http://example.org"),
    ];
    let p = b
        .on(&strict.base)
        .get(&format!("{LOGOUT}?{}", encode(&params)))
        .await;
    assert_refused(&p, INVALID_HINT);
    assert!(logged_in(&b).await);
    let p = op.logout(&b, &params).await;
    assert_eq!(p.loc(), "http://example.org");
    assert!(!logged_in(&b).await);
    strict.terminate();
    op.server.terminate();
}

/// `post_logout_redirect_uri` rules, with DOT's messages.
async fn dot_163_post_logout_redirect_uri_rules(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let p = op
        .logout(&b, &[("post_logout_redirect_uri", "http://example.org")])
        .await;
    assert_refused(&p, CLIENT_UNKNOWN);
    for (uri, message) in [
        ("example.org", "A Scheme is required for the redirect URI."),
        (
            "imap://example.org",
            "Redirect to scheme \"imap\" is not permitted.",
        ),
        ("http://other.org", NOT_REGISTERED),
        ("javascript:alert(1)", "is not permitted."),
    ] {
        let p = op
            .logout(
                &b,
                &[("client_id", &op.a), ("post_logout_redirect_uri", uri)],
            )
            .await;
        assert_refused(&p, message);
    }
    assert!(logged_in(&b).await);
    op.server.terminate();
}

/// With `delete_tokens` (default) the client's access and ID tokens go and its refresh
/// tokens are revoked — also for an anonymous request carrying the hint; with
/// `delete_tokens = false` nothing is touched.
async fn dot_164_logout_deletes_tokens(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let db = env.db().await;
    let anon = Browser::new(op.base());
    let p = op
        .logout(&anon, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_logged_out_page(&p);
    // The hint is no credential: a request that ends no session deletes nothing (DOT deletes
    // the hint user's tokens whoever sends it).
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    assert!(
        logged_in(&b).await,
        "another browser's session is not ended"
    );
    // The user's own logout deletes them.
    let p = op
        .logout(&b, &[("id_token_hint", &hint), ("client_id", &op.a)])
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 0);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 0);
    assert_eq!(
        count_rows(
            &db,
            "oauth2_provider_refreshtoken WHERE revoked IS NOT NULL"
        )
        .await,
        1
    );
    b.login().await;

    let keep = start(
        &env,
        &[
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS",
                "false",
            ),
            (
                "OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT",
                "false",
            ),
            ("OAUTH_TOOLKIT_PKCE_REQUIRED", "false"),
        ],
    );
    let b2 = b.on(&keep.base);
    let hint = op.id_token(&b).await;
    let p = b2
        .get(&format!(
            "{LOGOUT}?{}",
            encode(&[("id_token_hint", hint.as_str())])
        ))
        .await;
    assert_logged_out_page(&p);
    assert_eq!(count_rows(&db, "oauth2_provider_accesstoken").await, 1);
    assert_eq!(count_rows(&db, "oauth2_provider_idtoken").await, 1);
    assert_eq!(
        count_rows(&db, "oauth2_provider_refreshtoken WHERE revoked IS NULL").await,
        1
    );
    keep.terminate();
    op.server.terminate();
}

/// A hint for another user than the one logged in: the user is asked even without
/// `always_prompt`, and the session's user is the one logged out.
async fn hint_of_another_user_asks(env: Env) {
    let op = dot_op(&env, &[]);
    let b = op.browser().await;
    let hint = op.id_token(&b).await;
    let other = Browser::new(op.base());
    other.login_as("other_user", "123456").await;
    let p = op.logout(&other, &[("id_token_hint", &hint)]).await;
    assert_confirm_page(&p);
    assert!(logged_in(&other).await);
    op.server.terminate();
}

/// `oidc_rp_initiated_logout_enabled = false`: `logout/` is 404 and not advertised.
async fn logout_disabled_is_not_routed(env: Env) {
    let op = op_with(
        &env,
        &[("OAUTH_TOOLKIT_OIDC_RP_INITIATED_LOGOUT_ENABLED", "false")],
    );
    let r = client()
        .get(format!("{}{LOGOUT}", op.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let doc: Value = client()
        .get(format!("{}/o/.well-known/openid-configuration", op.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("end_session_endpoint").is_none());
    op.server.terminate();
}
