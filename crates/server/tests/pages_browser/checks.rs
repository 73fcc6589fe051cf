//! The checks themselves can fail: a clean page passes them, the same page with a second
//! `<h1>`, an unlabelled input, an image without text, faint text and a too wide block
//! fails each of them (so a green run of the scenario means something).

use serde_json::json;

use crate::common::webdriver::Browser;
use crate::support::*;

const CLEAN: &str = "<!DOCTYPE html><html lang=\"en\"><head><title>Clean</title></head><body>\
    <main><h1>Clean</h1><label for=\"a\">Name</label> <input id=\"a\" type=\"text\"></main></body></html>";

const DEFECTS: &str = "<h1>Second</h1><input type=\"text\" name=\"b\"><img src=\"data:,\">\
    <p style=\"color:#ccc;background:#fff\">faint text</p><div style=\"width:2000px\">wide</div>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_checks_catch_what_they_are_for() {
    let pages = Inspector::new(screenshot_dir("checks"));
    let browser = Browser::start(true).await;
    browser
        .goto(&format!("data:text/html,{}", url_encode(CLEAN)))
        .await;
    browser.wait_for("h1").await;
    let clean = pages.problems(&browser).await;
    assert!(clean.is_empty(), "a clean page: {clean:#?}");
    assert_eq!(overflow(&browser).await, None);

    let add = "document.querySelector('main').insertAdjacentHTML('beforeend', arguments[0]);";
    browser.execute(add, json!([DEFECTS])).await;
    let found = pages.problems(&browser).await.join("\n");
    for expected in [
        "want exactly one <h1>, got [\"Clean\", \"Second\"]",
        "control without a label: <input type=\"text\" name=\"b\">",
        "axe [critical] image-alt",
        "axe [serious] color-contrast",
    ] {
        assert!(found.contains(expected), "{expected:?} not in:\n{found}");
    }
    let wide = overflow(&browser)
        .await
        .expect("a 2000 px block scrolls sideways");
    assert!(wide.contains("scrollWidth"), "{wide}");
    browser.quit().await;
}
