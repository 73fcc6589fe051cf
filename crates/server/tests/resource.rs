mod common;
use common::*;

// Black-box tests of the resource-server side (DOT's resource-server
// decorators and permission classes), over real HTTP:
//
// - local mode: `oauth-toolkit serve --demo-api` (the tutorial endpoints, one per extractor
//   and layer), on SQLite and PostgreSQL;
// - the example binary `protected-api` in local mode (the provider's database) and in remote
//   mode against a running `serve`, a dead port, a slow server and a fake RFC 7662 server
//   that counts the calls it receives.
//
// Tokens come from the real token endpoint, except an expired one, which is written to the
// store directly (waiting for a real one to expire would only slow the suite down).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use oauth_toolkit_core::models::NewAccessToken;
use oauth_toolkit_core::token_checksum::token_checksum;
use reqwest::header::{HeaderMap, ALLOW, RETRY_AFTER, VARY, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PW: &str = "alice-pw-123";
const SCOPES: &str = r#"{ read = "Read", write = "Write", "music:read" = "Read music", "music:write" = "Change music", admin = "Administer", introspection = "Introspect tokens" }"#;
const REALM_API: &str = r#"Bearer realm="api""#;

// ---------------------------------------------------------------------------------------
// Support
// ---------------------------------------------------------------------------------------

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn www(&self) -> String {
        self.headers
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    fn vary_authorization(&self) -> bool {
        self.headers.get_all(VARY).iter().any(|v| {
            v.to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("authorization")
        })
    }
}

struct App {
    id: String,
    secret: String,
}

/// An HTTP client and a base URL (the provider with `--demo-api`, or the example binary).
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(StdDuration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_string(),
        }
    }

    /// `method path` with `Authorization: Bearer <token>` when given.
    async fn call(&self, method: &str, path: &str, token: Option<&str>) -> Resp {
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.raw(method, path, &hs, None).await
    }

    async fn raw(
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
struct Fx {
    env: Env,
    server: Server,
    api: Api,
    /// Confidential, password grant.
    app: App,
}

impl Fx {
    fn start(env: Env, extra: &[(&str, &str)]) -> Fx {
        Self::start_with(env, extra, &["--demo-api"])
    }

    fn start_with(env: Env, extra: &[(&str, &str)], args: &[&str]) -> Fx {
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
    async fn token(&self, scope: &str) -> String {
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
    fn cc_app(&self) -> App {
        let (id, secret) = self
            .env
            .create_app("confidential", "client-credentials", &[]);
        App { id, secret }
    }

    /// A client token (client credentials grant) with `scope`.
    async fn cc_token(&self, app: &App, scope: &str) -> String {
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

    async fn revoke(&self, token: &str) {
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
    async fn expired_token(&self) -> String {
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

fn assert_challenge(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let www = r.www();
    assert!(www.starts_with(REALM_API), "{www}");
    assert!(www.contains(&format!("error=\"{error}\"")), "{www}");
    assert_eq!(r.json()["error"], error);
}

fn assert_insufficient(r: &Resp, scope: &str) {
    assert_challenge(r, 403, "insufficient_scope");
    assert!(
        r.www().ends_with(&format!("scope=\"{scope}\"")),
        "{} (wanted scope {scope})",
        r.www()
    );
}

// ---- the example binary ---------------------------------------------------------------

/// `protected-api`, built once per test process.
fn example_binary() -> PathBuf {
    workspace_binary("protected-api")
}

/// A running `protected-api`, killed on drop.
struct Example {
    child: std::process::Child,
    api: Api,
    _dir: tempfile::TempDir,
}

impl Example {
    fn start(vars: &[(&str, &str)]) -> Example {
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
    fn remote(introspect_url: &str, creds: &App, extra: &[(&str, &str)]) -> Example {
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

// ---- a fake RFC 7662 server -----------------------------------------------------------

type Answer = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// An introspection endpoint on a raw TCP listener: counts calls, records the
/// `Authorization` header, answers `answer(token)` after `delay`.
struct Fake {
    url: String,
    calls: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    async fn start(delay: StdDuration, answer: Answer) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/introspect/", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (c, a) = (calls.clone(), auth.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (c, a, answer) = (c.clone(), a.clone(), answer.clone());
                tokio::spawn(async move {
                    let Some((headers, body)) = read_request(&mut sock).await else {
                        return;
                    };
                    c.fetch_add(1, Ordering::SeqCst);
                    if let Some(line) = headers
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    {
                        a.lock().unwrap().push(line[14..].trim().to_string());
                    }
                    let token = body
                        .split('&')
                        .find_map(|p| p.strip_prefix("token="))
                        .unwrap_or("")
                        .to_string();
                    tokio::time::sleep(delay).await;
                    let (status, json) = answer(&token);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                        json.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Fake {
            url,
            calls,
            auth,
            task,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some((head, body))
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

// ---------------------------------------------------------------------------------------
// Local mode: `serve --demo-api`
// ---------------------------------------------------------------------------------------

/// `/api/hello` (`Bearer`, DOT's tutorial `ApiEndpoint`): no token → 401 with a bare
/// challenge; any valid token → `Hello, OAuth2!`; `bearer` in lower case works;
/// OPTIONS passes without a token; the unprotected twin answers everyone.
async fn hello_needs_any_valid_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx.api.call("GET", "/api/hello", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.www(), REALM_API);
    assert!(
        r.json().get("error").is_none(),
        "no error code without a token (RFC 6750 §3.1)"
    );

    let token = fx.token("write").await;
    let r = fx.api.call("GET", "/api/hello", Some(&token)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    let lower = format!("bearer {token}");
    let r = fx
        .api
        .raw("GET", "/api/hello", &[("authorization", &lower)], None)
        .await;
    assert_eq!(r.status, 200);
    let r = fx.api.call("HEAD", "/api/hello", Some(&token)).await;
    assert_eq!(r.status, 200);
    let r = fx.api.call("OPTIONS", "/api/hello", None).await;
    assert_eq!(r.status, 204);
    assert!(r.headers.get(ALLOW).is_some());
    let r = fx.api.call("GET", "/api/public", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
}

/// Malformed credentials are `400 invalid_request` (RFC 6750 §3.1): `Bearer` without a
/// token, two parts, characters outside b64token, two Bearer headers, header plus query, and
/// a query token while only the header is accepted (the default).
async fn malformed_requests_are_invalid_request(env: Env) {
    let fx = Fx::start(env, &[]);
    let token = fx.token("read").await;
    let two = format!("Bearer {token} extra");
    for header in [
        "Bearer",
        "Bearer ",
        two.as_str(),
        "Bearer to\"ken",
        "Bearer a,b",
    ] {
        let r = fx
            .api
            .raw("GET", "/api/hello", &[("authorization", header)], None)
            .await;
        assert_challenge(&r, 400, "invalid_request");
    }
    let good = format!("Bearer {token}");
    let r = fx
        .api
        .raw(
            "GET",
            "/api/hello",
            &[("authorization", &good), ("authorization", &good)],
            None,
        )
        .await;
    assert_challenge(&r, 400, "invalid_request");
    let r = fx
        .api
        .raw(
            "GET",
            &format!("/api/hello?access_token={token}"),
            &[("authorization", &good)],
            None,
        )
        .await;
    assert_challenge(&r, 400, "invalid_request");
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={token}"), None)
        .await;
    assert_challenge(&r, 400, "invalid_request");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("query string"));
}

/// Another scheme is no bearer token at all: 401 with the bare challenge (`BearerX` is not
/// `Bearer`).
async fn other_schemes_are_no_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let token = fx.token("read").await;
    for header in [
        "Basic YWxpY2U6cHc=".to_string(),
        format!("BearerX {token}"),
        format!("Token {token}"),
    ] {
        let r = fx
            .api
            .raw("GET", "/api/hello", &[("authorization", &header)], None)
            .await;
        assert_eq!(r.status, 401, "{header}");
        assert_eq!(r.www(), REALM_API);
    }
}

/// Unknown, expired and revoked tokens are `401 invalid_token` with DOT's descriptions; a
/// token revoked through `revoke_token/` is refused by the very next request (local mode
/// caches nothing by default).
async fn unknown_expired_and_revoked_tokens_are_invalid(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx
        .api
        .call("GET", "/api/hello", Some("notATokenWeIssued"))
        .await;
    assert_challenge(&r, 401, "invalid_token");
    assert!(r
        .www()
        .contains(r#"error_description="The access token is invalid.""#));

    let expired = fx.expired_token().await;
    let r = fx.api.call("GET", "/api/hello", Some(&expired)).await;
    assert_challenge(&r, 401, "invalid_token");
    assert_eq!(
        r.json()["error_description"],
        "The access token has expired."
    );

    let token = fx.token("read write").await;
    for _ in 0..3 {
        assert_eq!(
            fx.api.call("GET", "/api/hello", Some(&token)).await.status,
            200
        );
    }
    fx.revoke(&token).await;
    let r = fx.api.call("GET", "/api/hello", Some(&token)).await;
    assert_challenge(&r, 401, "invalid_token");
}

/// `/api/scoped` (`RequireScopes<Read>`): a token without `read` → 403 `insufficient_scope`
/// naming `scope="read"`, no `required_scopes` in the body by default; with `read` → 200, and
/// the handler sees the token's user and application (none for client credentials).
async fn scoped_needs_read_and_sees_user_and_client(env: Env) {
    let fx = Fx::start(env, &[]);
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&write)).await;
    assert_insufficient(&r, "read");
    assert!(r.json().get("required_scopes").is_none());

    let read = fx.token("read").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["username"], "alice");
    assert_eq!(v["client_id"], fx.app.id.as_str());
    assert_eq!(v["scope"], "read");
    assert_eq!(v["origin"], "local");

    let cc = fx.cc_app();
    let t = fx.cc_token(&cc, "read").await;
    let v = fx.api.call("GET", "/api/scoped", Some(&t)).await.json();
    assert_eq!(v["username"], Value::Null);
    assert_eq!(v["client_id"], cc.id.as_str());
}

/// `error_response_with_scopes` adds `required_scopes` to 403 bodies;
/// `www_authenticate_realm` names the realm.
async fn answer_settings(env: Env) {
    let fx = Fx::start(
        env,
        &[
            ("OAUTH_TOOLKIT_ERROR_RESPONSE_WITH_SCOPES", "true"),
            ("OAUTH_TOOLKIT_WWW_AUTHENTICATE_REALM", "example"),
        ],
    );
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/scoped", Some(&write)).await;
    assert_eq!(r.status, 403);
    assert!(r
        .www()
        .starts_with(r#"Bearer realm="example", error="insufficient_scope""#));
    assert_eq!(r.json()["required_scopes"], json!(["read"]));
    let r = fx.api.call("PUT", "/api/alternatives", Some(&write)).await;
    assert_eq!(
        r.json()["required_alternate_scopes"],
        json!([["write", "music:write"], ["write", "admin"]])
    );
    let r = fx.api.call("GET", "/api/hello", None).await;
    assert_eq!(r.www(), r#"Bearer realm="example""#);
}

/// `/api/rw` (`ReadWrite`) and `/api/layer/rw` (`read_write()` layer): `read` for GET and
/// HEAD, `write` for POST/PUT/PATCH/DELETE; OPTIONS passes without a
/// token; the layer adds `Vary: Authorization`.
async fn read_write_by_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    for path in ["/api/rw", "/api/layer/rw"] {
        for m in ["GET", "HEAD"] {
            assert_eq!(
                fx.api.call(m, path, Some(&read)).await.status,
                200,
                "{m} {path}"
            );
            let r = fx.api.call(m, path, Some(&write)).await;
            assert_eq!(r.status, 403, "{m} {path}");
        }
        assert_insufficient(&fx.api.call("GET", path, Some(&write)).await, "read");
        for m in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_insufficient(&fx.api.call(m, path, Some(&read)).await, "write");
            let r = fx.api.call(m, path, Some(&write)).await;
            assert_eq!(r.status, 200, "{m} {path}");
            assert_eq!(r.json()["method"], m);
        }
        let r = fx.api.call("OPTIONS", path, None).await;
        assert_eq!(r.status, 204, "OPTIONS {path}");
        assert_eq!(fx.api.call("POST", path, None).await.status, 401);
    }
    let r = fx.api.call("GET", "/api/layer/rw", Some(&read)).await;
    assert!(r.vary_authorization());
}

/// `/api/music` (`ResourceScoped<Music>`) and `/api/layer/music`: `music:read` for safe
/// methods, `music:write` for the others; plain `read`/`write` do not count.
async fn resource_scopes_by_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let mr = fx.token("music:read").await;
    let mw = fx.token("music:write").await;
    let rw = fx.token("read write").await;
    for path in ["/api/music", "/api/layer/music"] {
        assert_eq!(fx.api.call("GET", path, Some(&mr)).await.status, 200);
        assert_insufficient(&fx.api.call("POST", path, Some(&mr)).await, "music:write");
        assert_eq!(fx.api.call("POST", path, Some(&mw)).await.status, 200);
        assert_eq!(fx.api.call("DELETE", path, Some(&mw)).await.status, 200);
        assert_insufficient(&fx.api.call("GET", path, Some(&mw)).await, "music:read");
        assert_insufficient(&fx.api.call("GET", path, Some(&rw)).await, "music:read");
        assert_insufficient(&fx.api.call("PUT", path, Some(&rw)).await, "music:write");
        assert_eq!(fx.api.call("OPTIONS", path, None).await.status, 204);
    }
}

/// `/api/alternatives` (`AlternativeScopes`) and `/api/layer/alternatives`
/// (`MethodAlternatives`), DOT's `TokenMatchesOASRequirements`: any one listed
/// set suffices; an unlisted method is refused whatever the token; no token is 401.
async fn alternative_scopes_per_method(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    let wm = fx.token("write music:write").await;
    let wa = fx.token("write admin").await;
    let admin = fx.token("admin").await;
    let all = fx.token("read write music:read music:write admin").await;
    for path in ["/api/alternatives", "/api/layer/alternatives"] {
        assert_eq!(fx.api.call("GET", path, Some(&read)).await.status, 200);
        assert_eq!(fx.api.call("POST", path, Some(&write)).await.status, 200);
        assert_insufficient(&fx.api.call("POST", path, Some(&read)).await, "write");
        assert_eq!(fx.api.call("PUT", path, Some(&wm)).await.status, 200);
        assert_eq!(fx.api.call("PUT", path, Some(&wa)).await.status, 200);
        assert_insufficient(
            &fx.api.call("PUT", path, Some(&write)).await,
            "write music:write",
        );
        assert_eq!(fx.api.call("DELETE", path, Some(&admin)).await.status, 200);
        let r = fx.api.call("PATCH", path, Some(&all)).await;
        assert_eq!(r.status, 403, "PATCH is not listed: {path}");
        assert!(r.www().contains("insufficient_scope"));
        assert_eq!(fx.api.call("GET", path, None).await.status, 401);
    }
}

/// Log in through the provider's login form; returns (cookie header, CSRF token).
async fn login(fx: &Fx) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &fx.server.base;
    let cookie_of = |h: &HeaderMap| -> Option<String> {
        h.get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("sessionid="))
            .map(|v| v.split(';').next().unwrap().to_string())
    };
    let csrf_of = |body: &str| -> String {
        let i = body.find("csrfmiddlewaretoken").expect("csrf field");
        let rest = &body[i..];
        let v = rest.find("value=\"").unwrap() + 7;
        rest[v..].split('"').next().unwrap().to_string()
    };
    let r = http
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(r.headers()).expect("anonymous session");
    let csrf = csrf_of(&r.text().await.unwrap());
    let r = http
        .post(format!("{base}/accounts/login/"))
        .header("cookie", &cookie)
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("username", "alice"),
            ("password", PW),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "login failed");
    let cookie = cookie_of(r.headers()).expect("session cookie");
    let r = http
        .get(format!("{base}/accounts/logout/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&r.text().await.unwrap());
    (cookie, csrf)
}

/// `/api/session-or-token` (`SessionOrToken<Read>`, DRF's `IsAuthenticatedOrTokenHasScope`):
/// nobody → 401; a token with `read` → 200; a token without → 403; an invalid
/// token → 401 even with a session; a logged-in session user → 200 on GET, and on POST only
/// with the session's CSRF token in `X-CSRFToken`.
async fn session_or_token(env: Env) {
    let fx = Fx::start(env, &[]);
    let path = "/api/session-or-token";
    assert_eq!(fx.api.call("GET", path, None).await.status, 401);
    let read = fx.token("read").await;
    let r = fx.api.call("GET", path, Some(&read)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    let write = fx.token("write").await;
    assert_insufficient(&fx.api.call("GET", path, Some(&write)).await, "read");
    assert_challenge(
        &fx.api.call("GET", path, Some("bogusToken")).await,
        401,
        "invalid_token",
    );

    let (cookie, csrf) = login(&fx).await;
    let r = fx.api.raw("GET", path, &[("cookie", &cookie)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["session_user_id"].is_number());
    let r = fx.api.raw("POST", path, &[("cookie", &cookie)], None).await;
    assert_eq!(
        r.status, 401,
        "a cookie alone must not authorise a POST (CSRF)"
    );
    let r = fx
        .api
        .raw(
            "POST",
            path,
            &[("cookie", &cookie), ("x-csrftoken", &csrf)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fx
        .api
        .raw(
            "GET",
            path,
            &[("cookie", &cookie), ("authorization", "Bearer bogusToken")],
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

/// `/api/whoami` behind the "who is calling" layer (DOT's `OAuth2TokenMiddleware`):
/// never refuses; a valid token names its user; no token or a bad one is anonymous; every
/// answer varies on `Authorization`.
async fn identify_middleware(env: Env) {
    let fx = Fx::start(env, &[]);
    let r = fx.api.call("GET", "/api/whoami", None).await;
    assert_eq!(
        (r.status, r.json()["anonymous"].clone()),
        (200, json!(true))
    );
    assert!(r.vary_authorization());
    let token = fx.token("read").await;
    let r = fx.api.call("GET", "/api/whoami", Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert!(r.vary_authorization());
    for bad in ["unknownToken", "a b"] {
        let r = fx.api.call("GET", "/api/whoami", Some(bad)).await;
        assert_eq!(
            (r.status, r.json()["anonymous"].clone()),
            (200, json!(true))
        );
    }
}

/// The layers: `protect()`, `require_scopes(["read"])` refuse like their extractors, pass
/// OPTIONS through, and hand the token to the handler.
async fn layers_protect_like_extractors(env: Env) {
    let fx = Fx::start(env, &[]);
    let read = fx.token("read").await;
    let write = fx.token("write").await;
    let r = fx.api.call("GET", "/api/layer/hello", None).await;
    assert_eq!((r.status, r.www()), (401, REALM_API.to_string()));
    assert_challenge(
        &fx.api.call("GET", "/api/layer/hello", Some("nope")).await,
        401,
        "invalid_token",
    );
    let r = fx.api.call("POST", "/api/layer/hello", Some(&write)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert_insufficient(
        &fx.api.call("GET", "/api/layer/scoped", Some(&write)).await,
        "read",
    );
    assert_eq!(
        fx.api
            .call("GET", "/api/layer/scoped", Some(&read))
            .await
            .status,
        200
    );
    assert_eq!(
        fx.api
            .call("OPTIONS", "/api/layer/scoped", None)
            .await
            .status,
        204
    );
}

/// Token transport: with `oauth2_protected_resource_bearer_methods_supported = header, query,
/// body`, `?access_token=` works and a form body `access_token` works on layered
/// routes; an extractor-only route cannot read bodies (documented) and sees no token; with
/// `compliant_bcp_rfc9700_access_token_transport` the query is refused again.
async fn token_transport_follows_settings(env: Env) {
    let fx = Fx::start(
        env,
        &[(
            "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
            "header,query,body",
        )],
    );
    let write = fx.token("write").await;
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={write}"), None)
        .await;
    assert_eq!(r.status, 200);
    let form = format!("access_token={write}&song=x");
    let r = fx
        .api
        .raw("POST", "/api/layer/rw", &[], Some(form.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fx.api.raw("POST", "/api/rw", &[], Some(form)).await;
    assert_eq!(r.status, 401);
    let twice = format!("access_token={write}&access_token={write}");
    let r = fx.api.raw("POST", "/api/layer/rw", &[], Some(twice)).await;
    assert_challenge(&r, 400, "invalid_request");
    drop(fx);

    let env = Env::sqlite();
    let fx = Fx::start(
        env,
        &[
            (
                "OAUTH_TOOLKIT_OAUTH2_PROTECTED_RESOURCE_BEARER_METHODS_SUPPORTED",
                "header,query",
            ),
            (
                "OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
                "true",
            ),
        ],
    );
    let read = fx.token("read").await;
    let r = fx
        .api
        .call("GET", &format!("/api/hello?access_token={read}"), None)
        .await;
    assert_challenge(&r, 400, "invalid_request");
}

/// Without `--demo-api` there is no `/api/`.
async fn demo_api_only_when_asked(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let token = fx.token("read").await;
    assert_eq!(
        fx.api.call("GET", "/api/hello", Some(&token)).await.status,
        404
    );
}

// ---------------------------------------------------------------------------------------
// The example binary: local mode, and remote mode against a running provider
// ---------------------------------------------------------------------------------------

/// `protected-api` in local mode on the provider's database: the tutorial endpoints, and a
/// revocation takes effect at once.
async fn example_local_mode(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let ex = Example::start(&[("DATABASE_URL", fx.env.url.as_str())]);
    let read = fx.token("read music:read").await;
    let write = fx.token("write music:write").await;
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);
    let r = ex.api.call("GET", "/api/hello", Some(&read)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    assert_eq!(
        ex.api.call("GET", "/api/scoped", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("GET", "/api/scoped", Some(&write)).await,
        "read",
    );
    assert_eq!(ex.api.call("GET", "/api/rw", Some(&read)).await.status, 200);
    assert_insufficient(&ex.api.call("POST", "/api/rw", Some(&read)).await, "write");
    assert_eq!(
        ex.api.call("POST", "/api/rw", Some(&write)).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/music", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("POST", "/api/music", Some(&read)).await,
        "music:write",
    );
    fx.revoke(&read).await;
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some(&read)).await,
        401,
        "invalid_token",
    );
}

/// `protected-api` in remote mode against the provider's `introspect/` (HTTP Basic with a
/// client of its own): every rule works on introspected tokens, unknown tokens are 401, and
/// a token revoked at the provider keeps working only until the cache entry
/// (`resource_server_token_caching_seconds` = 2 here) runs out.
async fn example_remote_mode_against_provider(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let rs_client = fx.cc_app();
    let url = format!("{}/o/introspect/", fx.server.base);
    let ex = Example::remote(
        &url,
        &rs_client,
        &[("OAUTH_TOOLKIT_RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "2")],
    );
    let read = fx.token("read music:read").await;
    let write = fx.token("write music:write").await;
    let r = ex.api.call("GET", "/api/hello", Some(&read)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "Hello, OAuth2!"));
    let r = ex.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["username"], "alice");
    assert_eq!(r.json()["client_id"], fx.app.id.as_str());
    assert_insufficient(
        &ex.api.call("GET", "/api/scoped", Some(&write)).await,
        "read",
    );
    assert_insufficient(&ex.api.call("PUT", "/api/rw", Some(&read)).await, "write");
    assert_eq!(
        ex.api.call("PUT", "/api/rw", Some(&write)).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/music", Some(&read)).await.status,
        200
    );
    assert_insufficient(
        &ex.api.call("GET", "/api/music", Some(&write)).await,
        "music:read",
    );
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some("unknownToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);

    fx.revoke(&read).await;
    let revoked_at = Instant::now();
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some(&read)).await.status,
        200,
        "cached positive answer"
    );
    tokio::time::sleep(StdDuration::from_millis(2200).saturating_sub(revoked_at.elapsed())).await;
    assert_challenge(
        &ex.api.call("GET", "/api/hello", Some(&read)).await,
        401,
        "invalid_token",
    );
}

/// Remote mode authenticated with `resource_server_auth_token` (a token with the
/// `introspection` scope, DOT's first choice); a token without that scope is refused by the
/// provider, which the resource server reports as 503 (its configuration is wrong, the
/// client's token may be fine).
async fn example_remote_mode_with_bearer_auth(env: Env) {
    let fx = Fx::start_with(env, &[], &[]);
    let rs_client = fx.cc_app();
    let url = format!("{}/o/introspect/", fx.server.base);
    let good = fx.cc_token(&rs_client, "introspection").await;
    let ex = Example::start(&[
        (
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            url.as_str(),
        ),
        ("OAUTH_TOOLKIT_RESOURCE_SERVER_AUTH_TOKEN", good.as_str()),
    ]);
    let read = fx.token("read").await;
    assert_eq!(
        ex.api.call("GET", "/api/scoped", Some(&read)).await.status,
        200
    );
    drop(ex);

    let weak = fx.cc_token(&rs_client, "read").await;
    let ex = Example::start(&[
        (
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_URL",
            url.as_str(),
        ),
        ("OAUTH_TOOLKIT_RESOURCE_SERVER_AUTH_TOKEN", weak.as_str()),
    ]);
    let r = ex.api.call("GET", "/api/scoped", Some(&read)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "temporarily_unavailable");
}

// ---------------------------------------------------------------------------------------
// Remote mode against fake introspection servers (no database)
// ---------------------------------------------------------------------------------------

/// A resource-server client for the fake servers.
fn fake_client() -> App {
    App {
        id: "rs-client".into(),
        secret: "rs-secret".into(),
    }
}

/// Any RFC 7662 server will do: a bare canned answer (no `token_type`, `iss`, …) is enough.
/// Positive answers are cached (one call for many requests and every rule), never past the
/// token's `exp`; negative answers for `resource_server_negative_caching_seconds` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_any_rfc7662_server_and_cache_rules() {
    // Set just before the short-lived token is first used, so a slow start of the example
    // cannot eat its lifetime.
    let short_exp = Arc::new(AtomicI64::new(0));
    let exp_of_short = short_exp.clone();
    let answer: Answer = Arc::new(move |token: &str| match token {
        "goodToken" => (
            200,
            json!({"active": true, "scope": "read music:read", "username": "carol",
                   "client_id": "their-app", "exp": now_secs() + 3600})
            .to_string(),
        ),
        "shortToken" => (
            200,
            json!({"active": true, "scope": "read", "exp": exp_of_short.load(Ordering::SeqCst)})
                .to_string(),
        ),
        _ => (200, json!({"active": false}).to_string()),
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_NEGATIVE_CACHING_SECONDS",
            "1",
        )],
    );
    let api = &ex.api;

    // Positive: one call serves every request and every rule.
    let r = api.call("GET", "/api/scoped", Some("goodToken")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["username"], "carol");
    assert_eq!(r.json()["client_id"], "their-app");
    for _ in 0..5 {
        assert_eq!(
            api.call("GET", "/api/hello", Some("goodToken"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        api.call("GET", "/api/music", Some("goodToken"))
            .await
            .status,
        200
    );
    assert_insufficient(
        &api.call("POST", "/api/rw", Some("goodToken")).await,
        "write",
    );
    assert_eq!(fake.calls(), 1);
    let basic = fake.auth.lock().unwrap()[0].clone();
    assert_eq!(
        basic, "Basic cnMtY2xpZW50OnJzLXNlY3JldA==",
        "rs-client:rs-secret"
    );

    // Negative: remembered briefly.
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(fake.calls(), 2);

    // Short-lived: cached no longer than its exp.
    short_exp.store(now_secs() + 2, Ordering::SeqCst);
    assert_eq!(
        api.call("GET", "/api/hello", Some("shortToken"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", "/api/hello", Some("shortToken"))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 3);

    let wait = (short_exp.load(Ordering::SeqCst) - now_secs()).max(0) as u64 * 1000 + 300;
    tokio::time::sleep(StdDuration::from_millis(wait.max(1200))).await;
    assert_challenge(
        &api.call("GET", "/api/hello", Some("badToken")).await,
        401,
        "invalid_token",
    );
    assert_eq!(fake.calls(), 4, "the negative answer expired after 1 s");
    let r = api.call("GET", "/api/hello", Some("shortToken")).await;
    assert_challenge(&r, 401, "invalid_token");
    assert_eq!(
        r.json()["error_description"],
        "The access token has expired."
    );
    assert_eq!(
        fake.calls(),
        5,
        "the positive answer expired with the token"
    );
    assert_eq!(
        api.call("GET", "/api/hello", Some("goodToken"))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 5);
}

/// `resource_server_token_caching_seconds` bounds the cache of a long-lived token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_cache_bounded_by_caching_seconds() {
    let answer: Answer = Arc::new(|_: &str| {
        (
            200,
            json!({"active": true, "scope": "read", "exp": now_secs() + 36000}).to_string(),
        )
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[("OAUTH_TOOLKIT_RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "1")],
    );
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(fake.calls(), 1);
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert_eq!(
        ex.api.call("GET", "/api/hello", Some("tok")).await.status,
        200
    );
    assert_eq!(fake.calls(), 2);
}

/// The provider is down (nothing listens): 503 `temporarily_unavailable` with
/// `Retry-After`, at once, and not cached; a request without a token is still 401 without
/// any call. An introspection endpoint answering 500 or nonsense is the same 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_provider_down_is_503_at_once() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/o/introspect/", l.local_addr().unwrap())
    };
    let ex = Example::remote(&dead, &fake_client(), &[]);
    for _ in 0..2 {
        let started = Instant::now();
        let r = ex.api.call("GET", "/api/hello", Some("someToken")).await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["error"], "temporarily_unavailable");
        assert!(r.headers.get(RETRY_AFTER).is_some());
        assert!(r.www().is_empty());
        assert!(
            started.elapsed() < StdDuration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(ex.api.call("GET", "/api/hello", None).await.status, 401);
    drop(ex);

    let answer: Answer = Arc::new(|token: &str| match token {
        "boom" => (500, "{}".into()),
        "text" => (200, "not json".into()),
        _ => (200, json!({"active": "maybe"}).to_string()),
    });
    let fake = Fake::start(StdDuration::ZERO, answer).await;
    let ex = Example::remote(&fake.url, &fake_client(), &[]);
    for token in ["boom", "text", "odd", "boom"] {
        let r = ex.api.call("GET", "/api/hello", Some(token)).await;
        assert_eq!(r.status, 503, "{token}");
    }
    assert_eq!(fake.calls(), 4, "failures are never cached");
}

/// A provider slower than `resource_server_introspection_timeout_seconds` (1 s here): 503
/// after about the timeout, for every concurrent request; nothing hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_provider_slow_is_503_after_the_timeout() {
    let answer: Answer =
        Arc::new(|_: &str| (200, json!({"active": true, "scope": "read"}).to_string()));
    let fake = Fake::start(StdDuration::from_secs(4), answer).await;
    let ex = Example::remote(
        &fake.url,
        &fake_client(),
        &[(
            "OAUTH_TOOLKIT_RESOURCE_SERVER_INTROSPECTION_TIMEOUT_SECONDS",
            "1",
        )],
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = ex.api.clone();
        tasks.push(tokio::spawn(async move {
            let t = format!("slowToken{i}");
            api.call("GET", "/api/hello", Some(&t)).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 503);
    }
    let took = started.elapsed();
    assert!(
        took >= StdDuration::from_millis(900) && took < StdDuration::from_millis(3000),
        "{took:?}"
    );
}

backends!(
    hello_needs_any_valid_token,
    malformed_requests_are_invalid_request,
    other_schemes_are_no_token,
    unknown_expired_and_revoked_tokens_are_invalid,
    scoped_needs_read_and_sees_user_and_client,
    answer_settings,
    read_write_by_method,
    resource_scopes_by_method,
    alternative_scopes_per_method,
    session_or_token,
    identify_middleware,
    layers_protect_like_extractors,
    token_transport_follows_settings,
    demo_api_only_when_asked,
    example_local_mode,
    example_remote_mode_against_provider,
    example_remote_mode_with_bearer_auth,
);
