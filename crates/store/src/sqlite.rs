//! SQLite: the embedded default. WAL mode so readers never block the writer; one writer
//! connection so writers queue in the pool instead of failing with SQLITE_BUSY; a busy
//! timeout for other processes (a CLI command beside `serve`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::database::OpenOptions;
use crate::error::map_err;
use oauth_toolkit_core::store::StoreError;

/// Storage on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) read: SqlitePool,
    pub(crate) write: SqlitePool,
    pub(crate) url: String,
    /// Token issuances committed together (see group_commit.rs).
    pub(crate) issue_queue: crate::group_commit::IssueQueue,
}

impl SqliteStore {
    /// Open the SQLite database at `url`, creating the file if missing (no migrations are run).
    pub async fn connect(url: &str, opts: &OpenOptions) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(Box::new(e)))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .synchronous(SqliteSynchronous::Full);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let write_opts = if in_memory {
            base.clone()
        } else {
            base.clone().journal_mode(SqliteJournalMode::Wal)
        };
        // No liveness ping before handing out a connection: an SQLite connection is a file
        // handle in this process, not a socket that can die, and sqlx's ping is a round trip
        // to the connection's worker thread (two thread wake-ups) on every acquire.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(write_opts)
            .await
            .map_err(map_err)?;
        // An in-memory database exists once per connection: share the single one.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base)
                .await
                .map_err(map_err)?
        };
        Ok(Self {
            read,
            issue_queue: crate::group_commit::IssueQueue::start(write.clone()),
            write,
            url: url.to_string(),
        })
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.write)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    pub(crate) async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Queue the issuance for the group committer; answered once durable.
    pub(crate) async fn issue_token_pair(
        &self,
        pair: oauth_toolkit_core::store::NewTokenPair,
        now: time::OffsetDateTime,
    ) -> Result<oauth_toolkit_core::store::IssuedTokens, StoreError> {
        self.issue_queue.issue(pair, now).await
    }

    pub(crate) async fn applied_migrations(&self) -> Result<i64, StoreError> {
        crate::database::count_applied(&self.read).await
    }
}

crate::sql::impl_sql_store!(SqliteStore);
