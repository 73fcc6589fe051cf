//! Removing expired rows (`cleartokens`).

use async_trait::async_trait;

use super::*;
use crate::models::*;

/// Batched deletion for `cleartokens` (see [`crate::clear_expired`]).
#[async_trait]
pub trait CleanupStore: Send + Sync {
    /// Delete at most `limit` rows matching `step` under `plan` whose id is above `after_id`,
    /// lowest ids first. Returns how many went and the highest id deleted, which the caller
    /// passes as the next `after_id` (a keyset walk: no batch rescans what earlier ones
    /// deleted, which PostgreSQL would otherwise wade through as dead tuples).
    async fn delete_expired_batch(
        &self,
        step: crate::clear_expired::ClearStep,
        plan: &crate::clear_expired::ClearExpiredPlan,
        after_id: Id,
        limit: u64,
    ) -> Result<(u64, Option<Id>), StoreError>;
    /// True when one writer locks the whole database (SQLite): `cleartokens` then paces its
    /// batches so that other writers get in between (see `clear_expired`).
    fn single_writer(&self) -> bool {
        false
    }
}
