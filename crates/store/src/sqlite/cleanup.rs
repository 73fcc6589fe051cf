//! `CleanupStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::clear_expired::{ClearExpiredPlan, ClearStep};
use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::store::*;

use super::connection::Run;
use super::SqliteStore;
use crate::sql::cleanup::expired_batch;

#[async_trait]
impl CleanupStore for SqliteStore {
    fn single_writer(&self) -> bool {
        true
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
        let ids = self
            .write(move |c| c.scalars::<i64>(&sql, &[&cutoff, &after_id, &limit]))
            .await?;
        Ok((ids.len() as u64, ids.into_iter().max()))
    }
}
