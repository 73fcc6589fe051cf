//! What staff do in the admin takes effect at once, and is logged with their name.

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;

/// GET the confirm page at `url` (200, a form posting to itself), then POST it with the
/// page's CSRF token; the redirect's Location.
async fn confirm_and_post(staff: &Browser, url: &str) -> String {
    let page = staff.get(url).await;
    assert_eq!(page.status, 200, "GET {url}: {}", page.body);
    assert!(
        page.body.contains("<form method=\"post\""),
        "{url}: {}",
        page.body
    );
    let r = staff.post(url, &[(CSRF, &page.csrf())]).await;
    assert_eq!(r.status, 302, "POST {url}: {}", r.body);
    r.loc()
}

/// The "admin action" log line of `root` doing `action` to row `id` of `model`.
async fn assert_logged(server: &Server, model: &str, action: &str, id: i64) -> String {
    let parts = [
        "admin action".to_string(),
        "staff=root".to_string(),
        format!("model=\"{model}\""),
        format!("action=\"{action}\""),
        format!(" id={id} "),
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    logged(server, &parts).await.unwrap_or_else(|| {
        panic!(
            "no admin action line with {parts:?}:\n{}",
            server.log.lock().unwrap()
        )
    })
}

fn is_invalid_grant(r: &(u16, serde_json::Value)) -> bool {
    r.0 == 400 && r.1["error"] == "invalid_grant"
}

pub(crate) async fn admin_actions_work_and_are_logged(env: Env) {
    for (name, staff) in [
        ("root", true),
        ("carol", false),
        ("dave", false),
        ("erin", false),
    ] {
        user(&env, name, staff);
    }
    let (id, secret) = env.create_app("confidential", "password", &["--name", "Desk"]);
    let (web, web_secret) = env.create_app(
        "confidential",
        "authorization-code",
        &["--name", "Web", "--redirect-uris", REDIRECT],
    );
    let server = Server::start(&env, &[]);
    let carol = signed_in(&server, "carol").await;
    let (cat, crt) = password_grant(&server, &id, &secret, "carol").await;
    let dave1 = password_grant(&server, &id, &secret, "dave").await;
    let dave2 = password_grant(&server, &id, &secret, "dave").await;
    let (eat1, _) = password_grant(&server, &id, &secret, "erin").await;
    let (eat2, ert2) = password_grant(&server, &id, &secret, "erin").await;
    let erin = signed_in(&server, "erin").await;
    let code = code_flow(&erin, &web, "read").await;
    let staff = signed_in(&server, "root").await;
    let uid = |n: &'static str| user_id(&env, n);
    let (carol_id, dave_id, root_id) = (uid("carol").await, uid("dave").await, uid("root").await);

    // Deactivate a user: their session and tokens stop working at once.
    assert_eq!(carol.get(APPS).await.status, 200);
    let url = format!("/admin/auth/user/{carol_id}/deactivate/");
    assert_eq!(
        confirm_and_post(&staff, &url).await,
        format!("/admin/auth/user/{carol_id}/change/")
    );
    assert!(!is_active(&env, "carol").await);
    assert_login_redirect(&carol.get(APPS).await, APPS);
    assert!(!active(&server, &id, &secret, &cat).await);
    let r = refresh(&server, &id, &secret, &crt).await;
    assert!(r.0 == 400, "an inactive user's refresh token: {r:?}");
    let line = assert_logged(&server, "auth/user", "deactivate", carol_id).await;
    assert!(line.contains("carol"), "{line}");

    // Revoke every token of a user.
    let url = format!("/admin/auth/user/{dave_id}/revoke_tokens/");
    assert_eq!(
        confirm_and_post(&staff, &url).await,
        format!("/admin/auth/user/{dave_id}/change/")
    );
    let line = assert_logged(&server, "auth/user", "revoke_tokens", dave_id).await;
    assert!(
        line.contains("2 access token(s), 2 refresh token(s)"),
        "{line}"
    );
    assert_eq!(
        count(
            &env,
            &format!("oauth2_provider_accesstoken WHERE user_id = {dave_id}")
        )
        .await,
        0
    );
    let live =
        format!("oauth2_provider_refreshtoken WHERE user_id = {dave_id} AND revoked IS NULL");
    assert_eq!(count(&env, &live).await, 0);
    for (at, rt) in [&dave1, &dave2] {
        assert!(!active(&server, &id, &secret, at).await);
        let r = refresh(&server, &id, &secret, rt).await;
        assert!(is_invalid_grant(&r), "{r:?}");
    }
    assert!(
        is_active(&env, "dave").await,
        "revoking tokens does not deactivate"
    );

    // Revoke an access token from its page: that one only.
    let at1 = at_id(&env, &eat1).await;
    let row = staff
        .get(&format!("/admin/oauth2_provider/accesstoken/{at1}/change/"))
        .await;
    let revoke = format!("/admin/oauth2_provider/accesstoken/{at1}/revoke/");
    assert!(hrefs(&row).contains(&revoke), "{}", row.body);
    assert_eq!(
        confirm_and_post(&staff, &revoke).await,
        "/admin/oauth2_provider/accesstoken/"
    );
    assert!(!active(&server, &id, &secret, &eat1).await);
    assert!(active(&server, &id, &secret, &eat2).await);
    assert_logged(&server, "oauth2_provider/accesstoken", "revoke", at1).await;

    // Revoke a refresh token from its page.
    let rt2 = rt_id(&env, &ert2).await;
    let row = staff
        .get(&format!(
            "/admin/oauth2_provider/refreshtoken/{rt2}/change/"
        ))
        .await;
    let revoke = format!("/admin/oauth2_provider/refreshtoken/{rt2}/revoke/");
    assert!(hrefs(&row).contains(&revoke), "{}", row.body);
    assert_eq!(
        confirm_and_post(&staff, &revoke).await,
        "/admin/oauth2_provider/refreshtoken/"
    );
    let r = refresh(&server, &id, &secret, &ert2).await;
    assert!(is_invalid_grant(&r), "{r:?}");
    assert_logged(&server, "oauth2_provider/refreshtoken", "revoke", rt2).await;

    // Delete a grant: its code can no longer be redeemed.
    let gid = grant_id(&env, &code).await.expect("the code's row");
    let url = format!("/admin/oauth2_provider/grant/{gid}/delete/");
    assert_eq!(
        confirm_and_post(&staff, &url).await,
        "/admin/oauth2_provider/grant/"
    );
    assert!(grant_id(&env, &code).await.is_none());
    let r = token(
        &server,
        &web,
        &web_secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert!(is_invalid_grant(&r), "{r:?}");
    assert_logged(&server, "oauth2_provider/grant", "delete", gid).await;

    // Edit an application's name.
    let app = app_of(&env, &id).await.unwrap();
    let url = format!("/admin/oauth2_provider/application/{}/edit/", app.id);
    let form = staff.get(&url).await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let mut body = vec![(CSRF, csrf.as_str())];
    body.extend(app_form(&[
        ("name", "Front Desk"),
        ("client_id", &id),
        ("authorization_grant_type", "password"),
        ("redirect_uris", ""),
        ("user", ""),
    ]));
    let r = staff.post(&url, &body).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        r.loc(),
        format!("/admin/oauth2_provider/application/{}/change/", app.id)
    );
    let edited = app_of(&env, &id).await.unwrap();
    assert_eq!(edited.name, "Front Desk");
    assert_eq!(
        edited.client_secret, app.client_secret,
        "the secret is kept"
    );
    // The client still authenticates with its secret.
    let (at3, _) = password_grant(&server, &id, &secret, "erin").await;
    assert!(active(&server, &id, &secret, &at3).await);
    assert_logged(&server, "oauth2_provider/application", "edit", app.id).await;

    // Add a user, who can then sign in (and is not staff).
    let form = staff.get("/admin/auth/user/add/").await;
    let csrf = form.csrf();
    let r = staff
        .post(
            "/admin/auth/user/add/",
            &[
                (CSRF, &csrf),
                ("username", "frank"),
                ("password", PW),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let frank_id = user_id(&env, "frank").await;
    assert_eq!(r.loc(), format!("/admin/auth/user/{frank_id}/change/"));
    let frank = signed_in(&server, "frank").await;
    assert_eq!(frank.get(APPS).await.status, 200);
    assert_eq!(frank.get("/admin/").await.status, 403);
    let line = assert_logged(&server, "auth/user", "add", frank_id).await;
    assert!(line.contains("frank"), "{line}");

    // Staff cannot deactivate or delete themselves.
    let csrf = staff.csrf().await;
    for action in ["deactivate", "delete"] {
        let url = format!("/admin/auth/user/{root_id}/{action}/");
        assert_error_page(&staff.get(&url).await, 400, &format!("GET {url}"));
        let p = staff.post(&url, &[(CSRF, &csrf)]).await;
        assert_error_page(&p, 400, &format!("POST {url}"));
    }
    assert!(is_active(&env, "root").await);
    assert_eq!(staff.get("/admin/").await.status, 200, "still signed in");
    let self_line = format!(" id={root_id} ");
    let log = server.log.lock().unwrap().clone();
    assert!(
        !log.lines().any(|l| l.contains("admin action")
            && l.contains("model=\"auth/user\"")
            && l.contains(&self_line)),
        "{log}"
    );
}
