//! Read connections, used on tokio's blocking threads: a read never stalls a worker thread
//! of the runtime, and WAL mode lets every reader run beside the writer.

use std::sync::{Arc, Mutex};

use oauth_toolkit_core::store::StoreError;
use rusqlite::Connection;

use super::connection::{open, Location, Synchronous};

/// Idle read connections, opened on demand and kept up to `keep`.
pub(crate) struct Readers {
    location: Location,
    synchronous: Synchronous,
    keep: usize,
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
        Ok(Arc::new(Self {
            location,
            synchronous,
            keep: keep.max(1),
            idle: Mutex::new(vec![first]),
        }))
    }

    /// Run `work` on a read connection on a blocking thread.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
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

    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => open(&self.location, false, self.synchronous),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.keep {
                idle.push(conn);
            }
        }
    }

    /// Close the idle connections (those in use close when their read ends).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}
