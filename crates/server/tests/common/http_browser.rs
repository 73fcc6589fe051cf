//! A small browser for the black-box tests: cookies by hand (so that one cookie can be
//! replayed on another process), no redirects followed, the real login form. Shared by the
//! authorization endpoint and device flow tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::HeaderMap;
use reqwest::Url;

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn loc(&self) -> String {
        self.location()
            .unwrap_or_else(|| panic!("no Location; status {}: {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of a hidden form field, HTML-unescaped.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape(&self.body[start..end]))
    }

    /// The hidden fields of the consent form, in order.
    pub fn form_fields(&self) -> Vec<(String, String)> {
        [
            "redirect_uri",
            "scope",
            "nonce",
            "client_id",
            "state",
            "response_type",
            "code_challenge",
            "code_challenge_method",
            "claims",
            "response_mode",
            "csrfmiddlewaretoken",
        ]
        .iter()
        .filter_map(|n| self.hidden(n).map(|v| (n.to_string(), v)))
        .collect()
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrfmiddlewaretoken")
            .unwrap_or_else(|| panic!("no csrf token in: {}", self.body))
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: Mutex<BTreeMap<String, String>>,
    /// Every `Set-Cookie` received, raw.
    pub set_cookies: Mutex<Vec<String>>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            http: client(),
            base: base.to_string(),
            cookies: Mutex::new(BTreeMap::new()),
            set_cookies: Mutex::new(Vec::new()),
        }
    }

    /// The same cookies, sent to another server.
    pub fn on(&self, base: &str) -> Browser {
        let b = Browser::new(base);
        *b.cookies.lock().unwrap() = self.cookies.lock().unwrap().clone();
        b
    }

    pub fn cookie(&self) -> Option<String> {
        let c = self.cookies.lock().unwrap();
        (!c.is_empty()).then(|| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn set_session(&self, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert("sessionid".into(), value.into());
    }

    pub fn session(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("sessionid").cloned()
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match self.cookie() {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let raw = sc.to_str().unwrap().to_string();
            let first = raw.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if raw.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.lock().unwrap().remove(name);
            } else {
                self.cookies
                    .lock()
                    .unwrap()
                    .insert(name.to_string(), value.to_string());
            }
            self.set_cookies.lock().unwrap().push(raw);
        }
        let body = resp.text().await.unwrap_or_default();
        assert!(status < 500, "server error {status}: {body}");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path_and_query: &str) -> Page {
        self.send(self.http.get(format!("{}{path_and_query}", self.base)))
            .await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Page {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_raw(path, encode(form).into_bytes()).await
    }

    /// Log in through the real form; returns the redirect.
    pub async fn login_next(&self, user: &str, password: &str, next: &str) -> Page {
        let page = self.get("/accounts/login/").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        self.post(
            "/accounts/login/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", user),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }

    /// Log in as `test_user` / `123456` (DOT's fixture user).
    pub async fn login(&self) {
        self.login_as("test_user", "123456").await;
    }

    /// Log in through the real form, which must succeed.
    pub async fn login_as(&self, user: &str, password: &str) {
        let p = self.login_next(user, password, "/").await;
        assert_eq!(p.status, 302, "login failed: {}", p.body);
        assert_eq!(p.loc(), "/");
    }

    /// The CSRF token of the current session (from the logout confirmation form).
    pub async fn csrf(&self) -> String {
        self.get("/accounts/logout/").await.csrf()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut u = Url::parse("http://x/").unwrap();
    u.query_pairs_mut().extend_pairs(pairs);
    u.query().unwrap_or("").to_string()
}
