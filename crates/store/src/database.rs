//! Opening a database by URL: `sqlite:…` or `postgres://…`.

use std::sync::Arc;
use std::time::Duration;

use oauth_toolkit_core::store::{Store, StoreError};

use crate::{PgStore, SqliteStore};

/// Pool settings.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Connections per pool (SQLite: readers; the writer is always one connection).
    pub max_connections: u32,
    /// How long a request waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
    /// SQLite's `PRAGMA synchronous` (PostgreSQL ignores it).
    pub sqlite_synchronous: oauth_toolkit_core::settings::SqliteSynchronous,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            sqlite_synchronous: oauth_toolkit_core::settings::SqliteSynchronous::Full,
        }
    }
}

/// An open database of either kind.
#[derive(Debug, Clone)]
pub enum Database {
    /// An SQLite database.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PgStore>),
}

fn unsupported(url: &str) -> StoreError {
    let scheme = url.split(':').next().unwrap_or("");
    StoreError::Backend(
        format!("unsupported database URL scheme `{scheme}:` (use sqlite://PATH or postgres://…)")
            .into(),
    )
}

impl Database {
    /// Connect to `url`. Does not run migrations.
    pub async fn open(url: &str, opts: &OpenOptions) -> Result<Database, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Database::Sqlite(Arc::new(
                SqliteStore::connect(url, opts).await?,
            )))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(Arc::new(
                PgStore::connect(url, opts).await?,
            )))
        } else {
            Err(unsupported(url))
        }
    }

    /// Apply pending migrations (idempotent; safe for several processes at once, as sqlx
    /// takes an advisory lock on PostgreSQL and SQLite serialises writers).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Database::Sqlite(s) => s.migrate().await,
            Database::Postgres(s) => s.migrate().await,
        }
    }

    /// How many migrations have been applied (0 on a new database).
    pub async fn applied_migrations(&self) -> Result<i64, StoreError> {
        match self {
            Database::Sqlite(s) => s.applied_migrations().await,
            Database::Postgres(s) => s.applied_migrations().await,
        }
    }

    /// The store as the core's trait object.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(s) => s.clone(),
            Database::Postgres(s) => s.clone(),
        }
    }

    /// The URL it was opened with (it may hold a password: never log it).
    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite(s) => &s.url,
            Database::Postgres(s) => &s.url,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Close every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(s) => s.close().await,
            Database::Postgres(s) => s.close().await,
        }
    }
}

/// Rows in sqlx's migration table, or 0 when it does not exist yet.
pub(crate) async fn count_applied<'e, E, DB>(executor: E) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
    DB: sqlx::Database,
    i64: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    match sqlx::query_as::<DB, (i64,)>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(executor)
        .await
    {
        Ok((n,)) => Ok(n),
        Err(sqlx::Error::Database(_)) => Ok(0),
        Err(e) => Err(crate::error::map_err(e)),
    }
}
