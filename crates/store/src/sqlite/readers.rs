//! Read connections. WAL mode lets every reader run beside the writer.
//!
//! A point read runs on the caller's thread ([`Readers::read_now`]): a few microseconds, less
//! than the two thread wake-ups of a hand-off. A read of many rows goes to a blocking thread
//! ([`Readers::read`]), so it never stalls a worker thread of the runtime. At most `keep` of
//! those run at once (the others wait for a permit, asynchronously). Idle connections are
//! kept (up to `keep` plus one per worker thread) and reused: opening one costs far more than
//! a point read, and each holds its own page cache.

use std::sync::{Arc, Mutex};

use oauth_toolkit_core::store::StoreError;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connection::{open, Location, Synchronous};

/// Connections kept beyond `keep` for the point reads of the runtime's worker threads.
const KEEP_FOR_POINT_READS: usize = 8;

/// Idle read connections, opened on demand and kept up to `keep`.
pub(crate) struct Readers {
    location: Location,
    synchronous: Synchronous,
    keep: usize,
    permits: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// Readers of the file at `location`, one opened at once so that a bad path fails here.
    pub(crate) fn new(
        location: Location,
        synchronous: Synchronous,
        keep: usize,
    ) -> Result<Arc<Self>, StoreError> {
        let first = open(&location, false, synchronous)?;
        let keep = keep.max(1);
        Ok(Arc::new(Self {
            location,
            synchronous,
            keep,
            permits: Semaphore::new(keep),
            idle: Mutex::new(vec![first]),
        }))
    }

    /// Run `work` on a read connection on a blocking thread.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite readers are closed".into()))?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = work(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("a database read did not finish: {e}").into()))?
    }

    /// Run `work` on a read connection on this thread.
    pub(crate) fn read_now<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.take()?;
        let result = work(&conn);
        self.give_back(conn);
        result
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.location, false, self.synchronous),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.keep + KEEP_FOR_POINT_READS {
                idle.push(conn);
            }
        }
    }

    /// Close the idle connections (those in use close when their read ends).
    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}
