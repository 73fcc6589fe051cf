//! Login sessions and throttle counters (see `oauth_toolkit_core::throttle`): SQL text, and
//! the glue that runs it for each backend.

pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO oauth_toolkit_session (sid_checksum, user_id, auth_time, \
     created, expires) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const SELECT_SESSION_USER: &str = "SELECT u.* FROM oauth_toolkit_session s \
     JOIN oauth_toolkit_user u ON u.id = s.user_id \
     WHERE s.sid_checksum = $1 AND s.expires > $2";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM oauth_toolkit_session WHERE sid_checksum = $1";

pub(crate) const DELETE_USER_SESSIONS: &str =
    "DELETE FROM oauth_toolkit_session WHERE user_id = $1";

/// One statement: a closed window restarts at 1, an open one counts up.
pub(crate) const COUNT_ATTEMPT: &str =
    "INSERT INTO oauth_toolkit_throttle (throttle_key, attempts, window_start, \
     window_end) VALUES ($1, 1, $2, $3) \
     ON CONFLICT (throttle_key) DO UPDATE SET \
     attempts = CASE WHEN oauth_toolkit_throttle.window_end <= $2 THEN 1 \
       ELSE oauth_toolkit_throttle.attempts + 1 END, \
     window_start = CASE WHEN oauth_toolkit_throttle.window_end <= $2 THEN $2 \
       ELSE oauth_toolkit_throttle.window_start END, \
     window_end = CASE WHEN oauth_toolkit_throttle.window_end <= $2 THEN $3 \
       ELSE oauth_toolkit_throttle.window_end END \
     RETURNING attempts, window_end";

pub(crate) const SELECT_ATTEMPTS: &str = "SELECT attempts, window_end FROM oauth_toolkit_throttle \
     WHERE throttle_key = $1 AND window_end > $2";

pub(crate) const CLEAR_ATTEMPTS: &str =
    "DELETE FROM oauth_toolkit_throttle WHERE throttle_key = $1";

macro_rules! impl_session_stores {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::{map_err, unstorable};
            use crate::rows::UserRow;
            use crate::sql::sessions::*;
            use crate::stats::counted;
            use crate::time_codec::{from_db, to_db};

            #[async_trait]
            impl SessionStore for $store {
                async fn create_session(
                    &self,
                    sid_checksum: &str,
                    user_id: Id,
                    auth_time: OffsetDateTime,
                    expires: OffsetDateTime,
                    now: OffsetDateTime,
                ) -> Result<(), StoreError> {
                    sqlx::query(INSERT_SESSION)
                        .bind(sid_checksum)
                        .bind(user_id)
                        .bind(to_db(auth_time))
                        .bind(to_db(now))
                        .bind(to_db(expires))
                        .execute(counted(&self.write))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }

                async fn find_session_user(
                    &self,
                    sid_checksum: &str,
                    now: OffsetDateTime,
                ) -> Result<Option<User>, StoreError> {
                    if unstorable(sid_checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, UserRow>(SELECT_SESSION_USER)
                        .bind(sid_checksum)
                        .bind(to_db(now))
                        .fetch_optional(counted(&self.read))
                        .await
                        .map(|r| r.map(User::from))
                        .map_err(map_err)
                }

                async fn delete_session(&self, sid_checksum: &str) -> Result<bool, StoreError> {
                    if unstorable(sid_checksum) {
                        return Ok(false);
                    }
                    sqlx::query(DELETE_SESSION)
                        .bind(sid_checksum)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn delete_user_sessions(&self, user_id: Id) -> Result<u64, StoreError> {
                    sqlx::query(DELETE_USER_SESSIONS)
                        .bind(user_id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(map_err)
                }
            }

            #[async_trait]
            impl ThrottleStore for $store {
                async fn count_attempt(
                    &self,
                    key: &str,
                    now: OffsetDateTime,
                    window_seconds: i64,
                ) -> Result<ThrottleWindow, StoreError> {
                    let now_db = to_db(now);
                    let end = now_db.saturating_add(window_seconds.saturating_mul(1_000_000));
                    let (attempts, window_end): (i64, i64) = sqlx::query_as(COUNT_ATTEMPT)
                        .bind(key)
                        .bind(now_db)
                        .bind(end)
                        .fetch_one(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok(ThrottleWindow {
                        attempts,
                        window_end: from_db(window_end),
                    })
                }

                async fn attempts(
                    &self,
                    key: &str,
                    now: OffsetDateTime,
                ) -> Result<Option<ThrottleWindow>, StoreError> {
                    let row: Option<(i64, i64)> = sqlx::query_as(SELECT_ATTEMPTS)
                        .bind(key)
                        .bind(to_db(now))
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    Ok(row.map(|(attempts, end)| ThrottleWindow {
                        attempts,
                        window_end: from_db(end),
                    }))
                }

                async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
                    sqlx::query(CLEAR_ATTEMPTS)
                        .bind(key)
                        .execute(counted(&self.write))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }
            }
        };
    };
}

pub(crate) use impl_session_stores;
