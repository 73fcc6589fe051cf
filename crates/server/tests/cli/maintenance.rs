//! The maintenance commands: `cleanupapplications` (only inactive applications deleted, each
//! reason to keep one) and `migratescopes` (whole scope tokens renamed, in the rows that
//! carry a scope).

use oauth_toolkit_core::models::*;
use oauth_toolkit_core::settings::Settings;
use oauth_toolkit_core::store::Store;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::common::*;

backends!(
    cleanupapplications_deletes_only_inactive_applications,
    cleanupapplications_rejects_bad_days,
    migratescopes_renames_whole_scope_tokens,
    migratescopes_refuses_bad_scopes,
);

const SCOPES: (&str, &str) = (
    "OAUTH_TOOLKIT_SCOPES",
    r#"{ read = "Read", readonly = "Read only", write = "Write", view = "View" }"#,
);

fn run_scoped(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd()
        .env(SCOPES.0, SCOPES.1)
        .args(args)
        .output()
        .unwrap()
}

fn json_of(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("{e}: not JSON: {}", stdout(o)))
}

/// `COMMAND --help` names each of `flags`.
fn assert_help_lists(env: &Env, command: &str, flags: &[&str]) {
    let o = env.run(&[command, "--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for flag in flags {
        assert!(stdout(&o).contains(flag), "{command} --help lists {flag}");
    }
}

/// The test's database, its schema applied.
async fn migrated(env: &Env) -> oauth_toolkit_store::Database {
    let db = env.db().await;
    db.migrate().await.unwrap();
    db
}

/// An application registered at `created`.
async fn app(store: &dyn Store, client_id: &str, created: OffsetDateTime) -> Application {
    let mut new = NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        &Settings::default(),
    );
    new.client_id = client_id.into();
    new.name = format!("{client_id} app");
    new.redirect_uris = "https://example.org/cb".into();
    store.create_application(new, created).await.unwrap()
}

async fn user(store: &dyn Store) -> User {
    store
        .create_user(
            NewUser::new("alice", "!unusable"),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
}

/// An access token of `a` with `scope`, created at `created`, expiring at `expires`.
async fn token(
    store: &dyn Store,
    a: &Application,
    scope: &str,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> AccessToken {
    let (column, checksum) = stored_token(&oauth_toolkit_core::generators::generate_token(), true);
    let new = NewAccessToken {
        resource: String::new(),
        user_id: None,
        source_refresh_token_id: None,
        token: column,
        token_checksum: checksum,
        id_token_id: None,
        application_id: Some(a.id),
        expires,
        scope: scope.into(),
        token_family: None,
    };
    store.create_access_token(new, created).await.unwrap()
}

async fn refresh(store: &dyn Store, a: &Application, u: &User, created: OffsetDateTime) -> Id {
    let (column, checksum) = stored_token(&oauth_toolkit_core::generators::generate_token(), true);
    let new = NewRefreshToken {
        resource: String::new(),
        user_id: u.id,
        token: column,
        token_checksum: checksum,
        application_id: a.id,
        access_token_id: None,
        token_family: None,
    };
    store.create_refresh_token(new, created).await.unwrap().id
}

async fn grant(store: &dyn Store, a: &Application, u: &User, scope: &str) -> Grant {
    let g = NewGrant {
        resource: String::new(),
        user_id: u.id,
        code: oauth_toolkit_core::generators::generate_token(),
        application_id: a.id,
        expires: OffsetDateTime::now_utc() + Duration::minutes(5),
        redirect_uri: "https://example.org/cb".into(),
        scope: scope.into(),
        code_challenge: String::new(),
        code_challenge_method: None,
        nonce: String::new(),
        claims: "{}".into(),
        token_family: uuid::Uuid::new_v4(),
        auth_time: None,
        sid: String::new(),
    };
    store
        .create_grant(g, OffsetDateTime::now_utc())
        .await
        .unwrap()
}

async fn cleanupapplications_deletes_only_inactive_applications(env: Env) {
    assert_help_lists(
        &env,
        "cleanupapplications",
        &["--inactive-days", "--dry-run", "--json"],
    );
    let db = migrated(&env).await;
    let store = &*db.store();
    let u = user(store).await;
    let now = OffsetDateTime::now_utc();
    let (long_ago, day) = (now - Duration::days(200), Duration::days(1));
    // A live access token, however old.
    let live = app(store, "live", long_ago).await;
    token(store, &live, "read", now - day * 100, now + day).await;
    // A live (not revoked) refresh token.
    let refreshing = app(store, "refreshing", long_ago).await;
    refresh(store, &refreshing, &u, now - day * 100).await;
    // An expired token created 10 days ago.
    let recent = app(store, "recent", long_ago).await;
    token(store, &recent, "read", now - day * 10, now - day * 9).await;
    // Only old, dead rows.
    let idle = app(store, "idle", long_ago).await;
    token(store, &idle, "read", now - day * 100, now - day * 99).await;
    let revoked = refresh(store, &idle, &u, now - day * 100).await;
    assert!(store
        .revoke_refresh_token(revoked, now - day * 99)
        .await
        .unwrap());
    let used = grant(store, &idle, &u, "read").await;
    store.consume_grant(&used.code_checksum, now).await.unwrap();
    // Registered just now, never used.
    let (fresh, _) = env.create_app("public", "client-credentials", &["--name", "Fresh"]);
    let rows = || async {
        (
            count_rows(&db, "oauth2_provider_application").await,
            count_rows(&db, "oauth2_provider_accesstoken").await,
            count_rows(&db, "oauth2_provider_refreshtoken").await,
            count_rows(&db, "oauth2_provider_grant").await,
        )
    };
    assert_eq!(rows().await, (5, 3, 2, 1));

    let kept = json!([
        {"client_id": "live", "name": "live app", "reason": "live tokens"},
        {"client_id": "refreshing", "name": "refreshing app", "reason": "live tokens"},
        {"client_id": "recent", "name": "recent app", "reason": "recent tokens"},
        {"client_id": fresh, "name": "Fresh", "reason": "recently created"},
    ]);
    let v = json_of(&env.run(&["cleanupapplications", "--dry-run", "--json"]));
    assert_eq!(
        v,
        json!({
            "inactive_days": 90, "dry_run": true,
            "deleted": [{"client_id": "idle", "name": "idle app"}],
            "kept": kept,
        })
    );
    let o = env.run(&["cleanupapplications", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Dry run: would delete 1 of 5"), "{text}");
    assert!(text.contains("would delete: idle (idle app)"), "{text}");
    assert!(
        text.contains("kept: recent (recent app) [recent tokens]"),
        "{text}"
    );
    assert_eq!(rows().await, (5, 3, 2, 1), "a dry run deletes nothing");

    let o = env.run(&["cleanupapplications"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Deleted 1 of 5 applications"), "{text}");
    assert!(text.contains("deleted: idle (idle app)"), "{text}");
    assert!(
        text.contains("kept: live (live app) [live tokens]"),
        "{text}"
    );
    assert_eq!(rows().await, (4, 2, 1, 0), "idle and its rows are gone");
    assert!(store.get_application(idle.id).await.unwrap().is_none());

    let v = json_of(&env.run(&["cleanupapplications", "--inactive-days", "5", "--json"]));
    assert_eq!(v["inactive_days"], 5);
    assert_eq!(v["dry_run"], false);
    assert_eq!(
        v["deleted"],
        json!([{"client_id": "recent", "name": "recent app"}])
    );
    assert_eq!(v["kept"].as_array().unwrap().len(), 3);
    assert!(store.get_application(recent.id).await.unwrap().is_none());
    assert!(store.get_application(live.id).await.unwrap().is_some());
    assert_eq!(rows().await, (3, 1, 1, 0));
    db.close().await;
}

async fn cleanupapplications_rejects_bad_days(env: Env) {
    let (client, _) = env.create_app("public", "client-credentials", &[]);
    for days in ["0", "-3"] {
        let o = env.run(&["cleanupapplications", "--inactive-days", days]);
        assert_eq!(o.status.code(), Some(1), "{days}: {}", stderr(&o));
        let line = error_line(&o);
        assert!(
            line.contains("--inactive-days: must be 1 or more"),
            "{line}"
        );
        assert_eq!(stdout(&o), "");
    }
    let o = env.run(&["cleanupapplications", "--inactive-days", "many"]);
    assert!(!o.status.success());
    let db = env.db().await;
    assert_eq!(count_rows(&db, "oauth2_provider_application").await, 1);
    assert!(db
        .store()
        .find_application_by_client_id(&client)
        .await
        .unwrap()
        .is_some());
    db.close().await;
}

/// The scopes of `table`'s rows, by id.
async fn scopes(db: &oauth_toolkit_store::Database, table: &str) -> Vec<String> {
    use sqlx::Connection;
    let sql = format!("SELECT scope FROM {table} ORDER BY id");
    match db {
        oauth_toolkit_store::Database::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_all(&mut c).await.unwrap()
        }
        oauth_toolkit_store::Database::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(&sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

async fn migratescopes_renames_whole_scope_tokens(env: Env) {
    assert_help_lists(
        &env,
        "migratescopes",
        &["--dry-run", "--json", "<OLD>", "<NEW>"],
    );
    let db = migrated(&env).await;
    let store = &*db.store();
    let u = user(store).await;
    let now = OffsetDateTime::now_utc();
    let a = app(store, "a", now).await;
    for scope in ["read write", "readonly", "read view", "write", "read"] {
        let expires = now + Duration::hours(1);
        token(store, &a, scope, now, expires).await;
    }
    grant(store, &a, &u, "read").await;
    let used = grant(store, &a, &u, "read").await;
    store.consume_grant(&used.code_checksum, now).await.unwrap();
    let (tokens, grants) = ("oauth2_provider_accesstoken", "oauth2_provider_grant");
    let before = (scopes(&db, tokens).await, scopes(&db, grants).await);
    assert_eq!(
        before.0,
        ["read write", "readonly", "read view", "write", "read"]
    );

    let v = json_of(&run_scoped(
        &env,
        &["migratescopes", "read", "view", "--dry-run", "--json"],
    ));
    assert_eq!(
        v,
        json!({
            "old": "read", "new": "view", "dry_run": true,
            "access_tokens": 3, "id_tokens": 0, "grants": 1, "device_grants": 0,
        })
    );
    let after = (scopes(&db, tokens).await, scopes(&db, grants).await);
    assert_eq!(after, before, "a dry run changes nothing");

    let o = run_scoped(&env, &["migratescopes", "read", "view"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Renamed scope read to view:"), "{text}");
    assert!(text.contains("access tokens:"), "{text}");
    let line = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{label}:")).map(str::trim))
            .unwrap_or_else(|| panic!("no {label} in {text}"))
            .to_string()
    };
    assert_eq!(line("access tokens"), "3");
    assert_eq!(line("authorization codes"), "1");
    // `readonly` stays; `read view` becomes `view`; the consumed code keeps `read`.
    let renamed = ["view write", "readonly", "view", "write", "view"];
    assert_eq!(scopes(&db, tokens).await, renamed);
    assert_eq!(scopes(&db, grants).await, ["view", "read"]);

    let v = json_of(&run_scoped(
        &env,
        &["migratescopes", "read", "view", "--json"],
    ));
    assert_eq!(
        (v["access_tokens"].clone(), v["grants"].clone()),
        (json!(0), json!(0))
    );
    db.close().await;
}

async fn migratescopes_refuses_bad_scopes(env: Env) {
    let db = migrated(&env).await;
    let store = &*db.store();
    let now = OffsetDateTime::now_utc();
    let a = app(store, "a", now).await;
    token(store, &a, "read write", now, now + Duration::hours(1)).await;
    for (args, mentions) in [
        (["read", "nope"], "NEW: `nope` is not a configured scope"),
        (["read", "read"], "NEW: the same scope as OLD (`read`)"),
        (["re\"ad", "view"], "OLD: `re\"ad` is not a valid scope"),
        (["read", "vi\\ew"], "NEW: `vi\\ew` is not a valid scope"),
    ] {
        let o = run_scoped(&env, &[&["migratescopes"][..], &args, &["--json"]].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(error_line(&o).contains(mentions), "{}", stderr(&o));
        assert_eq!(stdout(&o), "");
    }
    // `view` is not a default scope.
    let o = env.run(&["migratescopes", "read", "view"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        error_line(&o).contains("not a configured scope"),
        "{}",
        stderr(&o)
    );
    let unchanged = "oauth2_provider_accesstoken WHERE scope = 'read write'";
    assert_eq!(count_rows(&db, unchanged).await, 1);
    db.close().await;
}
