//! A user sees and changes only their own applications and tokens; the signed-out see
//! nothing but the way to the login page.

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

/// A's application and token, through the pages and the password grant.
struct Owned {
    client_id: String,
    secret: String,
    pk: i64,
    at: String,
    rt: String,
    token_pk: i64,
}

async fn alpha(env: &Env, server: &Server, a: &Browser) -> Owned {
    let p = register(
        a,
        &app_form(&[
            ("name", "Alpha App"),
            ("authorization_grant_type", "password"),
            ("redirect_uris", ""),
        ]),
    )
    .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let secret = secret_shown(&p).expect("the new secret");
    let pk = pk_of(&p);
    let client_id = strings(
        env,
        &format!("SELECT client_id FROM oauth2_provider_application WHERE id = {pk}"),
    )
    .await
    .remove(0);
    let (at, rt) = password_grant(server, &client_id, &secret, "alice").await;
    let token_pk = at_id(env, &at).await;
    Owned {
        client_id,
        secret,
        pk,
        at,
        rt,
        token_pk,
    }
}

/// Bob, signed in, gets a 404 for every URL and method on Alice's application and token
/// (with his own valid CSRF token), and for made-up ids; nothing of Alice's changes, and
/// his lists show nothing of hers. (A POST to a detail page, which has no POST, is answered
/// as on his own application: the router's 405, whoever owns the row.)
pub(crate) async fn another_users_objects_are_not_found(env: Env) {
    user(&env, "alice", false);
    user(&env, "bob", false);
    let server = Server::start(&env, &[]);
    let a = signed_in(&server, "alice").await;
    let alpha = alpha(&env, &server, &a).await;
    let b = signed_in(&server, "bob").await;
    let own = register(&b, &app_form(&[("name", "Bravo App")])).await;
    assert_eq!(own.status, 201, "{}", own.body);
    let own_pk = pk_of(&own);
    let csrf = b.csrf().await;
    let before = snapshot(&env).await;
    let pk = alpha.pk.to_string();
    let update_form = app_form(&[
        ("name", "Owned by Bob"),
        ("client_id", &alpha.client_id),
        ("authorization_grant_type", "password"),
        ("redirect_uris", ""),
    ]);
    let mut with_csrf: Vec<(&str, &str)> = vec![(CSRF, &csrf)];
    with_csrf.extend_from_slice(&update_form);

    let probe = |id: String| {
        vec![
            format!("{APPS}{id}/"),
            format!("{APPS}{id}/update/"),
            format!("{APPS}{id}/delete/"),
            format!("{APPS}{id}/new_secret/"),
            format!("{TOKENS}{id}/delete/"),
        ]
    };
    // Alice's objects (the token at its own pk), then ids nobody owns.
    let mut targets = probe(pk.clone());
    targets[4] = format!("{TOKENS}{}/delete/", alpha.token_pk);
    for guess in ["0", "-1", "999999", "abc", "1e3"] {
        targets.extend(probe(guess.to_string()));
    }
    // Bob's own application answers (the routes exist): POST of a detail page is refused the
    // same way for his row as for hers.
    let own_detail_post = b.post(&format!("{APPS}{own_pk}/"), &[(CSRF, &csrf)]).await;
    for url in &targets {
        let g = b.get(url).await;
        assert_error_page(&g, 404, &format!("GET {url}"));
        assert!(!text(&g).contains("Alpha App"), "GET {url}: {}", g.body);
        let p = b.post(url, &with_csrf).await;
        if url.ends_with("/update/") || url.ends_with("/delete/") || url.ends_with("/new_secret/") {
            assert_error_page(&p, 404, &format!("POST {url}"));
        } else {
            // The detail page has no POST: the same answer as on Bob's own application.
            assert_eq!(p.status, own_detail_post.status, "POST {url}: {}", p.body);
            assert!(
                p.status == 404 || p.status == 405,
                "POST {url}: {}",
                p.status
            );
        }
        assert!(
            secret_shown(&p).is_none(),
            "POST {url} showed a secret: {}",
            p.body
        );
        assert!(!text(&p).contains("Alpha App"), "POST {url}: {}", p.body);
    }

    // Nothing of Alice's changed: same rows, her secret and token still work.
    assert_eq!(snapshot(&env).await, before);
    let app = app_of(&env, &alpha.client_id).await.expect("still there");
    assert_eq!(app.name, "Alpha App");
    assert!(active(&server, &alpha.client_id, &alpha.secret, &alpha.at).await);
    assert_eq!(
        count(
            &env,
            &format!(
                "oauth2_provider_refreshtoken WHERE token_checksum = '{}' AND revoked IS NULL",
                oauth_toolkit_core::token_checksum::token_checksum(&alpha.rt)
            )
        )
        .await,
        1
    );
    assert_eq!(a.get(&format!("{APPS}{pk}/")).await.status, 200);

    // Bob's lists: his application, none of hers, no token.
    let list = b.get(APPS).await;
    assert_eq!(list.status, 200);
    assert!(text(&list).contains("Bravo App"), "{}", list.body);
    assert!(
        !text(&list).contains("Alpha App") && !list.body.contains(&alpha.client_id),
        "{}",
        list.body
    );
    assert!(!hrefs(&list).contains(&format!("{APPS}{pk}/")));
    let tokens = b.get(TOKENS).await;
    assert_eq!(tokens.status, 200);
    assert!(
        tokens.body.contains("There are no authorized tokens yet."),
        "{}",
        tokens.body
    );
    assert!(!text(&tokens).contains("Alpha App"), "{}", tokens.body);
    assert!(!hrefs(&tokens)
        .iter()
        .any(|h| h.contains(&format!("/{}/delete/", alpha.token_pk))));
    // Alice's lists show hers.
    assert!(text(&a.get(APPS).await).contains("Alpha App"));
    assert!(hrefs(&a.get(TOKENS).await).contains(&format!("{TOKENS}{}/delete/", alpha.token_pk)));
}

/// Signed out: every management page sends to the login page with `next`, every POST is
/// refused (login redirect or 403), and nothing changes.
pub(crate) async fn management_pages_need_login(env: Env) {
    user(&env, "alice", false);
    let (id, secret) = env.create_app(
        "confidential",
        "password",
        &["--name", "Ledger", "--user", "alice"],
    );
    let server = Server::start(&env, &[]);
    let (at, _) = password_grant(&server, &id, &secret, "alice").await;
    let pk = app_of(&env, &id).await.unwrap().id;
    let tpk = at_id(&env, &at).await;
    let urls = vec![
        APPS.to_string(),
        format!("{APPS}?order=name"),
        format!("{APPS}register/"),
        format!("{APPS}{pk}/"),
        format!("{APPS}{pk}/update/"),
        format!("{APPS}{pk}/delete/"),
        format!("{APPS}{pk}/new_secret/"),
        TOKENS.to_string(),
        format!("{TOKENS}{tpk}/delete/"),
    ];
    let before = snapshot(&env).await;
    // Without any cookie, and with an anonymous session (and its valid CSRF token).
    let cookieless = Browser::new(&server.base);
    let anonymous = Browser::new(&server.base);
    let csrf = anonymous.get("/accounts/login/").await.csrf();
    for url in &urls {
        assert_login_redirect(&cookieless.get(url).await, url);
        assert_login_redirect(&anonymous.get(url).await, url);
    }
    let posts = [
        format!("{APPS}register/"),
        format!("{APPS}{pk}/update/"),
        format!("{APPS}{pk}/delete/"),
        format!("{APPS}{pk}/new_secret/"),
        format!("{TOKENS}{tpk}/delete/"),
    ];
    let form = app_form(&[
        ("name", "Hijacked"),
        ("client_id", &id),
        ("authorization_grant_type", "password"),
        ("redirect_uris", ""),
    ]);
    for url in &posts {
        for (b, token) in [(&cookieless, "forged"), (&anonymous, csrf.as_str())] {
            let mut body = vec![(CSRF, token)];
            body.extend_from_slice(&form);
            let p = b.post(url, &body).await;
            if p.status == 302 {
                assert_login_redirect(&p, url);
            } else {
                assert_error_page(&p, 403, &format!("POST {url}"));
            }
            assert!(secret_shown(&p).is_none(), "{url}: {}", p.body);
        }
    }
    assert_eq!(snapshot(&env).await, before);
    assert!(active(&server, &id, &secret, &at).await);
}
