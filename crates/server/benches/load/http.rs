//! The requests the scenarios send, and the load drivers.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use common::{drive, Stats};
use sha2::Digest;

use crate::*;

/// A keep-alive client that does not follow redirects (the flow reads them).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POST a form, with HTTP Basic credentials; the JSON answer if 200.
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    basic: &(String, String),
    form: &[(&str, &str)],
) -> Option<serde_json::Value> {
    let r = client
        .post(url)
        .basic_auth(&basic.0, Some(&basic.1))
        .form(form)
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.json().await.ok()
}

pub(crate) async fn get_ok(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Option<usize> {
    let mut req = client.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.ok()?;
    if r.status() != 200 {
        return None;
    }
    r.bytes().await.ok().map(|b| b.len())
}

pub(crate) async fn password_grant(base: &str, app: &(String, String)) -> serde_json::Value {
    post_form(
        &client(),
        &format!("{base}/o/token/"),
        app,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("scope", "read write"),
        ],
    )
    .await
    .expect("password grant")
}

/// The browser's side of a session: cookies by name.
#[derive(Default, Clone)]
pub(crate) struct Jar(HashMap<String, String>);

impl Jar {
    pub(crate) fn store(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            if let Some((name, value)) = v
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|c| c.split_once('='))
            {
                self.0.insert(name.trim().into(), value.trim().into());
            }
        }
    }

    pub(crate) fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub(crate) fn csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// One whole authorization-code + PKCE flow: login page, login POST, consent page, consent
/// POST, code exchange. `None` at the first step that fails.
pub(crate) async fn code_flow(
    client: &reqwest::Client,
    base: &str,
    app: &(String, String),
) -> Option<()> {
    let mut jar = sign_in(client, base).await?;
    signed_in_code_flow(client, base, app, &mut jar).await
}

/// The login page and its POST: the session cookies of a signed-in alice.
pub(crate) async fn sign_in(client: &reqwest::Client, base: &str) -> Option<Jar> {
    let mut jar = Jar::default();
    let login = format!("{base}/accounts/login/");
    let r = client.get(&login).send().await.ok()?;
    jar.store(&r);
    let token = csrf(&r.text().await.ok()?)?;
    let r = client
        .post(&login)
        .header("cookie", jar.header())
        .form(&[
            ("csrfmiddlewaretoken", token.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .ok()?;
    if r.status() != 302 {
        return None;
    }
    jar.store(&r);
    Some(jar)
}

/// The flow of a user already signed in (`jar`): consent page, consent POST, code exchange.
pub(crate) async fn signed_in_code_flow(
    client: &reqwest::Client,
    base: &str,
    app: &(String, String),
    jar: &mut Jar,
) -> Option<()> {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    let query = [
        ("response_type", "code"),
        ("client_id", app.0.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let authorize = format!("{base}/o/authorize/");
    let r = client
        .get(&authorize)
        .query(&query)
        .header("cookie", jar.header())
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    jar.store(&r);
    let token = csrf(&r.text().await.ok()?)?;
    let mut form = query.to_vec();
    form.push(("csrfmiddlewaretoken", token.as_str()));
    form.push(("allow", "Authorize"));
    let r = client
        .post(&authorize)
        .header("cookie", jar.header())
        .form(&form)
        .send()
        .await
        .ok()?;
    let location = r.headers().get("location")?.to_str().ok()?;
    let code = reqwest::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")?
        .1
        .into_owned();
    post_form(
        client,
        &format!("{base}/o/token/"),
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await?
    .get("access_token")?;
    Some(())
}

/// POST the form `form(i)` with HTTP Basic `creds` to `url`; success is a 200.
pub(crate) async fn form_load<F>(
    secs: f64,
    s: &Settings,
    url: String,
    creds: (String, String),
    form: F,
) -> Stats
where
    F: Fn(usize) -> Vec<(String, String)> + Clone + Send + Sync + 'static,
{
    let (url, creds) = (Arc::new(url), Arc::new(creds));
    drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, i| {
        let (url, creds, body) = (url.clone(), creds.clone(), form(i));
        async move {
            match c
                .post(url.as_str())
                .basic_auth(&creds.0, Some(&creds.1))
                .form(&body)
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
}

pub(crate) async fn get_load(
    secs: f64,
    s: &Settings,
    url: String,
    bearer: Option<String>,
) -> Stats {
    let (url, bearer) = (Arc::new(url), Arc::new(bearer));
    drive(s.concurrency, 0.0, secs, s.max_ops, client, move |c, _| {
        let (url, bearer) = (url.clone(), bearer.clone());
        async move { get_ok(&c, &url, bearer.as_deref()).await.is_some() }
    })
    .await
}
