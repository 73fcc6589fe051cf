//! DOT's refresh rules: rotation, grace period, reuse protection, idle expiry.

use oauth_toolkit_core::token_checksum::token_checksum;
use time::{Duration, OffsetDateTime};

use crate::common::*;
use crate::support::*;

backends!(
    refresh_rules,
    refresh_grace_period_returns_the_same_tokens,
    refresh_reuse_protection_revokes_the_family,
    refresh_without_rotation,
    refresh_idle_expiry,
);

async fn refresh_rules(env: Env) {
    let (id, secret) = password_setup(&env);
    let (other_id, other_secret) = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[]);
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    // A wider scope is refused; another client cannot use the token.
    let (s, b) = refresh(&server, &auth, &rt1, Some("read write nuke")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    let (s, b) = refresh(&server, &basic(&other_id, &other_secret), &rt1, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // A narrower one is granted and becomes the new ceiling.
    let (s, b) = refresh(&server, &auth, &rt1, Some("read")).await;
    assert_eq!((s, b["scope"].as_str()), (200, Some("read")), "{b}");
    let rt2 = b["refresh_token"].as_str().unwrap().to_string();
    let (s, b) = refresh(&server, &auth, &rt2, Some("read write")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    // The old one is spent.
    let (s, b) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Unrelated second login does not invalidate the first chain.
    let _other = password_tokens(&server, &id, &secret).await;
    let (s, b) = refresh(&server, &auth, &rt2, None).await;
    assert_eq!(s, 200, "{b}");
    // Deleting the bound access token orphans the refresh token.
    let rt3 = b["refresh_token"].as_str().unwrap().to_string();
    let store = env.db().await.store();
    let at3 = store
        .find_access_token(&token_checksum(b["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    store.delete_access_token(at3.id).await.unwrap();
    let (s, _) = refresh(&server, &auth, &rt3, None).await;
    assert_eq!(s, 400);
    let (s, b) = refresh(&server, &auth, "", None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
}

async fn refresh_grace_period_returns_the_same_tokens(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "120")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200);
    let (s, b) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(a["access_token"], b["access_token"]);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert!(b["expires_in"].as_i64().unwrap() <= 36000);
    // After the window, the replay is refused: move the revocation into the past.
    let store = env.db().await.store();
    let rt = store
        .find_refresh_token(&token_checksum(&rt1))
        .await
        .unwrap()
        .unwrap();
    shift_revoked(&env, rt.id, -600).await;
    let (s, _) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 400);
    // A token revoked through revocation (not rotation) is never honoured in the window.
    let rt2 = a["refresh_token"].as_str().unwrap();
    let rt2_row = store
        .find_refresh_token(&token_checksum(rt2))
        .await
        .unwrap()
        .unwrap();
    store
        .revoke_refresh_token(rt2_row.id, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (s, _) = refresh(&server, &auth, rt2, None).await;
    assert_eq!(s, 400);
}

/// Move a refresh token's `revoked` time by `seconds` (raw SQL: the store has no such method).
async fn shift_revoked(env: &Env, id: i64, seconds: i64) {
    use sqlx::Connection;
    let sql = "UPDATE oauth2_provider_refreshtoken SET revoked = revoked + $2 WHERE id = $1";
    let micros = seconds * 1_000_000;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

async fn refresh_reuse_protection_revokes_the_family(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_REUSE_PROTECTION", "true")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 200);
    let rt2 = a["refresh_token"].as_str().unwrap().to_string();
    // Replaying RT1 is refused and burns the family.
    let (s, _) = refresh(&server, &auth, &rt1, None).await;
    assert_eq!(s, 400);
    let (s, _) = refresh(&server, &auth, &rt2, None).await;
    assert_eq!(s, 400, "the successor is revoked too");
    let store = env.db().await.store();
    assert!(store
        .find_access_token(&token_checksum(a["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .is_none());
}

async fn refresh_without_rotation(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_ROTATE_REFRESH_TOKEN", "false")]);
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let (s, a) = refresh(&server, &auth, &rt, None).await;
    assert_eq!((s, a["refresh_token"].as_str()), (200, Some(rt.as_str())));
    let (s, b) = refresh(&server, &auth, &rt, None).await;
    assert_eq!(
        (s, b["refresh_token"].as_str()),
        (200, Some(rt.as_str())),
        "#97"
    );
    // The access token was replaced in place: older values stop working at once.
    let store = env.db().await.store();
    for old in [&first, &a] {
        assert!(store
            .find_access_token(&token_checksum(old["access_token"].as_str().unwrap()))
            .await
            .unwrap()
            .is_none());
    }
    assert!(store
        .find_access_token(&token_checksum(b["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .is_some());
}

async fn refresh_idle_expiry(env: Env) {
    let (id, secret) = password_setup(&env);
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "100")],
    );
    let auth = basic(&id, &secret);
    let first = password_tokens(&server, &id, &secret).await;
    let rt = first["refresh_token"].as_str().unwrap();
    // Make the access token expire 101 s ago: the refresh token is past its idle lifetime.
    let store = env.db().await.store();
    let at = store
        .find_access_token(&token_checksum(first["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let past = OffsetDateTime::now_utc() - Duration::seconds(101);
    store
        .replace_access_token(
            at.id,
            &at.token,
            &at.token_checksum,
            past,
            &at.scope,
            &at.resource,
            past,
        )
        .await
        .unwrap();
    let (s, b) = refresh(&server, &auth, rt, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Within the lifetime it works.
    let second = password_tokens(&server, &id, &secret).await;
    let at = store
        .find_access_token(&token_checksum(second["access_token"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let recent = OffsetDateTime::now_utc() - Duration::seconds(50);
    store
        .replace_access_token(
            at.id,
            &at.token,
            &at.token_checksum,
            recent,
            &at.scope,
            &at.resource,
            recent,
        )
        .await
        .unwrap();
    let (s, b) = refresh(
        &server,
        &auth,
        second["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}
