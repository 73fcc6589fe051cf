//! The operator's counts (`OperationsStore`): SQL text (shared by both backends) and
//! PostgreSQL's glue. Whole-table `COUNT`s, a few statements each, read-only.
//!
//! The counts of `count_user_tokens` are derived from the statements of
//! `revoke_user_tokens` (`sql/admin.rs`): the same table and the same `WHERE`, so that a
//! dry run counts exactly the rows the revocation would change.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::models::{ClientType, GrantType};
use oauth_toolkit_core::store::{
    ApplicationActivity, ApplicationTokenCount, KeepReason, RevokedCounts, ScopeRows, Stats,
};

use crate::sql::admin::revoke_statements;

/// `$1` now, `$2` one hour before now. The columns, in order, are [`STATS_COLUMNS`].
pub(crate) const STATS_COUNTS: &str = "SELECT \
     (SELECT COUNT(*) FROM oauth2_provider_application) AS applications, \
     (SELECT COUNT(DISTINCT application_id) FROM oauth2_provider_accesstoken \
      WHERE expires > $1) AS applications_with_live_access_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_accesstoken) AS access_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_accesstoken WHERE expires > $1) \
      AS live_access_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_accesstoken WHERE created > $2) \
      AS access_tokens_last_hour, \
     (SELECT COUNT(*) FROM oauth2_provider_refreshtoken) AS refresh_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_refreshtoken WHERE revoked IS NULL) \
      AS live_refresh_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_refreshtoken WHERE revoked IS NOT NULL) \
      AS revoked_refresh_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_grant) AS grants, \
     (SELECT COUNT(*) FROM oauth2_provider_grant WHERE consumed IS NULL AND expires > $1) \
      AS live_grants, \
     (SELECT COUNT(*) FROM oauth2_provider_idtoken) AS id_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_idtoken WHERE expires > $1) AS live_id_tokens, \
     (SELECT COUNT(*) FROM oauth2_provider_devicegrant) AS device_grants, \
     (SELECT COUNT(*) FROM oauth2_provider_devicegrant \
      WHERE status IN ('authorization-pending', 'authorized') AND expires > $1) \
      AS live_device_grants";

/// The columns of [`STATS_COUNTS`].
pub(crate) const STATS_COLUMNS: usize = 14;

/// Applications per client type and per grant type: rows `(kind, value, n)`.
pub(crate) const APPLICATIONS_BY_TYPE: &str =
    "SELECT 'client_type' AS kind, client_type AS value, COUNT(*) AS n \
     FROM oauth2_provider_application GROUP BY client_type \
     UNION ALL \
     SELECT 'grant_type' AS kind, authorization_grant_type AS value, COUNT(*) AS n \
     FROM oauth2_provider_application GROUP BY authorization_grant_type";

/// `$1` now, `$2` the cutoff.
pub(crate) const AUDIT_COUNTS: &str = "SELECT \
     (SELECT COUNT(*) FROM oauth2_provider_accesstoken WHERE expires > $1 AND created < $2), \
     (SELECT COUNT(*) FROM oauth2_provider_refreshtoken WHERE revoked IS NULL AND created < $2)";

/// `$1` now, `$2` how many. Rows `(client_id, name, n)`.
pub(crate) const AUDIT_TOP_APPLICATIONS: &str = "SELECT a.client_id, a.name, COUNT(*) AS n \
     FROM oauth2_provider_accesstoken t \
     JOIN oauth2_provider_application a ON a.id = t.application_id \
     WHERE t.expires > $1 \
     GROUP BY a.id, a.client_id, a.name \
     ORDER BY n DESC, a.client_id \
     LIMIT $2";

/// Of the application `oauth2_provider_application` (the outer row), `$1` now: a live
/// access, refresh or ID token, code or device grant.
macro_rules! live_of_application {
    () => {
        "(EXISTS (SELECT 1 FROM oauth2_provider_accesstoken t \
          WHERE t.application_id = oauth2_provider_application.id AND t.expires > $1) \
         OR EXISTS (SELECT 1 FROM oauth2_provider_refreshtoken t \
          WHERE t.application_id = oauth2_provider_application.id AND t.revoked IS NULL) \
         OR EXISTS (SELECT 1 FROM oauth2_provider_idtoken t \
          WHERE t.application_id = oauth2_provider_application.id AND t.expires > $1) \
         OR EXISTS (SELECT 1 FROM oauth2_provider_grant t \
          WHERE t.application_id = oauth2_provider_application.id \
          AND t.consumed IS NULL AND t.expires > $1) \
         OR EXISTS (SELECT 1 FROM oauth2_provider_devicegrant t \
          WHERE t.client_id = oauth2_provider_application.client_id \
          AND t.status IN ('authorization-pending', 'authorized') AND t.expires > $1))"
    };
}

/// Of the outer application, `$2` the cutoff: an access or refresh token created since.
macro_rules! recent_of_application {
    () => {
        "(EXISTS (SELECT 1 FROM oauth2_provider_accesstoken t \
          WHERE t.application_id = oauth2_provider_application.id AND t.created >= $2) \
         OR EXISTS (SELECT 1 FROM oauth2_provider_refreshtoken t \
          WHERE t.application_id = oauth2_provider_application.id AND t.created >= $2))"
    };
}

/// `$1` now, `$2` the cutoff. Rows `(id, client_id, name, keep)`, `keep` a
/// [`KeepReason`] or "" (inactive).
pub(crate) const APPLICATION_ACTIVITY: &str = concat!(
    "SELECT id, client_id, name, CASE WHEN ",
    live_of_application!(),
    " THEN 'live tokens' WHEN ",
    recent_of_application!(),
    " THEN 'recent tokens' WHEN created >= $2 THEN 'recently created' ELSE '' END AS keep \
     FROM oauth2_provider_application ORDER BY id"
);

/// `$1` now, `$2` the cutoff, `$3` the application: deleted only if still inactive (the
/// conditions of [`APPLICATION_ACTIVITY`], in the same statement).
pub(crate) const DELETE_INACTIVE_APPLICATION: &str = concat!(
    "DELETE FROM oauth2_provider_application WHERE id = $3 AND created < $2 AND NOT ",
    live_of_application!(),
    " AND NOT ",
    recent_of_application!()
);

/// The rows of [`APPLICATION_ACTIVITY`].
pub(crate) fn activity_from(rows: Vec<(Id, String, String, String)>) -> Vec<ApplicationActivity> {
    rows.into_iter()
        .map(|(id, client_id, name, keep)| ApplicationActivity {
            id,
            client_id,
            name,
            keep: KeepReason::parse(&keep),
        })
        .collect()
}

/// `(select, update)` of one kind of scoped rows. The select: `$1` after this id, `$2` a
/// `LIKE` pattern (escaped with `\`), `$3` how many; rows `(id, scope)`. The update: `$1`
/// the id, `$2` the new scope, `$3` the scope it must still have.
macro_rules! scope_statements {
    ($table:literal, $condition:literal) => {
        (
            concat!(
                "SELECT id, scope FROM ",
                $table,
                " WHERE id > $1 AND scope LIKE $2 ESCAPE '\\'",
                $condition,
                " ORDER BY id LIMIT $3"
            ),
            concat!(
                "UPDATE ",
                $table,
                " SET scope = $2 WHERE id = $1 AND scope = $3"
            ),
        )
    };
}

pub(crate) fn scope_statements(rows: ScopeRows) -> (&'static str, &'static str) {
    match rows {
        ScopeRows::AccessTokens => scope_statements!("oauth2_provider_accesstoken", ""),
        ScopeRows::IdTokens => scope_statements!("oauth2_provider_idtoken", ""),
        ScopeRows::Grants => {
            scope_statements!("oauth2_provider_grant", " AND consumed IS NULL")
        }
        ScopeRows::DeviceGrants => scope_statements!(
            "oauth2_provider_devicegrant",
            " AND status IN ('authorization-pending', 'authorized')"
        ),
    }
}

/// The `LIKE` pattern of rows whose scope contains `scope` (`\` escapes).
pub(crate) fn containing(scope: &str) -> String {
    let mut pattern = String::with_capacity(scope.len() + 2);
    pattern.push('%');
    for c in scope.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A count as the stores report it (a `COUNT` is never negative).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// [`Stats`] from the columns of [`STATS_COUNTS`] and the rows of [`APPLICATIONS_BY_TYPE`].
pub(crate) fn stats_from(counts: &[i64], by_type: Vec<(String, String, i64)>) -> Stats {
    let c = |i: usize| counts.get(i).copied().map(count).unwrap_or(0);
    let mut by_client_type: BTreeMap<String, u64> = [ClientType::Confidential, ClientType::Public]
        .into_iter()
        .map(|t| (t.as_str().to_string(), 0))
        .collect();
    let mut by_grant_type: BTreeMap<String, u64> = GrantType::ALL
        .into_iter()
        .map(|t| (t.as_str().to_string(), 0))
        .collect();
    for (kind, value, n) in by_type {
        let map = if kind == "client_type" {
            &mut by_client_type
        } else {
            &mut by_grant_type
        };
        map.insert(value, count(n));
    }
    Stats {
        applications: c(0),
        applications_with_live_access_tokens: c(1),
        applications_by_client_type: by_client_type,
        applications_by_grant_type: by_grant_type,
        access_tokens: c(2),
        live_access_tokens: c(3),
        access_tokens_last_hour: c(4),
        refresh_tokens: c(5),
        live_refresh_tokens: c(6),
        revoked_refresh_tokens: c(7),
        grants: c(8),
        live_grants: c(9),
        id_tokens: c(10),
        live_id_tokens: c(11),
        device_grants: c(12),
        live_device_grants: c(13),
    }
}

/// The rows of [`AUDIT_TOP_APPLICATIONS`].
pub(crate) fn top_from(rows: Vec<(String, String, i64)>) -> Vec<ApplicationTokenCount> {
    rows.into_iter()
        .map(|(client_id, name, n)| ApplicationTokenCount {
            client_id,
            name,
            live_access_tokens: count(n),
        })
        .collect()
}

/// [`RevokedCounts`] from the columns of [`count_user_tokens`].
pub(crate) fn revoked_from(counts: &[i64]) -> RevokedCounts {
    let c = |i: usize| counts.get(i).copied().map(count).unwrap_or(0);
    RevokedCounts {
        refresh_tokens: c(0),
        access_tokens: c(1),
        id_tokens: c(2),
        grants: c(3),
        device_grants: c(4),
    }
}

/// The columns of [`count_user_tokens`].
pub(crate) const USER_TOKEN_COLUMNS: usize = 5;

/// `SELECT COUNT(*) FROM <table> WHERE <condition>` of one `UPDATE … SET … WHERE …` or
/// `DELETE FROM … WHERE …` statement.
fn count_of(statement: &str) -> String {
    let (head, condition) = statement
        .split_once(" WHERE ")
        .expect("a revocation statement has a WHERE");
    let table = head
        .strip_prefix("DELETE FROM ")
        .or_else(|| head.strip_prefix("UPDATE "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a revocation statement is an UPDATE or a DELETE");
    format!("(SELECT COUNT(*) FROM {table} WHERE {condition})")
}

/// One statement counting what `revoke_user_tokens` would change: columns refresh tokens,
/// access tokens, ID tokens, grants, device grants. `$1` the user; of one application, `$2`
/// and `$3` both the application (the refresh tokens' statement names it `$3`, its `$2`
/// being the time of revocation, which is not in its condition).
pub(crate) fn count_user_tokens(of_application: bool) -> &'static str {
    static ALL: OnceLock<String> = OnceLock::new();
    static ONE: OnceLock<String> = OnceLock::new();
    let cell = if of_application { &ONE } else { &ALL };
    cell.get_or_init(|| {
        let s = revoke_statements(of_application);
        let columns = [
            s.refresh_tokens,
            s.access_tokens,
            s.id_tokens,
            s.grants,
            s.device_grants,
        ]
        .map(count_of);
        format!("SELECT {}", columns.join(", "))
    })
}

/// `OperationsStore` for `$store`.
macro_rules! impl_operations_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use sqlx::Row as _;
            use time::OffsetDateTime;

            use crate::error::map_err;
            use crate::sql::operations::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            type Row = <<$store as crate::sql::SqlBackend>::Db as sqlx::Database>::Row;

            /// The first `n` columns of `row`, as integers.
            fn integers(row: &Row, n: usize) -> Result<Vec<i64>, StoreError> {
                (0..n)
                    .map(|i| row.try_get::<i64, _>(i).map_err(map_err))
                    .collect()
            }

            #[async_trait]
            impl OperationsStore for $store {
                async fn stats(&self, now: OffsetDateTime) -> Result<Stats, StoreError> {
                    let hour_ago = now - time::Duration::hours(1);
                    let row = sqlx::query(STATS_COUNTS)
                        .bind(to_db(now))
                        .bind(to_db(hour_ago))
                        .fetch_one(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    let counts = integers(&row, STATS_COLUMNS)?;
                    let by_type = sqlx::query_as::<_, (String, String, i64)>(APPLICATIONS_BY_TYPE)
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    Ok(stats_from(&counts, by_type))
                }

                async fn audit_tokens(
                    &self,
                    now: OffsetDateTime,
                    older_than: OffsetDateTime,
                    top: u32,
                ) -> Result<TokenAudit, StoreError> {
                    let row = sqlx::query(AUDIT_COUNTS)
                        .bind(to_db(now))
                        .bind(to_db(older_than))
                        .fetch_one(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    let counts = integers(&row, 2)?;
                    let rows = sqlx::query_as::<_, (String, String, i64)>(AUDIT_TOP_APPLICATIONS)
                        .bind(to_db(now))
                        .bind(i64::from(top))
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    Ok(TokenAudit {
                        live_access_tokens_older: count(counts[0]),
                        live_refresh_tokens_older: count(counts[1]),
                        top_applications: top_from(rows),
                    })
                }

                async fn count_user_tokens(
                    &self,
                    user_id: Id,
                    application_id: Option<Id>,
                    _now: OffsetDateTime,
                ) -> Result<RevokedCounts, StoreError> {
                    let mut query =
                        sqlx::query(count_user_tokens(application_id.is_some())).bind(user_id);
                    if let Some(a) = application_id {
                        query = query.bind(a).bind(a);
                    }
                    let row = query
                        .fetch_one(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    Ok(revoked_from(&integers(&row, USER_TOKEN_COLUMNS)?))
                }

                async fn application_activity(
                    &self,
                    now: OffsetDateTime,
                    created_before: OffsetDateTime,
                ) -> Result<Vec<ApplicationActivity>, StoreError> {
                    let rows =
                        sqlx::query_as::<_, (Id, String, String, String)>(APPLICATION_ACTIVITY)
                            .bind(to_db(now))
                            .bind(to_db(created_before))
                            .fetch_all(counted(&self.read))
                            .await
                            .map_err(map_err)?;
                    Ok(activity_from(rows))
                }

                async fn delete_application_if_inactive(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                    created_before: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_INACTIVE_APPLICATION)
                        .bind(to_db(now))
                        .bind(to_db(created_before))
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn scope_rows(
                    &self,
                    rows: ScopeRows,
                    scope: &str,
                    after_id: Id,
                    limit: u64,
                ) -> Result<Vec<(Id, String)>, StoreError> {
                    let (select, _) = scope_statements(rows);
                    sqlx::query_as::<_, (Id, String)>(select)
                        .bind(after_id)
                        .bind(containing(scope))
                        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)
                }

                async fn replace_scopes(
                    &self,
                    rows: ScopeRows,
                    changes: &[(Id, String, String)],
                ) -> Result<u64, StoreError> {
                    let (_, update) = scope_statements(rows);
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    let mut changed = 0;
                    for (id, old, new) in changes {
                        changed += sqlx::query(update)
                            .bind(id)
                            .bind(new)
                            .bind(old)
                            .execute(counted(&mut *tx))
                            .await
                            .map_err(map_err)?
                            .rows_affected();
                    }
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(changed)
                }
            }
        };
    };
}

pub(crate) use impl_operations_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_counts_what_the_revocation_changes() {
        assert_eq!(
            count_user_tokens(false),
            "SELECT \
             (SELECT COUNT(*) FROM oauth2_provider_refreshtoken \
              WHERE user_id = $1 AND revoked IS NULL), \
             (SELECT COUNT(*) FROM oauth2_provider_accesstoken WHERE user_id = $1), \
             (SELECT COUNT(*) FROM oauth2_provider_idtoken WHERE user_id = $1), \
             (SELECT COUNT(*) FROM oauth2_provider_grant \
              WHERE user_id = $1 AND consumed IS NULL), \
             (SELECT COUNT(*) FROM oauth2_provider_devicegrant \
              WHERE user_id = $1 AND status IN ('authorization-pending', 'authorized'))"
        );
        let one = count_user_tokens(true);
        assert!(
            one.contains("revoked IS NULL AND application_id = $3)"),
            "{one}"
        );
        assert!(
            one.contains(
                "AND client_id = (SELECT client_id FROM oauth2_provider_application \
                 WHERE id = $2))"
            ),
            "{one}"
        );
    }
}
