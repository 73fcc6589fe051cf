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

/// A row of `APPLICATION_ACTIVITY`.
struct Activity(Id, String, String, String);

impl FromSqliteRow for Activity {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Activity(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    }
}

/// A row `(id, scope)`.
struct Scoped(Id, String);

impl FromSqliteRow for Scoped {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Scoped(row.get(0)?, row.get(1)?))
    }
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

    async fn application_activity(
        &self,
        now: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<Vec<ApplicationActivity>, StoreError> {
        let (now, before) = (to_db(now), to_db(created_before));
        self.scan(move |c| {
            let rows = c.all::<Activity>(APPLICATION_ACTIVITY, &[&now, &before])?;
            Ok(activity_from(
                rows.into_iter()
                    .map(|Activity(id, c, n, k)| (id, c, n, k))
                    .collect(),
            ))
        })
        .await
    }

    async fn delete_application_if_inactive(
        &self,
        id: Id,
        now: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (now, before) = (to_db(now), to_db(created_before));
        self.write(move |c| c.exec(DELETE_INACTIVE_APPLICATION, &[&now, &before, &id]))
            .await
            .map(|n| n > 0)
    }

    async fn scope_rows(
        &self,
        rows: ScopeRows,
        scope: &str,
        after_id: Id,
        limit: u64,
    ) -> Result<Vec<(Id, String)>, StoreError> {
        let (select, _) = scope_statements(rows);
        let (pattern, limit) = (containing(scope), i64::try_from(limit).unwrap_or(i64::MAX));
        self.scan(move |c| {
            let rows = c.all::<Scoped>(select, &[&after_id, &pattern, &limit])?;
            Ok(rows.into_iter().map(|Scoped(id, s)| (id, s)).collect())
        })
        .await
    }

    async fn replace_scopes(
        &self,
        rows: ScopeRows,
        changes: &[(Id, String, String)],
    ) -> Result<u64, StoreError> {
        let (_, update) = scope_statements(rows);
        let changes = changes.to_vec();
        self.write_all(move |c| {
            let mut changed = 0u64;
            for (id, old, new) in &changes {
                changed += c.exec(update, &[id, new, old])? as u64;
            }
            Ok(changed)
        })
        .await
    }
}
