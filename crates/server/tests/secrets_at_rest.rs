//! What a copy of the database holds: with the default settings no access- or refresh-token
//! value is readable from any row (only SHA-256 digests), and the refresh grace period still
//! returns the same pair (derived again from the presented refresh token, not read back).
//! `compliant_bcp_rfc9700_token_storage = false` keeps DOT's plaintext column.
//! Black-box: the real binary over HTTP, on SQLite and PostgreSQL.

mod common;

use common::*;
use oauth_toolkit_core::token_checksum::token_checksum;
use serde_json::Value;

const GRACE: (&str, &str) = ("OAUTH_TOOLKIT_REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "120");

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(server: &Server, path: &str, auth: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", server.base))
        .header("Authorization", auth)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

fn setup(env: &Env) -> String {
    env.create_user("alice", "wonderland");
    let (id, secret) = env.create_app("confidential", "password", &[]);
    basic(&id, &secret)
}

async fn password_tokens(server: &Server, auth: &str) -> (String, String) {
    let (s, b) = post(
        server,
        "/o/token/",
        auth,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    pair(&b)
}

fn pair(b: &Value) -> (String, String) {
    (
        b["access_token"].as_str().unwrap().to_string(),
        b["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn refresh(server: &Server, auth: &str, rt: &str) -> (u16, Value) {
    post(
        server,
        "/o/token/",
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

async fn active(server: &Server, auth: &str, token: &str) -> bool {
    let (s, b) = post(server, "/o/introspect/", auth, &[("token", token)]).await;
    assert_eq!(s, 200, "{b}");
    b["active"] == Value::Bool(true)
}

/// Every text value of every row of every table, one per line: what a copy of the database
/// gives away.
async fn dump_text(env: &Env) -> String {
    use sqlx::{Column, Connection, Row};
    let mut out = String::new();
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut c)
                .await
                .unwrap();
        for t in tables {
            let rows = sqlx::query(&format!("SELECT * FROM \"{t}\""))
                .fetch_all(&mut c)
                .await
                .unwrap();
            for row in rows {
                for col in row.columns() {
                    if let Ok(Some(v)) = row.try_get::<Option<String>, _>(col.ordinal()) {
                        out.push_str(&format!("{t}.{}={v}\n", col.name()));
                    }
                }
            }
        }
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for t in tables {
            let rows = sqlx::query(&format!("SELECT * FROM \"{t}\""))
                .fetch_all(&mut c)
                .await
                .unwrap();
            for row in rows {
                for col in row.columns() {
                    if let Ok(Some(v)) = row.try_get::<Option<String>, _>(col.ordinal()) {
                        out.push_str(&format!("{t}.{}={v}\n", col.name()));
                    }
                }
            }
        }
    }
    out
}

/// The raw bytes of an SQLite database and its WAL (empty for PostgreSQL).
fn sqlite_bytes(env: &Env) -> Vec<u8> {
    let Some(path) = env
        .url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p).to_string())
    else {
        return Vec::new();
    };
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    bytes
}

/// None of `values` is anywhere in the database; their digests are (so the search does see
/// the token tables).
async fn assert_only_digests(env: &Env, values: &[&str]) {
    let dump = dump_text(env).await;
    let raw = sqlite_bytes(env);
    for v in values {
        assert!(
            !dump.contains(v),
            "token value {v} readable in the database"
        );
        assert!(
            !raw.windows(v.len()).any(|w| w == v.as_bytes()),
            "token value {v} in the SQLite file"
        );
    }
    assert!(
        values.iter().any(|v| dump.contains(&token_checksum(v))),
        "the dump sees the token tables: {dump}"
    );
}

/// Shift a refresh token's `revoked` time (raw SQL: the store has no such method).
async fn shift_revoked(env: &Env, rt: &str, seconds: i64) {
    use sqlx::Connection;
    let sql = "UPDATE oauth2_provider_refreshtoken SET revoked = revoked + $2 \
               WHERE token_checksum = $1";
    let micros = seconds * 1_000_000;
    if env.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
        let r = sqlx::query(sql)
            .bind(token_checksum(rt))
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 1);
    } else {
        let mut c = sqlx::PgConnection::connect(&env.url).await.unwrap();
        let r = sqlx::query(sql)
            .bind(token_checksum(rt))
            .bind(micros)
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(r.rows_affected(), 1);
    }
}

/// Defaults: issued, rotated, introspected and revoked tokens are never readable from the
/// database, and every endpoint works from digests alone.
async fn default_storage_keeps_only_digests(env: Env) {
    let auth = setup(&env);
    let server = Server::start(&env, &[]);
    let (at1, rt1) = password_tokens(&server, &auth).await;
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{b}");
    let (at2, rt2) = pair(&b);
    let (s, b) = post(
        &server,
        "/o/token/",
        &auth,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (at3, rt3) = pair(&b);
    assert_only_digests(&env, &[&at1, &rt1, &at2, &rt2, &at3, &rt3]).await;
    // Introspection and revocation work from the digests.
    assert!(active(&server, &auth, &at2).await);
    assert!(active(&server, &auth, &rt2).await);
    assert!(!active(&server, &auth, &at1).await);
    let (s, _) = post(&server, "/o/revoke_token/", &auth, &[("token", &rt3)]).await;
    assert_eq!(s, 200);
    assert!(!active(&server, &auth, &at3).await);
    let (s, b) = refresh(&server, &auth, &rt3).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Without a grace period a replay of a rotated token is refused, as before.
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    server.terminate();
}

/// A grace period with digest-only storage (refused at start before): the replay gets the
/// very pair the first refresh got, nothing readable is stored, and after the window the
/// replay is refused.
async fn grace_replay_with_digest_only_storage(env: Env) {
    let auth = setup(&env);
    let server = Server::start(&env, &[GRACE]);
    let (at1, rt1) = password_tokens(&server, &auth).await;
    let (s, first) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{first}");
    let (s, again) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(pair(&first), pair(&again));
    assert!(again["expires_in"].as_i64().unwrap() <= 36000);
    let (at2, rt2) = pair(&first);
    assert!(active(&server, &auth, &at2).await);
    assert_only_digests(&env, &[&at1, &rt1, &at2, &rt2]).await;
    // A second process of the deployment (same stored secret_key) answers the same.
    let other = Server::start(&env, &[GRACE]);
    let (s, b) = refresh(&other, &auth, &rt1).await;
    assert_eq!((s, pair(&b)), (200, pair(&first)), "{b}");
    other.terminate();
    // After the window the replay is refused; the successor still refreshes.
    shift_revoked(&env, &rt1, -600).await;
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = refresh(&server, &auth, &rt2).await;
    assert_eq!(s, 200, "{b}");
    server.terminate();
}

/// The successor refresh token row is gone while its access token lives (DOT #1687): the
/// replay binds a new refresh token, derived too, so a further replay gets the same one.
async fn grace_replay_rebinds_a_lost_refresh_token(env: Env) {
    let auth = setup(&env);
    let server = Server::start(&env, &[GRACE]);
    let (_, rt1) = password_tokens(&server, &auth).await;
    let (s, first) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{first}");
    let (at2, rt2) = pair(&first);
    let store = env.db().await.store();
    let row = store
        .find_refresh_token(&token_checksum(&rt2))
        .await
        .unwrap()
        .unwrap();
    store
        .set_refresh_token_access_token(row.id, None, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{b}");
    let (at, rebound) = pair(&b);
    assert_eq!(at, at2);
    assert_ne!(rebound, rt2);
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!((s, pair(&b)), (200, (at2.clone(), rebound.clone())), "{b}");
    assert_only_digests(&env, &[&at2, &rebound]).await;
    let (s, b) = refresh(&server, &auth, &rebound).await;
    assert_eq!(s, 200, "{b}");
    server.terminate();
}

/// The successors cannot be had without the key derived from `secret_key`: a process with
/// another key refuses the replay (400, never a 500).
async fn grace_replay_needs_the_deployment_key(env: Env) {
    let auth = setup(&env);
    let key_a = (
        "OAUTH_TOOLKIT_SECRET_KEY",
        "a-deployment-secret-key-of-32-characters!",
    );
    let key_b = (
        "OAUTH_TOOLKIT_SECRET_KEY",
        "another-secret-key-of-at-least-32-characters",
    );
    let server = Server::start(&env, &[GRACE, key_a]);
    let (_, rt1) = password_tokens(&server, &auth).await;
    let (s, first) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{first}");
    let foreign = Server::start(&env, &[GRACE, key_b]);
    let (s, b) = refresh(&foreign, &auth, &rt1).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    foreign.terminate();
    let (s, b) = refresh(&server, &auth, &rt1).await;
    assert_eq!((s, pair(&b)), (200, pair(&first)), "{b}");
    server.terminate();
}

/// DOT compatibility: `compliant_bcp_rfc9700_token_storage = false` fills the plaintext
/// column, and the grace period works from it.
async fn plaintext_storage_for_dot_compatibility(env: Env) {
    let auth = setup(&env);
    let server = Server::start(
        &env,
        &[
            GRACE,
            ("OAUTH_TOOLKIT_COMPLIANT_BCP_RFC9700_TOKEN_STORAGE", "false"),
        ],
    );
    let (at1, rt1) = password_tokens(&server, &auth).await;
    let store = env.db().await.store();
    let at = store
        .find_access_token(&token_checksum(&at1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at.token, at1);
    let rt = store
        .find_refresh_token(&token_checksum(&rt1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rt.token, rt1);
    let (s, first) = refresh(&server, &auth, &rt1).await;
    assert_eq!(s, 200, "{first}");
    let (s, again) = refresh(&server, &auth, &rt1).await;
    assert_eq!((s, pair(&again)), (200, pair(&first)), "{again}");
    let dump = dump_text(&env).await;
    assert!(dump.contains(&pair(&first).0), "plaintext column filled");
    server.terminate();
}

backends!(
    default_storage_keeps_only_digests,
    grace_replay_with_digest_only_storage,
    grace_replay_rebinds_a_lost_refresh_token,
    grace_replay_needs_the_deployment_key,
    plaintext_storage_for_dot_compatibility,
);
