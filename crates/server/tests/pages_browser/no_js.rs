//! The pages without JavaScript: sign in, register, see the secret; the Copy buttons, which
//! only a script can make work, stay hidden.

use crate::common::webdriver::Browser;
use crate::common::*;
use crate::support::*;

backends!(registering_works_without_javascript);

async fn registering_works_without_javascript(env: Env) {
    env.create_user("bob", "builder-pw");
    let server = Server::start(&env, &[]);
    let base = &server.base;
    let shots = screenshot_dir(&format!("{}-nojs", backend_name(&env)));

    let browser = Browser::start(false).await;
    browser.goto(&format!("{base}/o/applications/")).await;
    browser
        .wait_for_url(&format!("{base}/accounts/login/"))
        .await;
    sign_in(&browser, "bob", "builder-pw").await;
    browser
        .wait_for_exact_url(&format!("{base}/o/applications/"))
        .await;
    browser
        .click("main a[href$='/applications/register/']")
        .await;
    browser.wait_for("#applicationForm").await;
    browser.type_into("#id_name", "No Script").await;
    browser
        .select_option("#id_client_type", "confidential")
        .await;
    browser
        .type_into("#id_redirect_uris", "https://client.example/cb")
        .await;
    browser.click("#applicationForm [type=submit]").await;
    browser.wait_for("#client-secret").await;
    browser
        .screenshot(&shots.join("01-detail-new-secret.png"))
        .await;

    assert_eq!(browser.text("h1").await, "No Script");
    let secret = browser.text("#client-secret").await;
    assert!(secret.len() >= 32, "the secret is shown: {secret:?}");
    assert!(!browser.text("#client-id").await.is_empty());
    // The live DOM (no script touched it): both Copy buttons still `hidden`, not shown.
    assert_eq!(browser.count("button.copy").await, 2);
    assert_eq!(browser.count("button.copy[hidden]").await, 2);
    for target in ["client-id", "client-secret"] {
        let css = format!("button.copy[data-copy-target={target}]");
        assert!(
            !browser.displayed(&css).await,
            "{css} is visible without JavaScript"
        );
    }
    browser.quit().await;
}
