//! Every form of the management pages and of the admin refuses a POST without this
//! session's CSRF token (missing, wrong, empty, or another session's), with 403, and
//! changes nothing; the same POSTs with the right token work.

use crate::common::http_browser::Browser;
use crate::common::*;
use crate::support::*;
use crate::world::world;

/// POST `fields` to `url` with every kind of bad CSRF token; each must be a 403 page.
async fn refused(b: &Browser, other_session: &str, url: &str, fields: &[(&str, String)]) {
    let own = b.csrf().await;
    let wrong: String = own
        .chars()
        .map(|c| if c == 'a' { 'b' } else { 'a' })
        .collect();
    let variants: [(&str, Option<&str>); 4] = [
        ("missing", None),
        ("wrong", Some(&wrong)),
        ("empty", Some("")),
        ("another session's", Some(other_session)),
    ];
    for (what, token) in variants {
        let mut body: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = token {
            body.push((CSRF, t));
        }
        body.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let p = b.post(url, &body).await;
        assert_error_page(&p, 403, &format!("POST {url} with a {what} CSRF token"));
        assert!(p.body.contains("CSRF"), "{url}: {}", p.body);
        assert!(secret_shown(&p).is_none(), "{url}: {}", p.body);
    }
}

pub(crate) async fn every_form_checks_csrf(env: Env) {
    let w = world(&env).await;
    let staff = signed_in(&w.server, "root").await;
    let (alice_csrf, staff_csrf) = (w.alice.csrf().await, staff.csrf().await);
    let pk = w.id("oauth2_provider/application");
    let tpk = w.id("oauth2_provider/accesstoken");
    let owned = |pairs: Vec<(&'static str, &str)>| {
        pairs
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let app_fields = owned(app_form(&[
        ("name", "Renamed Shop"),
        ("client_id", &w.client_id),
        ("algorithm", "RS256"),
    ]));
    let register_fields = owned(app_form(&[
        ("name", "Fresh"),
        ("client_id", "fresh-client-id"),
    ]));
    let management = vec![
        (format!("{APPS}register/"), register_fields.clone()),
        (format!("{APPS}{pk}/update/"), app_fields.clone()),
        (format!("{APPS}{pk}/delete/"), Vec::new()),
        (format!("{APPS}{pk}/new_secret/"), Vec::new()),
        (format!("{TOKENS}{tpk}/delete/"), Vec::new()),
    ];
    let before = snapshot(&env).await;
    for (url, fields) in &management {
        refused(&w.alice, &staff_csrf, url, fields).await;
    }
    let admin = w.admin_posts();
    for (url, fields) in &admin {
        refused(&staff, &alice_csrf, url, fields).await;
    }
    assert_eq!(
        snapshot(&env).await,
        before,
        "a refused POST changed something"
    );
    assert!(active(&w.server, &w.client_id, &w.secret, &w.at).await);

    // The same requests with the right token are accepted: the refusals were the CSRF check's.
    let accepted = |csrf: &str, fields: &[(&'static str, String)]| {
        let mut v = vec![(CSRF, csrf.to_string())];
        v.extend_from_slice(fields);
        v
    };
    let body = accepted(&alice_csrf, &app_fields);
    let form: Vec<(&str, &str)> = body.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = w.alice.post(&format!("{APPS}{pk}/update/"), &form).await;
    assert_eq!(p.status, 302, "{}", p.body);
    assert_eq!(
        app_of(&env, &w.client_id).await.unwrap().name,
        "Renamed Shop"
    );
    let (url, fields) = &admin[0];
    assert_eq!(
        url,
        &format!("/admin/oauth2_provider/application/{pk}/delete/")
    );
    let body = accepted(&staff_csrf, fields);
    let form: Vec<(&str, &str)> = body.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = staff.post(url, &form).await;
    assert_eq!(p.status, 302, "{}", p.body);
    assert!(
        app_of(&env, &w.client_id).await.is_none(),
        "deleted with the right token"
    );
}
