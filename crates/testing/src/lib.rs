//! Test support for OAuth Toolkit: real, throwaway PostgreSQL servers built from the
//! system binaries (no mocks, no containers) and temporary SQLite database URLs.
//!
//! # PostgreSQL
//!
//! [`PgServer::start`] runs `initdb` into a fresh directory under `/tmp`, starts `postgres`
//! on a free loopback port with durability switched off (`fsync`, `synchronous_commit`,
//! `full_page_writes`), and waits until the server reports itself ready.
//! [`PgServer::fresh_database_url`] then creates an empty database with a unique name per call.
//! Most tests want [`shared_pg`], one lazily started server per test process.
//!
//! The binaries (`initdb`, `pg_ctl`, `postgres`) are taken from `PATH`, or else from the
//! newest `/usr/lib/postgresql/*/bin/`. `psql` (package `postgresql-client`) is used to
//! create databases. If anything is missing, starting fails with an error that says what to
//! install: tests fail loudly, they are never skipped.
//!
//! PostgreSQL refuses to run as root. When the effective uid is 0 every PostgreSQL program is
//! run through `runuser -u postgres --` and the server directory is owned by `postgres`.
//!
//! # Cleanup, and why one server per process
//!
//! `cargo nextest` runs every test in its own process and `cargo test` runs all the tests of a
//! binary in one process, and in both a `static` is never dropped. A server shared between
//! processes (through a lock file) would need someone to decide when the last user is gone,
//! which is fragile when processes crash or are killed. So the design is: **each process that
//! needs PostgreSQL starts its own server, and the server's lifetime is tied to that process
//! by the kernel**:
//!
//! * The postmaster is started through a tiny `sh` watchdog whose standard input is a pipe
//!   whose only write end is held by the test process (Rust opens pipes close-on-exec, so no
//!   other child inherits it). The shell starts a detached watcher (double fork, so it is
//!   not a child of the postmaster) and then `exec`s `postgres`, so the postmaster keeps the
//!   shell's pid. The watcher blocks in `cat` on the pipe. However the test process ends
//!   (normal exit, panic, `abort`, `SIGKILL`, a nextest timeout), the kernel closes the write
//!   end, `cat` sees end-of-file, and the watcher stops the postmaster with `SIGQUIT`
//!   (immediate shutdown; `SIGKILL` after 10 s), waits for it to go away, and deletes the
//!   server directory. Before each signal it checks that the pid's command line still names
//!   the server directory, so a reused pid is never signalled. The watcher ignores
//!   `SIGINT`/`SIGTERM`/`SIGHUP`, so a Ctrl-C or nextest's `SIGTERM` to the process group
//!   does not stop it before it has cleaned up.
//! * [`PgServer`]'s `Drop` (for servers that are not the shared one) runs
//!   `pg_ctl stop -m immediate`, waits for the server process, removes the directory, and
//!   closes the watchdog pipe.
//!
//! Server start-up costs about a second, mostly `initdb`. To keep a nextest run with many
//! PostgreSQL tests fast, the first `initdb` output is also copied (atomically, by rename) to
//! a template under the cargo target directory (`target/<profile>/oauth-toolkit-pg/`), and
//! later servers copy that template (`cp -a`) instead of running `initdb`. The template is
//! only a cache: when it is missing, unusable or a server started from it fails, `initdb`
//! is run instead.
//!
//! # SQLite
//!
//! [`fresh_sqlite_url`] returns a `sqlite://…?mode=rwc` URL to a file in a new temporary
//! directory; keep the returned [`tempfile::TempDir`] alive as long as the database is used.

mod binaries;
mod privileges;
mod process;
mod server;
mod template;

pub use server::PgServer;

pub(crate) use binaries::*;
pub(crate) use privileges::*;
pub(crate) use process::*;
pub(crate) use server::*;
pub(crate) use template::*;

use std::io;
use std::sync::OnceLock;

/// The server shared by all tests of this process (started lazily, once).
///
/// Panics with the start-up error if the server cannot be started (every test that asks
/// for it then fails with the same message; the start is not retried). Use
/// [`try_shared_pg`] to get the error instead.
///
/// The server is never dropped: it is stopped, and its directory deleted, by its watchdog
/// when the test process exits, however it exits (see the crate documentation). Under
/// `cargo nextest` each test process that calls this starts its own server; processes that
/// never call it start none.
pub fn shared_pg() -> &'static PgServer {
    match shared() {
        Ok(server) => server,
        Err(e) => panic!("could not start the throwaway PostgreSQL server for tests: {e}"),
    }
}

/// Like [`shared_pg`], but returns the start-up error instead of panicking.
pub fn try_shared_pg() -> io::Result<&'static PgServer> {
    shared().map_err(|e| io::Error::other(e.clone()))
}

fn shared() -> Result<&'static PgServer, &'static String> {
    static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| PgServer::start().map_err(|e| e.to_string()))
        .as_ref()
}

/// A fresh SQLite database URL in a temp dir: `sqlite:///tmp/.../db.sqlite3?mode=rwc`.
///
/// The database file does not exist yet (`mode=rwc` creates it on first connect). Keep the
/// returned [`tempfile::TempDir`] alive while the database is used; dropping it deletes the
/// directory. Panics if no temporary directory can be created.
pub fn fresh_sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new()
        .prefix("oauth-toolkit-sqlite.")
        .tempdir()
        .expect("could not create a temporary directory for a SQLite database");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("db.sqlite3").display()
    );
    (dir, url)
}

#[cfg(test)]
mod tests;
