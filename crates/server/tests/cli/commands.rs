//! `migrate`, `createuser`, `cleartokens`, `deletesigningkey`, and settings errors.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

use oauth_toolkit_core::models::{stored_token, NewAccessToken};
use time::OffsetDateTime;

backends!(
    migrate_is_idempotent,
    createuser_and_its_errors,
    createuser_password_from_stdin,
    cleartokens_deletes_and_warns,
    settings_errors_name_the_key,
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
                    resource: String::new(),
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
