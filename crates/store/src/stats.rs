//! Database round trips, counted where they happen: every statement the sqlx store sends
//! (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, and a transaction's `BEGIN` and `COMMIT`) adds
//! one to a process-wide counter. No mock, no sampling: the count is of real statements on
//! real connections.
//!
//! Not counted: the liveness pings of sqlx's pool — before it hands out a connection
//! (`test_before_acquire`: on for PostgreSQL, where it is a network round trip before the
//! query; off for SQLite, where a connection is a file handle that cannot die) and after a
//! connection is given back (always, in sqlx 0.8; in a spawned task, so no request waits for
//! it) — connection set-up, and migrations.
//!
//! Compiled in only with the `stats` feature (the server's `debug-stats`, for `serve
//! --debug-stats`, the round-trip tests and the load benchmark). Without it `counted` is the
//! identity and there is no `round_trips` to read, so nothing can report zeros as counts.

#[cfg(feature = "stats")]
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "stats")]
static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);

/// Statements sent to the database by this process so far.
#[cfg(feature = "stats")]
pub fn round_trips() -> u64 {
    ROUND_TRIPS.load(Ordering::Relaxed)
}

/// Count one statement (one relaxed atomic add, with the `stats` feature) and pass
/// `executor` through: `.fetch_one(counted(&self.read))`.
#[inline(always)]
pub(crate) fn counted<T>(executor: T) -> T {
    #[cfg(feature = "stats")]
    ROUND_TRIPS.fetch_add(1, Ordering::Relaxed);
    executor
}
