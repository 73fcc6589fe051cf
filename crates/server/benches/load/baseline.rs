//! The bare axum server: same stack (axum, tokio, sqlx), no OAuth.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use sha2::Digest;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

enum Db {
    /// As the provider's store: WAL, synchronous=FULL, one writer connection.
    Sqlite {
        read: sqlx::SqlitePool,
        write: sqlx::SqlitePool,
    },
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
    let sql = "INSERT INTO oauth2_provider_accesstoken (token, token_checksum, \
               application_id, expires, scope, created, updated) \
               VALUES ($1, $2, $3, $4, $5, $6, $6)";
    let now = now_micros();
    let done = match &app.db {
        Db::Sqlite { write, .. } => sqlx::query(sql)
            .bind(&token)
            .bind(checksum(&token))
            .bind(app.application_id)
            .bind(now + 36_000_000_000)
            .bind("read write")
            .bind(now)
            .execute(write)
            .await
            .is_ok(),
        Db::Pg(pool) => sqlx::query(sql)
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

/// The one SELECT: the token row by checksum → (scope, expires).
async fn select(app: &App, token: &str) -> Option<(String, i64)> {
    let sql = "SELECT scope, expires FROM oauth2_provider_accesstoken WHERE token_checksum = $1";
    let c = checksum(token);
    match &app.db {
        Db::Sqlite { read, .. } => sqlx::query_as(sql)
            .bind(c)
            .fetch_optional(read)
            .await
            .ok()?,
        Db::Pg(pool) => sqlx::query_as(sql)
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

async fn serve(url: &str) {
    let db = if url.starts_with("sqlite:") {
        let base = SqliteConnectOptions::from_str(url)
            .expect("url")
            .busy_timeout(Duration::from_secs(30))
            .synchronous(SqliteSynchronous::Full)
            .journal_mode(SqliteJournalMode::Wal);
        Db::Sqlite {
            write: SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(base.clone())
                .await
                .expect("write pool"),
            read: SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(base)
                .await
                .expect("read pool"),
        }
    } else {
        Db::Pg(
            PgPoolOptions::new()
                .max_connections(8)
                .connect(url)
                .await
                .expect("pool"),
        )
    };
    let sql = "SELECT id FROM oauth2_provider_application";
    let application_id: i64 = match &db {
        Db::Sqlite { read, .. } => sqlx::query_scalar(sql).fetch_one(read).await,
        Db::Pg(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("application");
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
