//! Responses, API clients, the provider fixture, and the example binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use oauth_toolkit_core::models::NewAccessToken;
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::header::{HeaderMap, VARY, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::common::*;

pub(crate) const PW: &str = "alice-pw-123";
pub(crate) const SCOPES: &str = r#"{ read = "Read", write = "Write", "music:read" = "Read music", "music:write" = "Change music", admin = "Administer", introspection = "Introspect tokens" }"#;
pub(crate) const REALM_API: &str = r#"Bearer realm="api""#;

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn www(&self) -> String {
        self.headers
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    pub(crate) fn vary_authorization(&self) -> bool {
        self.headers.get_all(VARY).iter().any(|v| {
            v.to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("authorization")
        })
    }
}

pub(crate) struct App {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// An HTTP client and a base URL (the provider with `--demo-api`, or the example binary).
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Api {
    pub(crate) fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(StdDuration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_string(),
        }
    }

    /// `method path` with `Authorization: Bearer <token>` when given.
    pub(crate) async fn call(&self, method: &str, path: &str, token: Option<&str>) -> Resp {
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.raw(method, path, &hs, None).await
    }

    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form_body: Option<String>,
    ) -> Resp {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = form_body {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// A provider (`serve --demo-api`) with user alice and the scopes above.
pub(crate) struct Fx {
    pub(crate) env: Env,
    pub(crate) server: Server,
    pub(crate) api: Api,
    /// Confidential, password grant.
    pub(crate) app: App,
}

impl Fx {
    pub(crate) fn start(env: Env, extra: &[(&str, &str)]) -> Fx {
        Self::start_with(env, extra, &["--demo-api"])
    }

    pub(crate) fn start_with(env: Env, extra: &[(&str, &str)], args: &[&str]) -> Fx {
        env.create_user("alice", PW);
        let mut vars = vec![("OAUTH_TOOLKIT_SCOPES", SCOPES)];
        vars.extend_from_slice(extra);
        let server = Server::start_with_args(&env, &vars, args);
        let (id, secret) = env.create_app("confidential", "password", &[]);
        let api = Api::new(&server.base);
        Fx {
            env,
            server,
            api,
            app: App { id, secret },
        }
    }

    /// A user token (password grant) with `scope`.
    pub(crate) async fn token(&self, scope: &str) -> String {
        let r = self
            .api
            .http
            .post(format!("{}/o/token/", self.server.base))
            .basic_auth(&self.app.id, Some(&self.app.secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PW),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "token request failed");
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    /// A confidential client-credentials application.
    pub(crate) fn cc_app(&self) -> App {
        let (id, secret) = self
            .env
            .create_app("confidential", "client-credentials", &[]);
        App { id, secret }
    }

    /// A client token (client credentials grant) with `scope`.
    pub(crate) async fn cc_token(&self, app: &App, scope: &str) -> String {
        let r = self
            .api
            .http
            .post(format!("{}/o/token/", self.server.base))
            .basic_auth(&app.id, Some(&app.secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "token request failed");
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub(crate) async fn revoke(&self, token: &str) {
        let r = self
            .api
            .http
            .post(format!("{}/o/revoke_token/", self.server.base))
            .form(&[
                ("client_id", self.app.id.as_str()),
                ("client_secret", self.app.secret.as_str()),
                ("token", token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// An access token written straight to the store, expired a minute ago.
    pub(crate) async fn expired_token(&self) -> String {
        let store = self.env.db().await.store();
        let app = store
            .find_application_by_client_id(&self.app.id)
            .await
            .unwrap()
            .unwrap();
        let user = store.find_user_by_username("alice").await.unwrap().unwrap();
        let value = "expiredTokenValue0123456789abcdefXYZ";
        let now = OffsetDateTime::now_utc();
        store
            .create_access_token(
                NewAccessToken {
                    resource: String::new(),
                    user_id: Some(user.id),
                    source_refresh_token_id: None,
                    token: value.to_string(),
                    token_checksum: token_checksum(value),
                    id_token_id: None,
                    application_id: Some(app.id),
                    expires: now - Duration::minutes(1),
                    scope: "read write".into(),
                    token_family: None,
                },
                now - Duration::hours(1),
            )
            .await
            .unwrap();
        value.to_string()
    }
}

pub(crate) fn assert_challenge(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let www = r.www();
    assert!(www.starts_with(REALM_API), "{www}");
    assert!(www.contains(&format!("error=\"{error}\"")), "{www}");
    assert_eq!(r.json()["error"], error);
}

pub(crate) fn assert_insufficient(r: &Resp, scope: &str) {
    assert_challenge(r, 403, "insufficient_scope");
    assert!(
        r.www().ends_with(&format!("scope=\"{scope}\"")),
        "{} (wanted scope {scope})",
        r.www()
    );
}

// ---- the example binary ---------------------------------------------------------------

/// `protected-api`, built once per test process.
pub(crate) fn example_binary() -> PathBuf {
    workspace_binary("protected-api")
}

/// A running `protected-api`, killed on drop.
pub(crate) struct Example {
    pub(crate) child: std::process::Child,
    pub(crate) api: Api,
    pub(crate) _dir: tempfile::TempDir,
}

impl Example {
    pub(crate) fn start(vars: &[(&str, &str)]) -> Example {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(example_binary());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(dir.path())
            .env("PROTECTED_API_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let url = line[i + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let base = rx
            .recv_timeout(StdDuration::from_secs(60))
            .unwrap_or_else(|_| panic!("example did not start: {}", log.lock().unwrap()));
        Example {
            child,
            api: Api::new(&base),
            _dir: dir,
        }
    }

    /// Remote mode against `introspect_url` with Basic credentials.
    pub(crate) fn remote(introspect_url: &str, creds: &App, extra: &[(&str, &str)]) -> Example {
        let creds = format!(r#"["{}", "{}"]"#, creds.id, creds.secret);
        let mut vars = vec![
            (
                "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
                introspect_url,
            ),
            (
                "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS",
                creds.as_str(),
            ),
        ];
        vars.extend_from_slice(extra);
        Example::start(&vars)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
