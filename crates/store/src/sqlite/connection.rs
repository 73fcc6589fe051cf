//! One rusqlite connection: how it is opened, how a statement of `sql/` is bound and run,
//! how a row becomes a row struct, and how SQLite's errors become `StoreError`s.

use std::path::Path;
use std::time::Duration;

pub(crate) use oauth_toolkit_core::settings::SqliteSynchronous as Synchronous;
use oauth_toolkit_core::store::StoreError;
use rusqlite::types::{FromSql, ToSql};
use rusqlite::{ffi, Connection, OpenFlags, Row, Statement};

use crate::stats::counted;

/// Statements each connection keeps prepared: every constant of `sql/` and the cleanup
/// batches fit, so after warm-up no request parses SQL.
const STATEMENT_CACHE: usize = 128;
/// How long a statement waits for another process's write lock (a CLI command beside
/// `serve`) before it fails with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `PRAGMA` of the `sqlite_synchronous` setting.
fn synchronous_pragma(synchronous: Synchronous) -> &'static str {
    match synchronous {
        Synchronous::Full => "PRAGMA synchronous = FULL",
        Synchronous::Normal => "PRAGMA synchronous = NORMAL",
    }
}

/// Where a `sqlite:` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A file (created when missing).
    File(String),
    /// A private in-memory database (one connection serves reads and writes).
    Memory,
}

/// `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`, with sqlx's optional `?mode=…`.
pub(crate) fn location(url: &str) -> Result<Location, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Backend(format!("not an SQLite URL: {url}").into()))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory") {
        return Ok(Location::Memory);
    }
    if path.is_empty() {
        return Err(StoreError::Backend(
            "an SQLite URL needs a file path: sqlite://PATH".into(),
        ));
    }
    Ok(Location::File(path.to_string()))
}

/// Open a connection with our pragmas. The writer also switches the file to WAL mode, so
/// that readers never wait for it.
pub(crate) fn open(
    location: &Location,
    writer: bool,
    synchronous: Synchronous,
) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match location {
        Location::File(path) => Connection::open_with_flags(Path::new(path), flags),
        Location::Memory => Connection::open_in_memory_with_flags(flags),
    }
    .map_err(map_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if writer && matches!(location, Location::File(_)) {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(map_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(
                mode,
                "SQLite refused WAL mode; readers will wait for writers"
            );
        }
    }
    conn.execute_batch(synchronous_pragma(synchronous))
        .map_err(map_err)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(map_err)?;
    if !writer {
        // A reader that tried to write would take the lock behind the writer's back.
        conn.execute_batch("PRAGMA query_only = ON")
            .map_err(map_err)?;
    }
    Ok(conn)
}

/// A row struct read from a rusqlite row by column name (see `rows.rs`).
pub(crate) trait FromSqliteRow: Sized {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

/// Column `name` of `row`, looked for first at index `guess`: row structs list their fields
/// in the order of the SELECT, so the guess nearly always hits (one comparison instead of a
/// search of every column name); a miss falls back to the search.
pub(crate) fn column<T: FromSql>(row: &Row<'_>, guess: usize, name: &str) -> rusqlite::Result<T> {
    if row.as_ref().column_name(guess).is_ok_and(|n| n == name) {
        row.get(guess)
    } else {
        row.get(name)
    }
}

/// The `$N` placeholder names, in order: `sql/` numbers its parameters `$1…`, which SQLite
/// takes as names, so each value is bound to the index of its name (a name may repeat).
const NAMES: [&str; 16] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16",
];

/// The values of one statement, `$1` first.
pub(crate) type Params<'a> = &'a [&'a dyn ToSql];

/// The cached statement for `sql`, with `params` bound to `$1…`.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    params: Params<'_>,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    counted(());
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    bind(&mut stmt, params)?;
    Ok(stmt)
}

fn bind(stmt: &mut Statement<'_>, params: Params<'_>) -> Result<(), StoreError> {
    if params.len() > NAMES.len() {
        return Err(StoreError::Backend("too many statement parameters".into()));
    }
    for (name, value) in NAMES.iter().zip(params) {
        if let Some(index) = stmt.parameter_index(name).map_err(map_err)? {
            stmt.raw_bind_parameter(index, value).map_err(map_err)?;
        }
    }
    Ok(())
}

/// Running the statements of `sql/` on a connection.
pub(crate) trait Run {
    /// Rows changed.
    fn exec(&self, sql: &str, params: Params<'_>) -> Result<usize, StoreError>;
    /// The first row, if any.
    fn opt<T: FromSqliteRow>(&self, sql: &str, params: Params<'_>)
        -> Result<Option<T>, StoreError>;
    /// Every row.
    fn all<T: FromSqliteRow>(&self, sql: &str, params: Params<'_>) -> Result<Vec<T>, StoreError>;
    /// The first column of the first row, if any.
    fn scalar<T: FromSql>(&self, sql: &str, params: Params<'_>) -> Result<Option<T>, StoreError>;
    /// The first column of every row.
    fn scalars<T: FromSql>(&self, sql: &str, params: Params<'_>) -> Result<Vec<T>, StoreError>;
    /// The one row a statement such as `INSERT … RETURNING *` always yields.
    fn one<T: FromSqliteRow>(&self, sql: &str, params: Params<'_>) -> Result<T, StoreError> {
        self.opt(sql, params)?
            .ok_or_else(|| StoreError::Backend("the statement returned no row".into()))
    }
}

impl Run for Connection {
    fn exec(&self, sql: &str, params: Params<'_>) -> Result<usize, StoreError> {
        bound(self, sql, params)?.raw_execute().map_err(map_err)
    }

    fn opt<T: FromSqliteRow>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<T>, StoreError> {
        let mut stmt = bound(self, sql, params)?;
        let mut rows = stmt.raw_query();
        let first = match rows.next().map_err(map_err)? {
            Some(row) => Some(T::from_sqlite_row(row).map_err(map_err)?),
            None => None,
        };
        // Step to the end so that an `UPDATE … RETURNING` has finished its work.
        while rows.next().map_err(map_err)?.is_some() {}
        Ok(first)
    }

    fn all<T: FromSqliteRow>(&self, sql: &str, params: Params<'_>) -> Result<Vec<T>, StoreError> {
        let mut stmt = bound(self, sql, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            out.push(T::from_sqlite_row(row).map_err(map_err)?);
        }
        Ok(out)
    }

    fn scalar<T: FromSql>(&self, sql: &str, params: Params<'_>) -> Result<Option<T>, StoreError> {
        Ok(self
            .opt::<Scalar<T>>(sql, params)?
            .map(|Scalar(value)| value))
    }

    fn scalars<T: FromSql>(&self, sql: &str, params: Params<'_>) -> Result<Vec<T>, StoreError> {
        Ok(self
            .all::<Scalar<T>>(sql, params)?
            .into_iter()
            .map(|Scalar(value)| value)
            .collect())
    }
}

struct Scalar<T>(T);

impl<T: FromSql> FromSqliteRow for Scalar<T> {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        row.get(0).map(Scalar)
    }
}

/// A statement of transaction control (`BEGIN`, `COMMIT`, `SAVEPOINT`, …), counted like any.
pub(crate) fn control(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    counted(());
    conn.prepare_cached(sql)
        .and_then(|mut s| s.raw_execute())
        .map(|_| ())
        .map_err(map_err)
}

/// SQLite's errors as the core's, keeping the cause.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        let text = message.as_deref().unwrap_or("");
        match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StoreError::Conflict(crate::error::describe_unique(text));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                return StoreError::MissingReference("a referenced row".to_string());
            }
            _ => {}
        }
        if matches!(
            failure.code,
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::DiskFull
        ) {
            return StoreError::Unavailable(Box::new(e));
        }
    }
    StoreError::Backend(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_file_or_memory() {
        assert_eq!(
            location("sqlite:///tmp/x.sqlite3?mode=rwc").unwrap(),
            Location::File("/tmp/x.sqlite3".into())
        );
        assert_eq!(
            location("sqlite:db.sqlite3").unwrap(),
            Location::File("db.sqlite3".into())
        );
        assert_eq!(location("sqlite::memory:").unwrap(), Location::Memory);
        assert_eq!(
            location("sqlite://x?mode=memory").unwrap(),
            Location::Memory
        );
        assert!(location("sqlite://").is_err());
        assert!(location("postgres://x").is_err());
    }

    #[test]
    fn dollar_parameters_bind_by_name_even_out_of_order() {
        let conn = open(&Location::Memory, true, Synchronous::Full).unwrap();
        let got: Option<String> = conn
            .scalar("SELECT $2 || '-' || $1 || '-' || $2", &[&"a", &"b"])
            .unwrap();
        assert_eq!(got.as_deref(), Some("b-a-b"));
    }
}
