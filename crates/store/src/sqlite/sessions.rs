//! `SessionStore` and `ThrottleStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::{FromSqliteRow, Run};
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::UserRow;
use crate::sql::sessions::*;
use crate::time_codec::{from_db, to_db};

/// A row of `COUNT_ATTEMPT` / `SELECT_ATTEMPTS`: `attempts, window_end`.
struct AttemptsRow {
    attempts: i64,
    window_end: i64,
}

impl FromSqliteRow for AttemptsRow {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            attempts: row.get(0)?,
            window_end: row.get(1)?,
        })
    }
}

impl From<AttemptsRow> for ThrottleWindow {
    fn from(r: AttemptsRow) -> Self {
        ThrottleWindow {
            attempts: r.attempts,
            window_end: from_db(r.window_end),
        }
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        sid_checksum: &str,
        user_id: Id,
        auth_time: OffsetDateTime,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sid_checksum = sid_checksum.to_string();
        self.write(move |c| {
            c.exec(
                INSERT_SESSION,
                &[
                    &sid_checksum,
                    &user_id,
                    &to_db(auth_time),
                    &to_db(now),
                    &to_db(expires),
                ],
            )
        })
        .await
        .map(|_| ())
    }

    async fn find_session_user(
        &self,
        sid_checksum: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        if unstorable(sid_checksum) {
            return Ok(None);
        }
        let sid_checksum = sid_checksum.to_string();
        self.read(move |c| c.opt::<UserRow>(SELECT_SESSION_USER, &[&sid_checksum, &to_db(now)]))
            .await
            .map(|r| r.map(User::from))
    }

    async fn delete_session(&self, sid_checksum: &str) -> Result<bool, StoreError> {
        if unstorable(sid_checksum) {
            return Ok(false);
        }
        let sid_checksum = sid_checksum.to_string();
        self.write(move |c| c.exec(DELETE_SESSION, &[&sid_checksum]))
            .await
            .map(|n| n > 0)
    }

    async fn delete_user_sessions(&self, user_id: Id) -> Result<u64, StoreError> {
        self.write(move |c| c.exec(DELETE_USER_SESSIONS, &[&user_id]))
            .await
            .map(|n| n as u64)
    }
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_seconds: i64,
    ) -> Result<ThrottleWindow, StoreError> {
        let now_db = to_db(now);
        let end = now_db.saturating_add(window_seconds.saturating_mul(1_000_000));
        let key = key.to_string();
        self.write(move |c| c.one::<AttemptsRow>(COUNT_ATTEMPT, &[&key, &now_db, &end]))
            .await
            .map(ThrottleWindow::from)
    }

    async fn attempts(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ThrottleWindow>, StoreError> {
        let key = key.to_string();
        self.read(move |c| c.opt::<AttemptsRow>(SELECT_ATTEMPTS, &[&key, &to_db(now)]))
            .await
            .map(|r| r.map(ThrottleWindow::from))
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |c| c.exec(CLEAR_ATTEMPTS, &[&key]))
            .await
            .map(|_| ())
    }
}
