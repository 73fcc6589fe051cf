//! The bare axum server: same stack (axum, tokio), no OAuth, and a database layer no heavier
//! than the lean yardstick's (`../shared/bench/lean-server`), so that ours ÷ baseline shows
//! what the provider costs on top of the cheapest server doing the same database work.
//!
//! SQLite goes through rusqlite, as the lean server: WAL with `synchronous=NORMAL`, one writer
//! connection behind a `std::sync::Mutex` (writes are serialised in-process instead of spinning
//! on `SQLITE_BUSY`), one read-only connection per blocking-pool thread, every call on
//! `spawn_blocking`, statements prepared once per connection (`prepare_cached`). PostgreSQL
//! stays on an sqlx pool of 8.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sha2::Digest;
use sqlx::postgres::PgPoolOptions;

const INSERT: &str = "INSERT INTO oauth2_provider_accesstoken (token, token_checksum, \
                      application_id, expires, scope, created, updated) \
                      VALUES ($1, $2, $3, $4, $5, $6, $6)";
/// The one SELECT: the token row by checksum → (scope, expires).
const SELECT: &str =
    "SELECT scope, expires FROM oauth2_provider_accesstoken WHERE token_checksum = $1";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// This blocking-pool thread's read-only connection (WAL readers block neither the
    /// writer nor each other), opened on its first SELECT.
    static READER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// The SQLite file and its one writer; readers are [`READER`].
struct Sqlite {
    path: String,
    writer: Mutex<Connection>,
}

enum Db {
    Sqlite(Arc<Sqlite>),
    Pg(sqlx::PgPool),
}

struct App {
    db: Db,
    application_id: i64,
    /// JSON bodies of our answers' sizes: token, introspection, hello, jwks, discovery.
    sizes: Vec<usize>,
    statics: Vec<Bytes>,
}

/// `{"k":"…","pad":"xxx"}` grown to `size` bytes.
fn padded(mut v: serde_json::Value, size: usize) -> Vec<u8> {
    let len = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
    let pad = size.saturating_sub(len + 10);
    v["pad"] = "x".repeat(pad).into();
    serde_json::to_vec(&v).unwrap_or_default()
}

fn checksum(token: &str) -> String {
    hex(&sha2::Sha256::digest(token.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The Basic credentials, decoded (the bare server does not check them).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

async fn token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if basic(&headers).is_none()
        || !form
            .iter()
            .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let now = now_micros();
    let done = match &app.db {
        Db::Sqlite(db) => {
            let (db, token, id) = (db.clone(), token.clone(), app.application_id);
            tokio::task::spawn_blocking(move || db.insert(&token, id, now))
                .await
                .is_ok_and(|r| r.is_ok())
        }
        Db::Pg(pool) => sqlx::query(INSERT)
            .bind(&token)
            .bind(checksum(&token))
            .bind(app.application_id)
            .bind(now + 36_000_000_000)
            .bind("read write")
            .bind(now)
            .execute(pool)
            .await
            .is_ok(),
    };
    if !done {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    json(padded(
        serde_json::json!({"access_token": token, "expires_in": 36000,
            "token_type": "Bearer", "scope": "read write"}),
        app.sizes[0],
    ))
}

impl Sqlite {
    /// The token's row, on the writer (SQLite numbers `$N` parameters in order of first
    /// appearance, so the PostgreSQL text serves it too).
    fn insert(&self, token: &str, application_id: i64, now: i64) -> rusqlite::Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached(INSERT)?.execute(params![
            token,
            checksum(token),
            application_id,
            now + 36_000_000_000,
            "read write",
            now
        ])?;
        Ok(())
    }

    /// [`SELECT`] on this thread's reader, opened on its first use.
    fn select(&self, checksum: &str) -> rusqlite::Result<Option<(String, i64)>> {
        READER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let conn = match &mut *slot {
                Some(conn) => conn,
                empty => empty.insert(open_reader(&self.path)?),
            };
            let mut stmt = conn.prepare_cached(SELECT)?;
            stmt.query_row(params![checksum], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
    }
}

fn open_reader(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

async fn select(app: &App, token: &str) -> Option<(String, i64)> {
    let c = checksum(token);
    match &app.db {
        Db::Sqlite(db) => {
            let db = db.clone();
            tokio::task::spawn_blocking(move || db.select(&c))
                .await
                .ok()?
                .ok()?
        }
        Db::Pg(pool) => sqlx::query_as(SELECT)
            .bind(c)
            .fetch_optional(pool)
            .await
            .ok()?,
    }
}

async fn introspect(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if basic(&headers).is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some((_, token)) = form.iter().find(|(k, _)| k == "token") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let body = match select(&app, token).await {
        Some((scope, exp)) => serde_json::json!({"active": true, "scope": scope,
            "exp": exp / 1_000_000, "token_type": "Bearer"}),
        None => serde_json::json!({"active": false}),
    };
    json(padded(body, app.sizes[1]))
}

async fn hello(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match select(&app, token).await {
        Some(_) => json(padded(
            serde_json::json!({"message": "hello"}),
            app.sizes[2],
        )),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn static_json(State(app): State<Arc<App>>, Path(i): Path<usize>) -> Response {
    match app.statics.get(i) {
        Some(b) => ([(header::CONTENT_TYPE, "application/json")], b.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn main(url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(serve(url));
}

/// The file of a `sqlite://PATH?mode=…` URL.
fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .expect("sqlite URL");
    rest.split_once('?')
        .map_or(rest, |(path, _)| path)
        .to_string()
}

/// The writer: it switches the file to WAL mode, `synchronous=NORMAL` as the lean server.
fn open_writer(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    assert!(mode.eq_ignore_ascii_case("wal"), "journal_mode {mode}");
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

async fn serve(url: &str) {
    let sql = "SELECT id FROM oauth2_provider_application";
    let (db, application_id) = if url.starts_with("sqlite:") {
        let path = sqlite_path(url);
        let (path, writer, application_id) = tokio::task::spawn_blocking(move || {
            let writer = open_writer(&path).expect("sqlite writer");
            let id: i64 = writer
                .query_row(sql, [], |r| r.get(0))
                .expect("application");
            (path, writer, id)
        })
        .await
        .expect("sqlite setup");
        let writer = Mutex::new(writer);
        (
            Db::Sqlite(Arc::new(Sqlite { path, writer })),
            application_id,
        )
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .expect("pool");
        let id: i64 = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("application");
        (Db::Pg(pool), id)
    };
    let sizes: Vec<usize> = std::env::var("LOAD_BENCH_SIZES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(sizes.len(), 5, "LOAD_BENCH_SIZES");
    let statics = sizes
        .iter()
        .map(|&n| Bytes::from(padded(serde_json::json!({"keys": []}), n)))
        .collect();
    let app = Arc::new(App {
        db,
        application_id,
        sizes,
        statics,
    });
    let router = Router::new()
        .route("/token", post(token))
        .route("/introspect", post(introspect))
        .route("/hello", get(hello))
        .route("/static/{i}", get(static_json))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    eprintln!("baseline listening on http://{addr}");
    axum::serve(listener, router).await.expect("serve");
}
