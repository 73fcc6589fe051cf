//! What `serve` writes to its log: a warning per insecure RFC 9700 switch at start, no secret
//! even at `RUST_LOG=trace`, no raw control characters from clients, and no colours when
//! stderr is not a terminal. Black-box: the real binary, on SQLite and PostgreSQL.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use common::http_browser::Browser;
use common::*;
use serde_json::Value;

const SECRET_KEY: &str = "the-session-secret-key-Xq7Zp9Lm2Rt5Vw8Ky3";
const PASSWORD: &str = "Pa55-wonderland-Qz81";

const INSECURE_BY_DEFAULT: [&str; 4] = [
    "compliant_bcp_rfc9700_implicit_grant",
    "compliant_bcp_rfc9700_password_grant",
    "compliant_bcp_rfc9700_pkce_method",
    "compliant_bcp_rfc9700_access_token_transport",
];
const ALL_SWITCHES: [&str; 6] = [
    "compliant_bcp_rfc9700_implicit_grant",
    "compliant_bcp_rfc9700_password_grant",
    "compliant_bcp_rfc9700_pkce_method",
    "compliant_bcp_rfc9700_access_token_transport",
    "compliant_bcp_rfc9700_authz_response_iss",
    "compliant_bcp_rfc9700_token_storage",
];

fn log_of(server: &Server) -> String {
    server.log.lock().unwrap().clone()
}

fn warn_lines<'a>(log: &'a str, key: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains("WARN") && l.contains(key))
        .collect()
}

/// Defaults: one warning line per switch DOT leaves insecure, naming the setting; iss and
/// token storage are compliant by default and not warned about. All compliant: none.
/// DOT's iss/storage positions are warned about too.
async fn insecure_switches_are_warned_about_at_start(env: Env) {
    let server = Server::start(&env, &[]);
    let log = log_of(&server);
    for key in INSECURE_BY_DEFAULT {
        assert_eq!(warn_lines(&log, key).len(), 1, "{key}: {log}");
    }
    for key in &ALL_SWITCHES[4..] {
        assert!(warn_lines(&log, key).is_empty(), "{key}: {log}");
    }
    server.terminate();

    let compliant: Vec<(String, &str)> = ALL_SWITCHES
        .iter()
        .map(|k| (format!("OAUTH_TOOLKIT_{}", k.to_uppercase()), "true"))
        .collect();
    let vars: Vec<(&str, &str)> = compliant.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let server = Server::start(&env, &vars);
    let log = log_of(&server);
    assert!(
        !log.contains("compliant_bcp_rfc9700"),
        "no warning when compliant: {log}"
    );
    server.terminate();

    let dot: Vec<(String, &str)> = ALL_SWITCHES
        .iter()
        .map(|k| (format!("OAUTH_TOOLKIT_{}", k.to_uppercase()), "false"))
        .collect();
    let vars: Vec<(&str, &str)> = dot.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let server = Server::start(&env, &vars);
    let log = log_of(&server);
    for key in ALL_SWITCHES {
        assert_eq!(warn_lines(&log, key).len(), 1, "{key}: {log}");
    }
    server.terminate();
}

async fn form(server: &Server, path: &str, auth: Option<&str>, f: &[(&str, &str)]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .form(f);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// At `RUST_LOG=trace`, a password grant, a refresh, an introspection, a userinfo call with
/// the token in the query, a revocation, failed client authentications and a failed login
/// leave no password, client secret, token value or secret key in the log.
async fn no_secret_in_a_trace_log(env: Env) {
    env.create_user("alice", PASSWORD);
    let (id, secret) = env.create_app("confidential", "password", &[]);
    let server = Server::start(
        &env,
        &[
            ("RUST_LOG", "trace"),
            ("OAUTH_TOOLKIT_SECRET_KEY", SECRET_KEY),
            ("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "60"),
        ],
    );
    let auth = basic(&id, &secret);
    let (s, b) = form(
        &server,
        "/o/token/",
        Some(&auth),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("scope", "read openid"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let at1 = b["access_token"].as_str().unwrap().to_string();
    let rt1 = b["refresh_token"].as_str().unwrap().to_string();
    let id1 = b["id_token"].as_str().unwrap_or_default().to_string();
    let (s, b) = form(
        &server,
        "/o/token/",
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let at2 = b["access_token"].as_str().unwrap().to_string();
    let rt2 = b["refresh_token"].as_str().unwrap().to_string();
    // Grace replay (derived successors).
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = form(&server, "/o/introspect/", Some(&auth), &[("token", &at2)]).await;
    assert_eq!((s, &b["active"]), (200, &Value::Bool(true)), "{b}");
    let r = reqwest::get(format!("{}/o/userinfo/?access_token={at2}", server.base))
        .await
        .unwrap();
    assert!(r.status().as_u16() < 500);
    // Failures: a wrong client secret (Basic and body), a wrong password, a bad login.
    let wrong_secret = format!("{secret}-WRONG");
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&basic(&id, &wrong_secret)),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 401);
    let wrong_password = "Wr0ng-Passw0rd-Kx93";
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&auth),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", wrong_password),
        ],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = form(
        &server,
        "/o/introspect/",
        Some(&basic(&id, &wrong_secret)),
        &[("token", &at2)],
    )
    .await;
    assert_eq!(s, 401);
    let browser = Browser::new(&server.base);
    let p = browser.login_next("alice", wrong_password, "/").await;
    assert_eq!(p.status, 200, "failed login shows the form again");
    let (s, _) = form(&server, "/o/revoke_token/", Some(&auth), &[("token", &rt2)]).await;
    assert_eq!(s, 200);
    // Let the last lines reach the log.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate_keep_log();

    let log = log_of(&server);
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    let basic_b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let mut secrets = vec![
        ("password", PASSWORD.to_string()),
        ("wrong password", wrong_password.to_string()),
        ("client secret", secret.clone()),
        ("Basic credentials", basic_b64),
        ("secret_key", SECRET_KEY.to_string()),
        ("access token", at1),
        ("refresh token", rt1),
        ("rotated access token", at2),
        ("rotated refresh token", rt2),
    ];
    if !id1.is_empty() {
        secrets.push(("id token", id1));
    }
    for (what, value) in secrets {
        assert!(!log.contains(&value), "{what} in the log:\n{log}");
    }
}

/// A client_id (and username) with CR/LF, ESC and BEL never reaches a log line raw: no
/// forged line, no terminal escape.
async fn client_strings_are_escaped_in_logs(env: Env) {
    env.create_user("alice", PASSWORD);
    let (id, secret) = env.create_app("confidential", "password", &[]);
    let server = Server::start(&env, &[("RUST_LOG", "trace")]);
    let evil = "evil\r\nINFO FORGED log line\u{1b}[31m\u{7}";
    // In the body (client_secret_post), in HTTP Basic, to introspection and to authorize.
    let (s, _) = form(
        &server,
        "/o/token/",
        None,
        &[
            ("grant_type", "password"),
            ("client_id", evil),
            ("client_secret", "x"),
            ("username", evil),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&basic(evil, "x")),
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = form(
        &server,
        "/o/introspect/",
        Some(&basic(evil, "x")),
        &[("token", evil)],
    )
    .await;
    assert_eq!(s, 401);
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&basic(&id, &secret)),
        &[
            ("grant_type", "password"),
            ("username", evil),
            ("password", "x"),
            ("scope", evil),
        ],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = form(
        &server,
        "/o/token/",
        Some(&basic(&id, &secret)),
        &[("grant_type", evil)],
    )
    .await;
    assert_eq!(s, 400);
    let browser = Browser::new(&server.base);
    let q = common::http_browser::encode(&[("client_id", evil), ("response_type", "code")]);
    browser.get(&format!("/o/authorize/?{q}")).await;
    let q = common::http_browser::encode(&[
        ("client_id", &id),
        ("response_type", evil),
        ("redirect_uri", evil),
    ]);
    browser.get(&format!("/o/authorize/?{q}")).await;
    browser.login_next(evil, "x", "/").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate_keep_log();

    let log = log_of(&server);
    assert!(log.contains("evil"), "the attempts are logged: {log}");
    for line in log.lines() {
        assert!(!line.starts_with("INFO FORGED"), "forged line: {log}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "raw control character in {line:?}"
        );
    }
}

/// With stderr piped and no NO_COLOR, the log has no ANSI escape sequences.
async fn no_colours_when_not_a_terminal(env: Env) {
    let log_path = env.path("serve.log");
    let file = std::fs::File::create(&log_path).unwrap();
    let mut child = env
        .cmd()
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "debug")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("listening on") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(log.contains("listening on"), "{log}");
    let base = log
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let _ = reqwest::get(format!("{base}/health")).await;
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read(&log_path).unwrap();
    assert!(
        String::from_utf8_lossy(&log).contains("WARN"),
        "the log has lines"
    );
    assert!(
        !log.contains(&0x1b),
        "ESC in a piped log: {}",
        String::from_utf8_lossy(&log)
    );
    // A command's log (stderr of a short-lived process) too.
    let o = env
        .cmd()
        .env_remove("NO_COLOR")
        .arg("cleartokens")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("cleartokens"), "{}", stderr(&o));
    assert!(!o.stderr.contains(&0x1b), "{}", stderr(&o));
}

trait KeepLog {
    fn terminate_keep_log(&self);
}

impl KeepLog for Server {
    /// SIGTERM and wait for the process to exit, so its last lines are in `log`.
    fn terminate_keep_log(&self) {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if log_of(self).contains("stopped") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not stop: {}", log_of(self));
    }
}

backends!(
    insecure_switches_are_warned_about_at_start,
    no_secret_in_a_trace_log,
    client_strings_are_escaped_in_logs,
    no_colours_when_not_a_terminal,
    json_logs_are_one_object_per_line,
);

/// `log_format = "json"`: every line is one JSON object with a timestamp, a level and a
/// message, the listening line and a request's warning among them; no colour codes.
async fn json_logs_are_one_object_per_line(env: Env) {
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_LOG_FORMAT", "json")]);
    // A refused client authentication logs a line of its own.
    let r = common::http_browser::client()
        .post(format!("{}/o/token/", server.base))
        .basic_auth("no-such-client", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    server.terminate_keep_log();
    let log = log_of(&server);
    assert!(!log.contains('\u{1b}'), "no escape sequences: {log}");
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(
        messages.iter().any(|m| m.contains("listening")),
        "{messages:?}"
    );
    assert!(messages.len() >= 3, "{messages:?}");
}
