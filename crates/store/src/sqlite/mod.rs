//! SQLite: the embedded default, on rusqlite (the request path calls SQLite directly, with
//! no driver thread in between).
//!
//! - One write connection, owned by a thread of its own that commits the writes queued while
//!   it works in one transaction ([`writer`]).
//! - Read connections ([`readers`]): a point read runs on the calling thread, a read of many
//!   rows on tokio's blocking threads; WAL mode lets them run beside the writer.
//! - Each connection keeps every statement of `sql/` prepared.
//! - A busy timeout for other processes (a CLI command beside `serve`).
//!
//! An in-memory database exists once per connection, so there the write connection serves
//! the reads too.

mod admin;
mod applications;
mod cleanup;
pub(crate) mod connection;
mod device_grants;
mod grants;
mod id_tokens;
mod keys;
mod migrations;
mod operations;
mod readers;
mod sessions;
mod tokens;
mod users;
mod writer;

use std::sync::Arc;

use oauth_toolkit_core::store::StoreError;
use rusqlite::Connection;

use connection::{location, open, Location};
use readers::Readers;
pub(crate) use writer::Shape;
use writer::Writer;

use crate::database::OpenOptions;

/// Storage on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// `None` for an in-memory database: the writer reads too.
    readers: Option<Arc<Readers>>,
    writer: Writer,
    pub(crate) url: String,
}

impl SqliteStore {
    /// Open the SQLite database at `url`, creating the file if missing (no migrations are run).
    pub async fn connect(url: &str, opts: &OpenOptions) -> Result<Self, StoreError> {
        let location = location(url)?;
        let synchronous = opts.sqlite_synchronous;
        let keep = usize::try_from(opts.max_connections).unwrap_or(8);
        let url = url.to_string();
        // Opening touches the file system: off the async threads.
        tokio::task::spawn_blocking(move || {
            let write = open(&location, true, synchronous)?;
            let readers = match location {
                Location::Memory => None,
                Location::File(_) => Some(Readers::new(location, synchronous, keep)?),
            };
            Ok(Self {
                readers,
                writer: Writer::start(write)?,
                url,
            })
        })
        .await
        .map_err(|e| StoreError::Backend(format!("opening SQLite did not finish: {e}").into()))?
    }

    /// Run `work`, a point read (a row by its key), on a read connection, on this thread.
    ///
    /// Such a read takes microseconds in WAL mode, where a reader never waits for the writer;
    /// handing it to a blocking thread and back costs several times that in thread wake-ups.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.read_now(work),
            None => self.writer.write(Shape::One, work).await,
        }
    }

    /// Run `work`, a read of many rows, on a read connection on a blocking thread.
    pub(crate) async fn scan<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.read(work).await,
            None => self.writer.write(Shape::One, work).await,
        }
    }

    /// Run `work`, one statement, on the writer; answered once committed.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write(Shape::One, work).await
    }

    /// Run `work`, several statements that stand or fall together, on the writer.
    pub(crate) async fn write_all<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write(Shape::Many, work).await
    }

    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        self.writer.write(Shape::Own, migrations::apply).await
    }

    pub(crate) async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close();
        }
        self.writer.close().await;
    }

    pub(crate) async fn applied_migrations(&self) -> Result<i64, StoreError> {
        self.read(migrations::count_applied).await
    }
}

#[async_trait::async_trait]
impl oauth_toolkit_core::store::Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        use connection::Run;
        self.read(|c| c.scalar::<i32>(crate::sql::PING, &[]).map(|_| ()))
            .await
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn admin(&self) -> Option<&dyn oauth_toolkit_core::store::AdminStore> {
        Some(self)
    }

    fn operations(&self) -> Option<&dyn oauth_toolkit_core::store::OperationsStore> {
        Some(self)
    }

    async fn find_refresh_token_with_owners(
        &self,
        checksum: &str,
    ) -> Result<Option<oauth_toolkit_core::models::RefreshTokenWithOwners>, StoreError> {
        use connection::Run;
        if crate::error::unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.read(move |c| {
            c.opt::<crate::rows::RefreshTokenWithOwnersRow>(
                crate::sql::tokens::SELECT_REFRESH_TOKEN_WITH_OWNERS,
                &[&checksum],
            )
        })
        .await?
        .map(TryFrom::try_from)
        .transpose()
    }

    async fn find_access_token_with_owners(
        &self,
        checksum: &str,
    ) -> Result<Option<oauth_toolkit_core::models::AccessTokenWithOwners>, StoreError> {
        use connection::Run;
        if crate::error::unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.read(move |c| {
            c.opt::<crate::rows::AccessTokenWithOwnersRow>(
                crate::sql::tokens::SELECT_ACCESS_TOKEN_WITH_OWNERS,
                &[&checksum],
            )
        })
        .await?
        .map(TryFrom::try_from)
        .transpose()
    }
}
