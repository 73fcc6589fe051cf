//! The schema migrations of `migrations/sqlite`, applied on the write connection and
//! recorded in sqlx's `_sqlx_migrations` table exactly as `sqlx migrate` records them, so a
//! database migrated by an earlier version (or by the sqlx CLI) is recognised.
//!
//! All pending migrations are applied in one `BEGIN IMMEDIATE` transaction: several
//! processes starting at once queue for the write lock, and the second finds nothing to do.

use oauth_toolkit_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension};

use super::connection::map_err;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

fn refuse(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// Apply every pending migration.
pub(crate) fn apply(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
    let result = apply_in_transaction(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(map_err);
    result.and(ended)
}

fn apply_in_transaction(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(CREATE_TABLE).map_err(map_err)?;
    let dirty: Option<i64> = conn
        .query_row(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    if let Some(version) = dirty {
        return Err(refuse(format!(
            "migration {version} was left half-applied; repair the database by hand"
        )));
    }
    let mut stmt = conn
        .prepare("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .map_err(map_err)?;
    let applied: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?
        .collect::<Result<_, _>>()
        .map_err(map_err)?;
    for (version, checksum) in &applied {
        match MIGRATOR.iter().find(|m| m.version == *version) {
            None => {
                return Err(refuse(format!(
                    "the database has migration {version}, which this build does not know \
                     (was it migrated by a newer oauth-toolkit?)"
                )))
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(refuse(format!(
                    "migration {version} was changed after it was applied"
                )))
            }
            Some(_) => {}
        }
    }
    for m in MIGRATOR.iter() {
        if applied.iter().any(|(v, _)| *v == m.version) {
            continue;
        }
        let started = std::time::Instant::now();
        conn.execute_batch(&m.sql).map_err(|e| {
            refuse(format!(
                "migration {} ({}) failed: {e}",
                m.version, m.description
            ))
        })?;
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![
                m.version,
                m.description.as_ref(),
                m.checksum.as_ref(),
                nanos
            ],
        )
        .map_err(map_err)?;
    }
    Ok(())
}

/// How many migrations have been applied (0 when the table does not exist yet).
pub(crate) fn count_applied(conn: &Connection) -> Result<i64, StoreError> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
             AND name = '_sqlx_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if !exists {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
        [],
        |r| r.get(0),
    )
    .map_err(map_err)
}
