//! One person's and one staff member's way through the pages, in Chromium with JavaScript
//! on, with the quality checks ([`Inspector`]) on every page on the way.

use serde_json::Value;

use crate::common::webdriver::Browser;
use crate::common::*;
use crate::support::*;

backends!(a_person_and_staff_use_the_pages);

const NAME: &str = "Photo Printer";
const NEW_NAME: &str = "Photo Printer Pro";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The text of the `<dd>` after the `<dt>` that reads `label` (detail pages).
async fn field_value(browser: &Browser, label: &str) -> String {
    let script = "for (const dt of document.querySelectorAll('dl dt')) \
        { if (dt.textContent.trim() === arguments[0]) return dt.nextElementSibling.textContent.trim(); } \
        return null;";
    let v = browser.execute(script, serde_json::json!([label])).await;
    match v.as_str() {
        Some(text) => text.to_string(),
        None => panic!("no field {label} on {}", browser.url().await),
    }
}

async fn introspect(base: &str, id: &str, secret: &str, token: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}/o/introspect/"))
        .header("Authorization", basic(id, secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Register NAME through the form; returns (detail URL, client id, client secret).
async fn register(
    browser: &Browser,
    pages: &mut Inspector,
    redirect: &str,
) -> (String, String, String) {
    browser
        .click("main a[href$='/applications/register/']")
        .await;
    browser.wait_for("#applicationForm").await;
    pages.check(browser, "register-form").await;
    assert_eq!(
        browser.property("#id_hash_client_secret", "checked").await,
        true,
        "secrets are stored hashed by default"
    );
    browser.type_into("#id_name", NAME).await;
    browser
        .select_option("#id_client_type", "confidential")
        .await;
    browser
        .select_option("#id_authorization_grant_type", "authorization-code")
        .await;
    browser.type_into("#id_redirect_uris", redirect).await;
    let client_id = browser.property("#id_client_id", "value").await;
    let client_id = client_id.as_str().unwrap().to_string();
    assert!(!client_id.is_empty(), "the form proposes a client id");
    browser.click("#applicationForm [type=submit]").await;

    // The response to the POST is the detail page, with the secret shown this once.
    browser.wait_for("#client-secret").await;
    pages.check(browser, "detail-new-secret").await;
    pages.check_narrow(browser, "detail-new-secret").await;
    assert_eq!(browser.text("h1").await, NAME);
    assert_eq!(browser.text("#client-id").await, client_id);
    let secret = browser.text("#client-secret").await;
    assert!(secret.len() >= 32, "a generated secret, got {secret:?}");
    assert!(
        browser
            .displayed("button[data-copy-target=client-secret]")
            .await,
        "with JavaScript the Copy button of the secret is shown"
    );
    // The absolute URL (the `href` property, not the attribute).
    let edit = browser.property("main a[href$='/update/']", "href").await;
    let detail = edit
        .as_str()
        .unwrap()
        .trim_end_matches("update/")
        .to_string();
    (detail, client_id, secret)
}

async fn a_person_and_staff_use_the_pages(env: Env) {
    env.create_user("alice", "wonderland");
    create_staff_user(&env, "sam", "staff-password-1");
    let port = callback_server();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let server = Server::start(&env, &[]);
    let base = server.base.clone();
    let mut pages = Inspector::new(screenshot_dir(backend_name(&env)));

    // Alice signs in and opens Applications (none yet).
    let alice = Browser::start(true).await;
    alice.goto(&format!("{base}/accounts/login/")).await;
    pages.check(&alice, "login").await;
    pages.check_narrow(&alice, "login").await;
    sign_in(&alice, "alice", "wonderland").await;
    alice.wait_for_exact_url(&format!("{base}/")).await;
    pages.check(&alice, "home").await;
    alice.click("nav.site-nav a[href$='/applications/']").await;
    alice
        .wait_for_exact_url(&format!("{base}/o/applications/"))
        .await;
    pages.check(&alice, "applications-empty").await;

    let (detail, client_id, secret) = register(&alice, &mut pages, &redirect).await;

    // Shown once: the detail page never again holds the secret.
    alice.goto(&detail).await;
    pages.check(&alice, "detail").await;
    pages.check_narrow(&alice, "detail").await;
    let source = alice.source().await;
    assert!(
        !source.contains(&secret),
        "the secret is shown again on {detail}"
    );
    assert!(!alice.exists("#client-secret").await);
    assert!(source.contains("Stored hashed"), "{source}");

    // Rename it.
    alice.click("main a[href$='/update/']").await;
    alice.wait_for("#applicationForm[action$='/update/']").await;
    pages.check(&alice, "update-form").await;
    alice.clear_and_type("#id_name", NEW_NAME).await;
    alice.click("#applicationForm [type=submit]").await;
    alice.wait_for_exact_url(&detail).await;
    assert_eq!(alice.text("h1").await, NEW_NAME);
    alice.goto(&format!("{base}/o/applications/")).await;
    pages.check(&alice, "applications").await;
    pages.check_narrow(&alice, "applications").await;
    assert_eq!(alice.text("table.list tbody th a").await, NEW_NAME);

    // An authorization-code flow with PKCE, consenting in the browser.
    let authorize = format!(
        "{base}/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=read\
         &state=st4te&code_challenge={}&code_challenge_method=S256",
        url_encode(&client_id),
        url_encode(&redirect),
        s256(VERIFIER),
    );
    alice.goto(&authorize).await;
    alice.wait_for("#authorizationForm").await;
    pages.check(&alice, "consent").await;
    pages.check_narrow(&alice, "consent").await;
    assert_eq!(alice.text("h1").await, format!("Authorize {NEW_NAME}?"));
    assert!(alice.text(".scopes").await.contains("Reading scope"));
    alice.click("#authorizationForm input[name=allow]").await;
    let landed = alice.wait_for_url(&redirect).await;
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some("st4te"),
        "{landed}"
    );
    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));

    let resp = reqwest::Client::new()
        .post(format!("{base}/o/token/"))
        .header("Authorization", basic(&client_id, &secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert_eq!(body["scope"], "read");
    assert_eq!(
        introspect(&base, &client_id, &secret, &token).await["active"],
        true
    );

    // Authorized tokens: the renamed application with the scope's description; revoke it.
    alice.goto(&format!("{base}/o/authorized_tokens/")).await;
    pages.check(&alice, "authorized-tokens").await;
    let listed = alice.text("main .card-list").await;
    assert!(listed.contains(NEW_NAME), "{listed}");
    assert!(listed.contains("read: Reading scope"), "{listed}");
    alice.click("main a[href$='/delete/']").await;
    alice.wait_for("main form[action$='/delete/']").await;
    pages.check(&alice, "revoke-confirm").await;
    assert!(alice.text("main").await.contains(NEW_NAME));
    alice
        .click("main form[action$='/delete/'] [type=submit]")
        .await;
    alice
        .wait_for_exact_url(&format!("{base}/o/authorized_tokens/"))
        .await;
    assert!(
        !alice.text("main").await.contains(NEW_NAME),
        "the token is still listed"
    );
    assert_eq!(
        introspect(&base, &client_id, &secret, &token).await["active"],
        false
    );

    // Another id is a 404 page that passes the same checks.
    alice.goto(&format!("{base}/o/applications/999999/")).await;
    pages.check(&alice, "not-found").await;
    assert_eq!(alice.text("h1").await, "Not Found");
    assert!(alice.text("main").await.contains("404"));

    staff_deactivates_alice(&base, &mut pages, &client_id).await;

    // Her session ended with the deactivation.
    alice.goto(&format!("{base}/o/applications/")).await;
    alice.wait_for_url(&format!("{base}/accounts/login/")).await;
    alice.quit().await;
}

/// Sam (staff) finds the application and alice in the admin, and deactivates her.
async fn staff_deactivates_alice(base: &str, pages: &mut Inspector, client_id: &str) {
    let sam = Browser::start(true).await;
    sam.goto(&format!("{base}/admin/")).await;
    sign_in(&sam, "sam", "staff-password-1").await;
    sam.wait_for_exact_url(&format!("{base}/admin/")).await;
    pages.check(&sam, "admin-index").await;

    sam.click("main a[href='/admin/oauth2_provider/application/']")
        .await;
    sam.wait_for("#id_q").await;
    pages.check(&sam, "admin-applications").await;
    sam.type_into("#id_q", NEW_NAME).await;
    sam.click("form.filters [type=submit]").await;
    sam.wait_for_url(&format!("{base}/admin/oauth2_provider/application/?"))
        .await;
    assert_eq!(
        query_param(&sam.url().await, "q").as_deref(),
        Some("Photo+Printer+Pro")
    );
    pages.check(&sam, "admin-applications-search").await;
    assert_eq!(sam.count("table.list tbody tr").await, 1);
    let row = sam.text("table.list tbody tr").await;
    assert!(row.contains(NEW_NAME) && row.contains(client_id), "{row}");
    sam.click("table.list tbody th a").await;
    sam.wait_for("dl.fields").await;
    pages.check(&sam, "admin-application").await;
    assert_eq!(field_value(&sam, "Client id").await, client_id);
    assert_eq!(
        field_value(&sam, "Client secret").await,
        "stored hashed (not shown)"
    );

    sam.goto(&format!("{base}/admin/auth/user/")).await;
    pages.check(&sam, "admin-users").await;
    sam.type_into("#id_q", "alice").await;
    sam.click("form.filters [type=submit]").await;
    sam.wait_for_url(&format!("{base}/admin/auth/user/?q=alice"))
        .await;
    pages.check(&sam, "admin-users-search").await;
    assert_eq!(sam.count("table.list tbody tr").await, 1);
    assert!(sam.text("table.list tbody tr").await.contains("alice"));
    sam.click("table.list tbody th a").await;
    sam.wait_for("dl.fields").await;
    pages.check(&sam, "admin-user").await;
    let user_detail = sam.url().await;
    assert!(user_detail.ends_with("/change/"), "{user_detail}");
    assert_eq!(field_value(&sam, "Username").await, "alice");
    assert_eq!(field_value(&sam, "Active").await, "yes");

    sam.click("main a[href$='/deactivate/']").await;
    sam.wait_for("main form[action$='/deactivate/']").await;
    pages.check(&sam, "admin-deactivate-confirm").await;
    sam.click("main form[action$='/deactivate/'] [type=submit]")
        .await;
    sam.wait_for_exact_url(&user_detail).await;
    pages.check(&sam, "admin-user-deactivated").await;
    assert_eq!(field_value(&sam, "Active").await, "no");
    sam.quit().await;
}
