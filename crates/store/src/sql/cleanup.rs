//! `cleartokens`: batched deletion of expired rows. The statement is built from a template
//! per step, in plain Rust; the glue only binds and runs it.

use oauth_toolkit_core::clear_expired::{ClearExpiredPlan, ClearStep};

use crate::time_codec::to_db;

/// A keyset walk in id order: the subquery finds the id of the `limit`-th match above the
/// cursor (`$2`; `$3` is the limit), and the DELETE takes the matches in that id range
/// through the primary key (an `id IN (subquery)` makes PostgreSQL scan the table).
/// `{inner}` is the step's condition on the alias `x`, `{outer}` the same on `{table}`.
pub(crate) const DELETE_EXPIRED_BATCH: &str =
    "DELETE FROM {table} WHERE {table}.id > $2 AND {table}.id <= \
     (SELECT MAX(s.id) FROM (SELECT x.id FROM {table} x WHERE {inner} \
      AND x.id > $2 ORDER BY x.id LIMIT $3) s) \
     AND {outer} RETURNING id";

// The condition a row must meet per step: `{t}` stands for the row's table or alias, `$1` is
// the cutoff.
const REVOKED_REFRESH_TOKENS: &str = "{t}.revoked IS NOT NULL AND {t}.revoked <= $1";
/// No age cutoff: orphans go whatever their age (DOT 3.4.1). `$1` is bound anyway so that
/// every step takes the same parameters.
const ORPHAN_REFRESH_TOKENS: &str =
    "{t}.revoked IS NULL AND {t}.access_token_id IS NULL AND $1 = $1";
const EXPIRED_REFRESH_TOKENS: &str =
    "{t}.revoked IS NULL AND EXISTS (SELECT 1 FROM oauth2_provider_accesstoken a \
     WHERE a.id = {t}.access_token_id AND a.expires <= $1)";
const EXPIRED_ACCESS_TOKENS: &str =
    "{t}.expires < $1 AND NOT EXISTS (SELECT 1 FROM oauth2_provider_refreshtoken r \
     WHERE r.access_token_id = {t}.id)";
const EXPIRED_ID_TOKENS: &str =
    "{t}.expires < $1 AND NOT EXISTS (SELECT 1 FROM oauth2_provider_accesstoken a \
     WHERE a.id_token_id = {t}.id)";
const EXPIRED: &str = "{t}.expires < $1";
const CLOSED_WINDOW: &str = "{t}.window_end <= $1";

/// The statement of one batch of `step`, and its cutoff (`None`: the plan skips the step).
pub(crate) fn expired_batch(step: ClearStep, plan: &ClearExpiredPlan) -> (String, Option<i64>) {
    let now = to_db(plan.now);
    let (table, condition, cutoff) = match step {
        ClearStep::RevokedRefreshTokens => (
            "oauth2_provider_refreshtoken",
            REVOKED_REFRESH_TOKENS,
            plan.refresh_revoked_before.map(to_db),
        ),
        ClearStep::OrphanRefreshTokens => (
            "oauth2_provider_refreshtoken",
            ORPHAN_REFRESH_TOKENS,
            Some(now),
        ),
        ClearStep::ExpiredRefreshTokens => (
            "oauth2_provider_refreshtoken",
            EXPIRED_REFRESH_TOKENS,
            plan.refresh_expire_at.map(to_db),
        ),
        ClearStep::AccessTokens => (
            "oauth2_provider_accesstoken",
            EXPIRED_ACCESS_TOKENS,
            Some(now),
        ),
        ClearStep::IdTokens => ("oauth2_provider_idtoken", EXPIRED_ID_TOKENS, Some(now)),
        ClearStep::Grants => ("oauth2_provider_grant", EXPIRED, Some(now)),
        ClearStep::DeviceGrants => ("oauth2_provider_devicegrant", EXPIRED, Some(now)),
        ClearStep::Sessions => ("oauth_toolkit_session", EXPIRED, Some(now)),
        ClearStep::ThrottleWindows => ("oauth_toolkit_throttle", CLOSED_WINDOW, Some(now)),
    };
    let sql = DELETE_EXPIRED_BATCH
        .replace("{inner}", &condition.replace("{t}", "x"))
        .replace("{outer}", &condition.replace("{t}", table))
        .replace("{table}", table);
    (sql, cutoff)
}

macro_rules! impl_cleanup_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::clear_expired::{ClearExpiredPlan, ClearStep};
            use oauth_toolkit_core::models::Id;
            use oauth_toolkit_core::store::*;

            use crate::error::map_err;
            use crate::sql::cleanup::expired_batch;
            use crate::sql::SqlBackend;
            use crate::stats::counted;

            #[async_trait]
            impl CleanupStore for $store {
                fn single_writer(&self) -> bool {
                    <Self as SqlBackend>::SINGLE_WRITER
                }

                async fn delete_expired_batch(
                    &self,
                    step: ClearStep,
                    plan: &ClearExpiredPlan,
                    after_id: Id,
                    limit: u64,
                ) -> Result<(u64, Option<Id>), StoreError> {
                    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                    let (sql, cutoff) = expired_batch(step, plan);
                    let Some(cutoff) = cutoff else {
                        return Ok((0, None));
                    };
                    let ids: Vec<i64> = sqlx::query_scalar(&sql)
                        .bind(cutoff)
                        .bind(after_id)
                        .bind(limit)
                        .fetch_all(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok((ids.len() as u64, ids.into_iter().max()))
                }
            }
        };
    };
}

pub(crate) use impl_cleanup_store;

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn a_step_expands_to_its_delete() {
        let plan = ClearExpiredPlan {
            now: OffsetDateTime::UNIX_EPOCH,
            refresh_revoked_before: None,
            refresh_expire_at: None,
            batch_size: 10,
            batch_interval: std::time::Duration::ZERO,
            max_batch_time: None,
        };
        let (sql, cutoff) = expired_batch(ClearStep::Grants, &plan);
        assert_eq!(
            sql,
            "DELETE FROM oauth2_provider_grant WHERE oauth2_provider_grant.id > $2 AND \
             oauth2_provider_grant.id <= (SELECT MAX(s.id) FROM (SELECT x.id FROM \
             oauth2_provider_grant x WHERE x.expires < $1 AND x.id > $2 ORDER BY x.id \
             LIMIT $3) s) AND oauth2_provider_grant.expires < $1 RETURNING id"
        );
        assert_eq!(cutoff, Some(0));
        let (_, cutoff) = expired_batch(ClearStep::RevokedRefreshTokens, &plan);
        assert_eq!(cutoff, None, "a step the plan skips");
    }
}
