//! What every page shares: security headers, no inline script or style (the CSP would block
//! them), the versioned stylesheet and script (cached for a year only at this build's URL),
//! the 404 page, and the home page's links.

use crate::common::http_browser::{client, Browser, Page};
use crate::common::*;
use crate::support::*;

fn assert_protected(p: &Page, what: &str) {
    let csp = p
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(p.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(
        p.header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "{what}"
    );
    if p.body.is_empty() {
        return;
    }
    assert!(
        p.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{what}: {:?}",
        p.header("content-type")
    );
    let lower = p.body.to_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "{what}: inline script {tag}");
    }
    assert!(!lower.contains("<style"), "{what}: inline style element");
    assert!(!lower.contains(" style=\""), "{what}: style attribute");
    for handler in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onerror=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "{what}: {handler}");
    }
}

/// The `src` values of a page's scripts, unescaped.
fn script_srcs(p: &Page) -> Vec<String> {
    p.body
        .match_indices("<script src=\"")
        .map(|(i, m)| {
            let rest = &p.body[i + m.len()..];
            crate::common::http_browser::unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

async fn visit(b: &Browser, path: &str, status: u16) -> Page {
    let p = b.get(path).await;
    assert_eq!(p.status, status, "{path}: {}", p.body);
    assert_protected(&p, path);
    p
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

fn max_age(cache_control: &str) -> u64 {
    cache_control
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {cache_control}"))
}

/// An application name that would run if a page did not escape it.
const NAME: &str = "Ledger <script>alert(1)</script>";

pub(crate) async fn pages_have_security_headers_and_assets(env: Env) {
    user(&env, "alice", false);
    user(&env, "root", true);
    let (id, secret) = env.create_app(
        "confidential",
        "password",
        &["--name", NAME, "--user", "alice"],
    );
    let server = Server::start(&env, &[]);
    let (at, _) = password_grant(&server, &id, &secret, "alice").await;
    let (pk, tpk) = (app_of(&env, &id).await.unwrap().id, at_id(&env, &at).await);
    let anon = Browser::new(&server.base);
    let alice = signed_in(&server, "alice").await;
    let root = signed_in(&server, "root").await;

    let mut checked: Vec<Page> = Vec::new();
    let anon_pages = [
        ("/", 200),
        ("/accounts/login/", 200),
        ("/no/such/page/", 404),
        (APPS, 302),
        ("/admin/", 302),
    ];
    for (path, status) in anon_pages {
        checked.push(visit(&anon, path, status).await);
    }
    let alice_pages = [
        ("/".to_string(), 200),
        (APPS.to_string(), 200),
        (format!("{APPS}register/"), 200),
        (format!("{APPS}{pk}/"), 200),
        (format!("{APPS}{pk}/update/"), 200),
        (format!("{APPS}{pk}/delete/"), 200),
        (format!("{APPS}{pk}/new_secret/"), 200),
        (format!("{APPS}999999/"), 404),
        (TOKENS.to_string(), 200),
        (format!("{TOKENS}{tpk}/delete/"), 200),
        ("/admin/".to_string(), 403),
        ("/accounts/logout/".to_string(), 200),
    ];
    for (path, status) in alice_pages {
        checked.push(visit(&alice, &path, status).await);
    }
    let root_pages = [
        ("/admin/".to_string(), 200),
        ("/admin/oauth2_provider/application/".to_string(), 200),
        (
            format!("/admin/oauth2_provider/application/{pk}/change/"),
            200,
        ),
        (
            format!("/admin/oauth2_provider/application/{pk}/delete/"),
            200,
        ),
        (
            format!("/admin/oauth2_provider/application/{pk}/edit/"),
            200,
        ),
        ("/admin/auth/user/add/".to_string(), 200),
        (
            "/admin/oauth2_provider/accesstoken/999999/change/".to_string(),
            404,
        ),
    ];
    for (path, status) in root_pages {
        checked.push(visit(&root, &path, status).await);
    }
    // The pages that show the application's name show it escaped.
    for path in [
        APPS.to_string(),
        format!("{APPS}{pk}/"),
        TOKENS.to_string(),
        "/admin/oauth2_provider/application/".to_string(),
        format!("/admin/oauth2_provider/application/{pk}/change/"),
    ] {
        let b = if path.starts_with("/admin/") {
            &root
        } else {
            &alice
        };
        let p = b.get(&path).await;
        assert!(
            p.body.contains("Ledger &lt;script&gt;alert(1)"),
            "{path}: {}",
            p.body
        );
    }
    // A refused form is a protected page too.
    let p = alice
        .post(&format!("{APPS}{pk}/delete/"), &[(CSRF, "nope")])
        .await;
    assert_eq!(p.status, 403);
    assert_protected(&p, "403");

    // The versioned assets, linked from every page.
    let home = &checked[0];
    let css = hrefs(home)
        .into_iter()
        .find(|h| h.starts_with("/static/") && h.contains(".css?v="))
        .expect("stylesheet link");
    let js = script_srcs(home)
        .into_iter()
        .find(|s| s.starts_with("/static/") && s.contains(".js?v="))
        .expect("script");
    for p in checked.iter().filter(|p| !p.body.is_empty()) {
        assert!(hrefs(p).contains(&css), "{}", p.body);
        assert!(script_srcs(p).contains(&js), "{}", p.body);
    }
    for (url, content_type) in [(&css, "text/css"), (&js, "javascript")] {
        let r = get(&format!("{}{url}", server.base)).await;
        assert_eq!(r.status(), 200, "{url}");
        let h = r.headers().clone();
        assert!(
            h["content-type"].to_str().unwrap().contains(content_type),
            "{url}: {:?}",
            h["content-type"]
        );
        let cc = h["cache-control"].to_str().unwrap().to_string();
        assert!(
            cc.contains("immutable") && max_age(&cc) == 31_536_000,
            "{url}: {cc}"
        );
        assert!(!r.bytes().await.unwrap().is_empty());
        let path = url.split('?').next().unwrap();
        for other in [
            format!("{path}?v=000000000000"),
            path.to_string(),
            format!("{url}0"),
        ] {
            let r = get(&format!("{}{other}", server.base)).await;
            assert_eq!(r.status(), 200, "{other}");
            let cc = r.headers()["cache-control"].to_str().unwrap().to_string();
            assert!(
                !cc.contains("immutable") && max_age(&cc) <= 3600,
                "{other}: {cc}"
            );
        }
    }
    for missing in [
        "/static/oauth2_provider/css/missing.css",
        "/static/",
        "/o/applications/1/nope/",
    ] {
        let p = anon.get(missing).await;
        assert_error_page(&p, 404, missing);
        assert!(
            p.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{missing}"
        );
    }

    // The home page's links: the management pages when signed in, the admin for staff only.
    let links = |p: &Page| hrefs(p);
    let anon_home = links(&checked[0]);
    assert!(
        !anon_home.iter().any(|h| h == "/admin/" || h == APPS),
        "{anon_home:?}"
    );
    let alice_home = links(&checked[anon_pages.len()]);
    assert!(
        alice_home.contains(&APPS.to_string()) && alice_home.contains(&TOKENS.to_string()),
        "{alice_home:?}"
    );
    assert!(
        !alice_home.contains(&"/admin/".to_string()),
        "{alice_home:?}"
    );
    let root_home = root.get("/").await;
    assert_protected(&root_home, "/ (staff)");
    let root_links = links(&root_home);
    assert!(
        root_links.contains(&"/admin/".to_string()) && root_links.contains(&APPS.to_string()),
        "{root_links:?}"
    );
}
