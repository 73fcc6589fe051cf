//! Black-box tests of the `oauth-toolkit` binary: every subcommand, on SQLite and on a real
//! PostgreSQL, through the process's exit code, stdout and stderr, and the database after.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

use oauth_toolkit_core::models::{stored_token, NewAccessToken};
use time::OffsetDateTime;

backends!(
    migrate_is_idempotent,
    createuser_and_its_errors,
    createuser_password_from_stdin,
    createapplication_json_and_text,
    createapplication_options_are_stored,
    createapplication_bad_input_writes_nothing,
    cleartokens_deletes_and_warns,
    settings_errors_name_the_key,
    serve_health_home_and_clean_shutdown,
    deletesigningkey_takes_a_kid_beginning_with_a_hyphen,
);

async fn migrate_is_idempotent(env: Env) {
    for _ in 0..2 {
        let o = env.run(&["migrate"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("up to date"), "{}", stdout(&o));
    }
}

async fn createuser_and_its_errors(env: Env) {
    let o = env.run(&[
        "createuser",
        "alice",
        "--email",
        "alice@example.org",
        "--password",
        "pw1",
        "--superuser",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["username"], "alice");
    let db = env.db().await;
    let alice = db
        .store()
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(alice.is_superuser && alice.is_staff);
    assert_eq!(alice.email, "alice@example.org");
    assert!(oauth_toolkit_core::password::verify_password("pw1", &alice.password).is_valid());

    let dup = env.run(&["createuser", "alice", "--password", "x"]);
    assert!(!dup.status.success());
    assert!(
        error_line(&dup).contains("already exists"),
        "{}",
        stderr(&dup)
    );
    let bad = env.run(&["createuser", "has space", "--password", "x"]);
    assert!(!bad.status.success());
    assert!(error_line(&bad).contains("username"), "{}", stderr(&bad));
    let empty = env.run(&["createuser", "bob", "--password", ""]);
    assert!(!empty.status.success());
    assert!(db
        .store()
        .find_user_by_username("bob")
        .await
        .unwrap()
        .is_none());
    // No password and no terminal: created with an unusable password.
    let nopw = env.run(&["createuser", "carol"]);
    assert!(nopw.status.success(), "{}", stderr(&nopw));
    let carol = db
        .store()
        .find_user_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(!oauth_toolkit_core::password::is_usable(&carol.password));
    db.close().await;
}

async fn createuser_password_from_stdin(env: Env) {
    let mut child = env
        .cmd()
        .args(["createuser", "dave", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let db = env.db().await;
    let dave = db
        .store()
        .find_user_by_username("dave")
        .await
        .unwrap()
        .unwrap();
    assert!(oauth_toolkit_core::password::verify_password("from stdin", &dave.password).is_valid());
    db.close().await;
}

async fn createapplication_json_and_text(env: Env) {
    let o = env.run(&[
        "createapplication",
        "confidential",
        "client-credentials",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "stdout holds only the JSON: {out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let client_id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    assert_eq!(client_id.len(), 40);
    assert_eq!(secret.len(), 128);
    assert_eq!(v.as_object().unwrap().len(), 2);

    let db = env.db().await;
    let app = db
        .store()
        .find_application_by_client_id(client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(app.hash_client_secret);
    assert_ne!(app.client_secret, secret, "stored hashed");
    assert!(app.check_secret(secret));

    let o = env.run(&[
        "createapplication",
        "public",
        "authorization-code",
        "--redirect-uris",
        "https://example.org/cb",
        "--name",
        "TEST",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("New application TEST created successfully."),
        "{text}"
    );
    let id_line = text.lines().find(|l| l.starts_with("client_id: ")).unwrap();
    let secret_line = text
        .lines()
        .find(|l| l.starts_with("client_secret: "))
        .unwrap();
    let app = db
        .store()
        .find_application_by_client_id(id_line.trim_start_matches("client_id: "))
        .await
        .unwrap()
        .unwrap();
    assert!(app.check_secret(secret_line.trim_start_matches("client_secret: ")));
    db.close().await;
}

async fn createapplication_options_are_stored(env: Env) {
    assert!(env
        .run(&["createuser", "owner", "--password", "pw"])
        .status
        .success());
    // DOT's own test, with --user by username.
    let o = env.run(&[
        "createapplication",
        "confidential",
        "authorization-code",
        "--redirect-uris",
        "http://example.com http://example2.com",
        "--client-secret",
        "SECRET",
        "--name",
        "TEST",
        "--skip-authorization",
        "--algorithm",
        "RS256",
        "--user",
        "owner",
        "--client-id",
        "someId",
        "--post-logout-redirect-uris",
        "http://example.com/bye",
        "--allowed-origins",
        "https://example.com",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("created successfully"));
    assert!(
        !stdout(&o).contains("client_secret: SECRET"),
        "a given secret is not echoed"
    );
    let db = env.db().await;
    let store = db.store();
    let owner = store.find_user_by_username("owner").await.unwrap().unwrap();
    let app = store
        .find_application_by_client_id("someId")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.name, "TEST");
    assert_eq!(app.user_id, Some(owner.id));
    assert!(app.skip_authorization);
    assert_eq!(app.algorithm.as_str(), "RS256");
    assert_eq!(app.redirect_uris, "http://example.com http://example2.com");
    assert_eq!(app.post_logout_redirect_uris, "http://example.com/bye");
    assert_eq!(app.allowed_origins, "https://example.com");
    assert!(app.check_secret("SECRET") && app.client_secret != "SECRET");

    // --user also takes a numeric id, as DOT's does; --no-hash-client-secret keeps plaintext.
    let id = owner.id.to_string();
    let o = env.run(&[
        "createapplication",
        "confidential",
        "authorization-code",
        "--redirect-uris",
        "https://rp.example/cb",
        "--user",
        &id,
        "--client-id",
        "plain",
        "--client-secret",
        "plain-secret",
        "--no-hash-client-secret",
        "--algorithm",
        "HS256",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let app = store
        .find_application_by_client_id("plain")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.client_secret, "plain-secret");
    assert!(!app.hash_client_secret);
    assert_eq!(app.user_id, Some(owner.id));
    db.close().await;
}

async fn createapplication_bad_input_writes_nothing(env: Env) {
    assert!(env
        .run(&[
            "createapplication",
            "public",
            "password",
            "--client-id",
            "taken"
        ])
        .status
        .success());
    let cases: &[(&[&str], &str)] = &[
        (
            &["createapplication", "confidential", "bogus-grant"],
            "authorization_grant_type",
        ),
        (&["createapplication", "secret", "password"], "client_type"),
        (
            &["createapplication", "public", "authorization-code"],
            "redirect_uris",
        ),
        (
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                "ftp://example.org/cb",
            ],
            "redirect_uris",
        ),
        (
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                "https://example.org/cb#frag",
            ],
            "redirect_uris",
        ),
        (
            &["createapplication", "public", "password", "--user", "783"],
            "783",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--client-id",
                "taken",
            ],
            "client_id",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--client-id",
                "with:colon",
            ],
            "client_id",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--algorithm",
                "none",
            ],
            "algorithm",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--allowed-origins",
                "http://insecure.example",
            ],
            "allowed_origins",
        ),
        (
            &[
                "createapplication",
                "public",
                "password",
                "--algorithm",
                "HS256",
            ],
            "algorithm",
        ),
        (
            &[
                "createapplication",
                "confidential",
                "password",
                "--algorithm",
                "HS256",
            ],
            "hash_client_secret",
        ),
        (&["createapplication", "public"], "AUTHORIZATION_GRANT_TYPE"),
    ];
    for (args, mentions) in cases {
        let o = env.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.contains(mentions), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&o).is_empty(), "nothing on stdout for {args:?}");
    }
    // Only the first application exists.
    let db = env.db().await;
    let store = db.store();
    assert!(store
        .find_application_by_client_id("taken")
        .await
        .unwrap()
        .is_some());
    assert!(store
        .find_application_by_client_id("with:colon")
        .await
        .unwrap()
        .is_none());
    let count = count_rows(&db, "oauth2_provider_application").await;
    assert_eq!(count, 1);
    db.close().await;
}

async fn cleartokens_deletes_and_warns(env: Env) {
    let o = env.run(&[
        "createapplication",
        "confidential",
        "client-credentials",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let db = env.db().await;
    let store = db.store();
    let app = store
        .find_application_by_client_id(v["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for (i, offset) in [-3600i64, -1, 3600].iter().enumerate() {
        let (column, checksum) = stored_token(&format!("tok-{i}"), true);
        let at = store
            .create_access_token(
                NewAccessToken {
                    user_id: None,
                    source_refresh_token_id: None,
                    token: column,
                    token_checksum: checksum,
                    id_token_id: None,
                    application_id: Some(app.id),
                    expires: now + time::Duration::seconds(*offset),
                    scope: "read".into(),
                    token_family: None,
                },
                now,
            )
            .await
            .unwrap();
        ids.push(at.id);
    }
    let o = env.run(&["cleartokens"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("REFRESH_TOKEN_EXPIRE_SECONDS is not set"),
        "{}",
        stderr(&o)
    );
    assert!(store.get_access_token(ids[0]).await.unwrap().is_none());
    assert!(store.get_access_token(ids[1]).await.unwrap().is_none());
    assert!(store.get_access_token(ids[2]).await.unwrap().is_some());

    let o = env
        .cmd()
        .args(["cleartokens"])
        .env("OAUTH_TOOLKIT_REFRESH_TOKEN_EXPIRE_SECONDS", "3600")
        .env("OAUTH_TOOLKIT_CLEAR_EXPIRED_TOKENS_BATCH_SIZE", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("REFRESH_TOKEN_EXPIRE_SECONDS is not set"));
    db.close().await;
}

/// RFC 7638 thumbprints are base64url: about one kid in 64 begins with `-`. Found by a
/// rotation test that failed only when the random key's kid did.
async fn deletesigningkey_takes_a_kid_beginning_with_a_hyphen(env: Env) {
    let o = env.run(&["migrate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["deletesigningkey", "-mNoSuchKid"]);
    assert!(!o.status.success());
    let err = error_line(&o);
    assert!(
        err.contains("no signing key with kid `-mNoSuchKid`"),
        "the kid is taken as the value, not an option: {err}"
    );
}

async fn settings_errors_name_the_key(env: Env) {
    std::fs::write(
        env.path("bad.toml"),
        "access_token_expire_seconds = \"soon\"\n",
    )
    .unwrap();
    let o = env.run(&["--config", "bad.toml", "migrate"]);
    assert!(!o.status.success());
    let line = error_line(&o);
    assert!(
        line.contains("access_token_expire_seconds") && line.contains("bad.toml"),
        "{line}"
    );

    let o = env
        .cmd()
        .args(["migrate"])
        .env("OAUTH_TOOLKIT_CONFIG", "missing.toml")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(error_line(&o).contains("missing.toml"), "{}", stderr(&o));

    let o = env
        .cmd()
        .args(["migrate"])
        .env("OAUTH_TOOLKIT_PKCE_REQUIRED", "perhaps")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        error_line(&o).contains("OAUTH_TOOLKIT_PKCE_REQUIRED"),
        "{}",
        stderr(&o)
    );

    let o = env
        .cmd()
        .args(["migrate"])
        .env("OAUTH_TOOLKIT_NO_SUCH_THING", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(error_line(&o).contains("no_such_thing"), "{}", stderr(&o));

    // The default file in the working directory is read when present.
    std::fs::write(
        env.path("oauth-toolkit.toml"),
        "bind = \"not an address\"\n",
    )
    .unwrap();
    let o = env.run(&["migrate"]);
    assert!(!o.status.success());
    assert!(error_line(&o).contains("bind"), "{}", stderr(&o));
    std::fs::remove_file(env.path("oauth-toolkit.toml")).unwrap();

    let o = env
        .cmd()
        .args(["migrate"])
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        error_line(&o).contains("unsupported database URL"),
        "{}",
        stderr(&o)
    );
}

async fn serve_health_home_and_clean_shutdown(env: Env) {
    let server = Server::start(&env, &[]);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("/accounts/login/") || html.contains("&#x2f;accounts&#x2f;login&#x2f;"),
        "{html}"
    );
    let r = client
        .get(format!("{}/no/such/page", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let log = server.log.clone();
    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; log: {}",
        log.lock().unwrap()
    );
    assert!(log.lock().unwrap().contains("SIGTERM received"));
}

/// `/health` reports 503 while the database is down, and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_postgres_is_down() {
    let pg = oauth_toolkit_testing::PgServer::start().unwrap();
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        url: pg.fresh_database_url().unwrap(),
        _sqlite_dir: None,
    };
    let server = Server::start(&env, &[]);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(pg); // stops the PostgreSQL server
    let r = client
        .get(format!("{}/health", server.base))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "unavailable"
    );
    let _ = server.terminate();
}

/// The README's first command works as written: `serve` on the default embedded SQLite in
/// the working directory, creating the database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_defaults_to_sqlite_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauth-toolkit"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OAUTH_TOOLKIT_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 256];
    while !seen.contains("listening on") && Instant::now() < deadline {
        let n = err.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("listening on http://127.0.0.1:"), "{seen}");
    assert!(seen.contains("database: sqlite"), "{seen}");
    assert!(Path::new(&dir.path().join("oauth-toolkit.sqlite3")).exists());
}
