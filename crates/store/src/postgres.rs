//! PostgreSQL: pooled connections shared by reads and writes; several `serve` processes
//! can share one database.

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::database::OpenOptions;
use crate::error::map_err;
use oauth_toolkit_core::store::StoreError;

/// A pooled connection idle for longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Storage on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) read: PgPool,
    pub(crate) write: PgPool,
    pub(crate) url: String,
}

impl PgStore {
    /// Open a connection pool to the PostgreSQL database at `url` (no migrations are run).
    pub async fn connect(url: &str, opts: &OpenOptions) -> Result<Self, StoreError> {
        // sqlx pings every connection before handing it out: a network round trip in front
        // of every statement. A connection used a moment ago is alive; only one that sat
        // idle is pinged (a dead one is then replaced before anyone uses it).
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect(url)
            .await
            .map_err(map_err)?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
            url: url.to_string(),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.write)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    pub(crate) async fn close(&self) {
        self.write.close().await;
    }

    pub(crate) async fn applied_migrations(&self) -> Result<i64, StoreError> {
        crate::database::count_applied(&self.read).await
    }
}

crate::sql::impl_sql_store!(PgStore);
