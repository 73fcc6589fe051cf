//! `OperationsStore` on SQLite: the counts of `sql/operations.rs`, each set on one read
//! connection (a blocking thread: they scan whole tables).

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use rusqlite::Row;
use time::OffsetDateTime;

use super::connection::{FromSqliteRow, Run};
use super::SqliteStore;
use crate::sql::operations::*;
use crate::time_codec::to_db;

/// Every column of a row of counts, in order.
struct Integers(Vec<i64>);

impl FromSqliteRow for Integers {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        (0..row.as_ref().column_count())
            .map(|i| row.get::<_, i64>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(Integers)
    }
}

/// A row `(text, text, count)`.
struct Labelled(String, String, i64);

impl FromSqliteRow for Labelled {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Labelled(row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

fn labelled(rows: Vec<Labelled>) -> Vec<(String, String, i64)> {
    rows.into_iter()
        .map(|Labelled(a, b, n)| (a, b, n))
        .collect()
}

/// The one row of a statement of counts, with at least `n` columns.
fn counts(row: Option<Integers>, n: usize) -> Result<Vec<i64>, StoreError> {
    match row {
        Some(Integers(v)) if v.len() >= n => Ok(v),
        _ => Err(StoreError::Backend("a count returned no row".into())),
    }
}

#[async_trait]
impl OperationsStore for SqliteStore {
    async fn stats(&self, now: OffsetDateTime) -> Result<Stats, StoreError> {
        let (now, hour_ago) = (to_db(now), to_db(now - time::Duration::hours(1)));
        self.scan(move |c| {
            let row = c.opt::<Integers>(STATS_COUNTS, &[&now, &hour_ago])?;
            let by_type = c.all::<Labelled>(APPLICATIONS_BY_TYPE, &[])?;
            Ok(stats_from(&counts(row, STATS_COLUMNS)?, labelled(by_type)))
        })
        .await
    }

    async fn audit_tokens(
        &self,
        now: OffsetDateTime,
        older_than: OffsetDateTime,
        top: u32,
    ) -> Result<TokenAudit, StoreError> {
        let (now, older_than, top) = (to_db(now), to_db(older_than), i64::from(top));
        self.scan(move |c| {
            let row = c.opt::<Integers>(AUDIT_COUNTS, &[&now, &older_than])?;
            let older = counts(row, 2)?;
            let rows = c.all::<Labelled>(AUDIT_TOP_APPLICATIONS, &[&now, &top])?;
            Ok(TokenAudit {
                live_access_tokens_older: count(older[0]),
                live_refresh_tokens_older: count(older[1]),
                top_applications: top_from(labelled(rows)),
            })
        })
        .await
    }

    async fn count_user_tokens(
        &self,
        user_id: Id,
        application_id: Option<Id>,
        _now: OffsetDateTime,
    ) -> Result<RevokedCounts, StoreError> {
        let sql = count_user_tokens(application_id.is_some());
        // Bound by name: without an application, `$2` and `$3` are not in the text.
        self.scan(move |c| {
            let row = c.opt::<Integers>(sql, &[&user_id, &application_id, &application_id])?;
            Ok(revoked_from(&counts(row, USER_TOKEN_COLUMNS)?))
        })
        .await
    }
}
