//! Who gets into the admin, and what it never shows.

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;
use crate::world::{world, KINDS};

/// Signed out: the login page for every admin page. Signed in without staff: 403 for every
/// page and every POST (with a valid CSRF token), and nothing changes. Staff: every page.
pub(crate) async fn the_admin_is_for_staff_only(env: Env) {
    let w = world(&env).await;
    let pages = w.admin_pages();
    let anon = Browser::new(&w.server.base);
    let before = snapshot(&env).await;
    for page in &pages {
        assert_login_redirect(&anon.get(page).await, page);
    }
    let anon_csrf = anon.get("/accounts/login/").await.csrf();
    for (url, fields) in w.admin_posts() {
        let mut body = vec![(CSRF, anon_csrf.as_str())];
        body.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let p = anon.post(&url, &body).await;
        if p.status == 302 {
            assert_login_redirect(&p, &url);
        } else {
            assert_error_page(&p, 403, &format!("anonymous POST {url}"));
        }
    }

    let csrf = w.alice.csrf().await;
    for page in &pages {
        let p = w.alice.get(page).await;
        assert_error_page(&p, 403, &format!("non-staff GET {page}"));
        assert!(p.body.contains("staff only"), "{page}: {}", p.body);
    }
    for (url, fields) in w.admin_posts() {
        let mut body = vec![(CSRF, csrf.as_str())];
        body.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let p = w.alice.post(&url, &body).await;
        assert_error_page(&p, 403, &format!("non-staff POST {url}"));
    }
    assert_eq!(
        snapshot(&env).await,
        before,
        "a refused request changed something"
    );
    assert!(is_active(&env, "alice").await);
    assert_eq!(
        w.alice.get(APPS).await.status,
        200,
        "alice is still signed in"
    );
    assert!(active(&w.server, &w.client_id, &w.secret, &w.at).await);

    let staff = signed_in(&w.server, "root").await;
    for page in &pages {
        let p = staff.get(page).await;
        assert_eq!(p.status, 200, "staff GET {page}: {}", p.body);
    }
    // Each list links to its row's page.
    for kind in KINDS {
        let p = staff.get(&format!("/admin/{kind}/")).await;
        let row = format!("/admin/{kind}/{}/change/", w.id(kind));
        assert!(hrefs(&p).contains(&row), "{kind}: {}", p.body);
    }
    assert_eq!(
        snapshot(&env).await.len(),
        before.len() + 1,
        "only the staff session is new"
    );
}

/// The values the admin must never show, by name.
async fn secrets(env: &Env, w: &crate::world::World) -> Vec<(String, String)> {
    use oauth_toolkit_core::token_checksum::token_checksum;
    let mut v: Vec<(String, String)> = vec![
        ("access token".into(), w.at.clone()),
        ("refresh token".into(), w.rt.clone()),
        ("ID token".into(), w.id_token.clone()),
        ("redeemed code".into(), w.used_code.clone()),
        ("code".into(), w.code.clone()),
        ("device code".into(), w.device_code.clone()),
        ("user code".into(), w.user_code.clone()),
        ("client secret".into(), w.secret.clone()),
    ];
    for (what, value) in [
        ("access token digest", token_checksum(&w.at)),
        ("refresh token digest", token_checksum(&w.rt)),
        ("code digest", token_checksum(&w.code)),
        ("device code digest", token_checksum(&w.device_code)),
    ] {
        v.push((what.into(), value));
    }
    let stored: Vec<(&str, &str)> = vec![
        (
            "stored client secret",
            "SELECT client_secret FROM oauth2_provider_application WHERE client_secret <> ''",
        ),
        ("password hash", "SELECT password FROM oauth_toolkit_user"),
        (
            "signing key",
            "SELECT private_key FROM oauth_toolkit_signingkey",
        ),
        (
            "stored access token",
            "SELECT token FROM oauth2_provider_accesstoken WHERE token <> ''",
        ),
        (
            "stored refresh token",
            "SELECT token FROM oauth2_provider_refreshtoken WHERE token <> ''",
        ),
    ];
    for (what, sql) in stored {
        let values = strings(env, sql).await;
        assert!(
            !values.is_empty() || what.starts_with("stored "),
            "{what}: no rows"
        );
        for value in values {
            // The whole value and each long piece of it (hash parts, key lines).
            for piece in value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
            {
                if piece.len() >= 16 {
                    v.push((format!("{what} (part)"), piece.chars().take(40).collect()));
                }
            }
            v.push((what.to_string(), value));
        }
    }
    v
}

/// With tokens, an ID token, a redeemed and an unredeemed code, a pending device grant and
/// users with passwords, no admin page (lists, with filters, row pages, confirm pages,
/// forms) contains a token value, a code, a client secret or its hash, a password hash.
pub(crate) async fn the_admin_never_shows_secrets(env: Env) {
    let w = world(&env).await;
    let staff = signed_in(&w.server, "root").await;
    let secrets = secrets(&env, &w).await;
    let app = w.id("oauth2_provider/application");
    let alice = w.id("auth/user");
    let mut pages = w.admin_pages();
    for kind in &KINDS[2..7] {
        for q in [
            "q=alice".to_string(),
            format!("q={}", w.client_id),
            format!("q={}", w.device_client),
            "live=1".into(),
            "live=0".into(),
            format!("user={alice}"),
            format!("application={app}"),
        ] {
            pages.push(format!("/admin/{kind}/?{q}"));
        }
    }
    pages.push("/admin/auth/user/?q=alice".into());
    pages.push("/admin/oauth2_provider/application/?q=Shop".into());
    let mut seen = String::new();
    for page in &pages {
        let p = staff.get(page).await;
        assert_eq!(p.status, 200, "{page}: {}", p.body);
        let unescaped = text(&p);
        for (what, value) in &secrets {
            assert!(
                !p.body.contains(value.as_str()) && !unescaped.contains(value.as_str()),
                "{page} shows the {what}"
            );
        }
        seen.push_str(&unescaped);
    }
    // The pages did show the rows (what identifies them).
    let prefix = |d: String| d.chars().take(8).collect::<String>();
    for shown in [
        w.client_id.clone(),
        w.device_client.clone(),
        "alice".to_string(),
        prefix(oauth_toolkit_core::token_checksum::token_checksum(&w.at)),
        prefix(oauth_toolkit_core::token_checksum::token_checksum(&w.code)),
        "stored hashed (not shown)".into(),
        "set (hash not shown)".into(),
        "authorization-pending".into(),
    ] {
        assert!(seen.contains(&shown), "the admin never shows {shown}");
    }
}
