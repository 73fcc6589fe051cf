//! Basic OP plan: `prompt`, `max_age` and `id_token_hint`: when the user logs in again.

use crate::common::http_browser::{encode, Browser};
use crate::common::*;
use crate::support::*;

backends!(
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_id_token_hint,
);

/// `prompt=login` with a session forces a new login; the new ID token has a later auth_time.
async fn oidcc_prompt_login(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("prompt", "login")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    let next = query_of(&login)["next"].clone();
    assert!(!next.contains("prompt"), "{next}");
    let r = b.login_next("test_user", "123456", &next).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let p = b.get(&r.loc()).await;
    let loc = op.approve_page(&b, p).await;
    let t = op.exchange(&query_of(&loc)["code"]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    op.server.terminate();
}

async fn oidcc_prompt_none_not_logged_in(env: Env) {
    let op = op(&env);
    let b = Browser::new(op.base());
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none")]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = query_of(&p.loc());
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], STATE);
    op.server.terminate();
}

/// A logged-in user who consented before is answered silently; one who did not gets
/// `consent_required` — never a page.
async fn oidcc_prompt_none_logged_in(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("prompt", "none")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    assert_eq!(query_of(&p.loc())["error"], "consent_required");
    op.sign_in(&b, &[]).await;
    let p = b.get(&url).await;
    assert_eq!(p.status, 302, "{}", p.body);
    let code = query_of(&p.loc())["code"].clone();
    let t = op.exchange(&code).await;
    op.verify(t["id_token"].as_str().unwrap()).await;
    op.server.terminate();
}

/// `max_age=1` after more than a second: a new login is required (and `auth_time` moves).
async fn oidcc_max_age_1(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let url = format!("{AUTHORIZE}?{}", encode(&op.params(&[("max_age", "1")])));
    let p = b.get(&url).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    // prompt=none with an expired max_age: login_required, no page.
    let none = format!(
        "{AUTHORIZE}?{}",
        encode(&op.params(&[("max_age", "1"), ("prompt", "none")]))
    );
    assert_eq!(
        query_of(&b.get(&none).await.loc())["error"],
        "login_required"
    );
    let next = query_of(&login)["next"].clone();
    let r = b.login_next("test_user", "123456", &next).await;
    let p = b.get(&r.loc()).await;
    let loc = op.approve_page(&b, p).await;
    let t = op.exchange(&query_of(&loc)["code"]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    op.server.terminate();
}

async fn oidcc_max_age_10000(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let first = op
        .verify(op.sign_in(&b, &[]).await["id_token"].as_str().unwrap())
        .await;
    let t = op.sign_in(&b, &[("max_age", "10000")]).await;
    let second = op.verify(t["id_token"].as_str().unwrap()).await;
    assert_eq!(second["auth_time"], first["auth_time"], "no new login");
    op.server.terminate();
}

/// `prompt=none` with the `id_token_hint` of the first login succeeds silently.
async fn oidcc_id_token_hint(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let t = op.sign_in(&b, &[]).await;
    let hint = t["id_token"].as_str().unwrap();
    let p = b
        .get(&format!(
            "{AUTHORIZE}?{}",
            encode(&op.params(&[("prompt", "none"), ("id_token_hint", hint)]))
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = query_of(&p.loc());
    assert!(q.contains_key("code"), "{q:?}");
    op.server.terminate();
}
