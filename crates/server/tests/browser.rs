//! The pages in a real browser: headless Chromium (with JavaScript off: the pages must not
//! need it) signs in through the login page, consents, and lands on the client's redirect
//! URI with a code that the token endpoint accepts. Screenshots go to the test tmp dir.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::webdriver::Browser;
use common::*;

backends!(sign_in_consent_and_code_exchange_in_chromium);

/// A stand-in client: answers every request on its port with a small page.
fn callback_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<html><body>client callback reached</body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

async fn sign_in_consent_and_code_exchange_in_chromium(env: Env) {
    env.create_user("alice", "wonderland");
    let port = callback_server();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let (id, _) = env.create_app(
        "public",
        "authorization-code",
        &["--redirect-uris", &redirect, "--name", "Photo Printer"],
    );
    let server = Server::start(&env, &[]);
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = format!(
        "{}/o/authorize/?response_type=code&client_id={id}&redirect_uri={}&scope=read&state=st4te\
         &code_challenge={challenge}&code_challenge_method=S256",
        server.base,
        redirect.replace(':', "%3A").replace('/', "%2F"),
    );
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let backend = if env.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };

    let browser = Browser::start(false).await;
    browser.goto(&authorize).await;
    // Not signed in: the login page, which will come back to the same request.
    browser
        .wait_for_url(&format!("{}/accounts/login/", server.base))
        .await;
    browser
        .screenshot(&shots.join(format!("login-{backend}.png")))
        .await;
    browser.type_into("input[name=username]", "alice").await;
    browser
        .type_into("input[name=password]", "wonderland")
        .await;
    browser.click("form [type=submit]").await;
    // The consent page names the application and the scope.
    browser
        .wait_for_url(&format!("{}/o/authorize/", server.base))
        .await;
    let page = browser.source().await;
    assert!(page.contains("Photo Printer"), "{page}");
    assert!(page.contains("Reading scope"), "{page}");
    assert!(browser.exists("[name=allow]").await);
    browser
        .screenshot(&shots.join(format!("consent-{backend}.png")))
        .await;
    browser.click("[name=allow]").await;
    // Back at the client with a code and the state.
    let landed = browser.wait_for_url(&redirect).await;
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some("st4te"),
        "{landed}"
    );
    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    browser.quit().await;

    let resp = reqwest::Client::new()
        .post(format!("{}/o/token/", server.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", id.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    assert!(body["refresh_token"].is_string());
}
