//! Authorization requests by POST (Core §3.1.2.1).

use std::collections::BTreeMap;

use crate::common::http_browser::{Browser, Page};
use crate::common::*;
use crate::support::*;

backends!(
    oidcc_ensure_post_request_succeeds,
    authorization_post_logged_out_continues_after_login,
    authorization_post_with_prompt_none,
    authorization_post_never_approves_without_the_csrf_token,
);

/// The authorization request as a form POST (no CSRF field: not the consent form).
async fn post_authorize(op: &Op, b: &Browser, extra: &[(&str, &str)]) -> Page {
    b.post(AUTHORIZE, &op.params(extra)).await
}

/// Basic plan: the same request by POST gives the consent page, then a code and a valid ID
/// token.
async fn oidcc_ensure_post_request_succeeds(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = post_authorize(&op, &b, &[]).await;
    assert_eq!(p.status, 200, "the consent page: {}", p.body);
    let loc = op.approve_page(&b, p).await;
    let s = op.complete(&loc).await;
    assert_eq!(s.claims["nonce"], NONCE);
    op.server.terminate();
}

/// A POST while logged out: the login page's `next` is the same request as a GET, so the
/// flow continues after login with the consent page and ends with a code.
async fn authorization_post_logged_out_continues_after_login(env: Env) {
    let op = op(&env);
    let b = Browser::new(op.base());
    let p = post_authorize(&op, &b, &[("prompt", "login"), ("display", "page")]).await;
    assert_eq!(p.status, 302);
    let login = p.loc();
    assert!(login.starts_with("/accounts/login/"), "{login}");
    let next = query_of(&login)["next"].clone();
    let (path, query) = next.split_once('?').expect("a GET URL with the parameters");
    assert_eq!(path, AUTHORIZE);
    let mut expected: BTreeMap<String, String> = op
        .params(&[("display", "page")])
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    expected.remove("prompt");
    assert_eq!(
        decode(query),
        expected,
        "prompt=login is done by this login"
    );
    let r = b.login_next(&op.user, "123456", &next).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.loc(), next);
    let p = b.get(&next).await;
    assert_eq!(p.status, 200, "the consent page: {}", p.body);
    let loc = op.approve_page(&b, p).await;
    op.complete(&loc).await;
    op.server.terminate();
}

/// `prompt=none` by POST: `login_required` logged out, `consent_required` before consent,
/// the response silently after it — exactly as by GET.
async fn authorization_post_with_prompt_none(env: Env) {
    let op = op(&env);
    let none = [("prompt", "none")];
    let p = post_authorize(&op, &Browser::new(op.base()), &none).await;
    assert_eq!(query_of(&p.loc())["error"], "login_required");
    let b = op.browser().await;
    let p = post_authorize(&op, &b, &none).await;
    assert_eq!(query_of(&p.loc())["error"], "consent_required");
    op.flow(&b, &[]).await;
    let p = post_authorize(&op, &b, &none).await;
    assert_eq!(p.status, 302, "{}", p.body);
    op.complete(&p.loc()).await;
    op.server.terminate();
}

/// CSRF: a POST of the consent form's fields with `allow` but without the CSRF field is an
/// authorization request (the consent page, nothing approved); with a wrong token it is a
/// refused decision (403).
async fn authorization_post_never_approves_without_the_csrf_token(env: Env) {
    let op = op(&env);
    let b = op.browser().await;
    let p = post_authorize(&op, &b, &[("allow", "Authorize")]).await;
    assert_eq!(
        p.status, 200,
        "the consent page, not a decision: {}",
        p.body
    );
    assert!(p.location().is_none());
    let mut forged = op.params(&[("allow", "Authorize")]);
    forged.push(("csrfmiddlewaretoken", "forged"));
    let p = b.post(AUTHORIZE, &forged).await;
    assert_eq!(p.status, 403);
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_grant").await, 0);
    op.server.terminate();
}
