//! DOT's `clear_expired()` (the `cleartokens` command), step for step (inventory §7.8):
//! which rows go is decided here; the store deletes them in bounded batches.

use std::future::Future;
use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};

use crate::settings::Settings;
use crate::store::{CleanupStore, StoreError};

/// One kind of row that `cleartokens` removes, in DOT's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearStep {
    /// 1. refresh tokens revoked at or before `refresh_revoked_before`.
    RevokedRefreshTokens,
    /// 2. live refresh tokens without an access token (orphans), whatever their age.
    OrphanRefreshTokens,
    /// 3. live refresh tokens whose access token expired at or before `refresh_expire_at`.
    ExpiredRefreshTokens,
    /// 4. expired access tokens that no refresh token points at.
    AccessTokens,
    /// 5. expired ID tokens that no access token points at.
    IdTokens,
    /// 6. expired authorization codes.
    Grants,
    /// 7. expired device authorizations.
    DeviceGrants,
}

impl ClearStep {
    pub fn name(self) -> &'static str {
        match self {
            ClearStep::RevokedRefreshTokens => "revoked refresh tokens",
            ClearStep::OrphanRefreshTokens => "orphaned refresh tokens",
            ClearStep::ExpiredRefreshTokens => "expired refresh tokens",
            ClearStep::AccessTokens => "expired access tokens",
            ClearStep::IdTokens => "expired ID tokens",
            ClearStep::Grants => "expired grants",
            ClearStep::DeviceGrants => "expired device grants",
        }
    }
}

/// The cutoffs of one run, computed once from the settings and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ClearExpiredPlan {
    pub now: OffsetDateTime,
    pub refresh_revoked_before: Option<OffsetDateTime>,
    pub refresh_expire_at: Option<OffsetDateTime>,
    pub batch_size: u64,
    pub batch_interval: StdDuration,
}

impl ClearExpiredPlan {
    pub fn new(settings: &Settings, now: OffsetDateTime) -> Self {
        let grace = settings.refresh_token_grace_period_seconds;
        let refresh_expire_at = settings
            .refresh_token_expire_seconds
            .filter(|s| *s > 0)
            .map(|s| now - seconds(s));
        let refresh_revoked_before = if settings.refresh_token_reuse_protection {
            // Revoked tokens are the evidence for reuse detection: keep them as long as
            // refresh tokens live (forever when they never expire).
            refresh_expire_at
        } else {
            Some(now - seconds(grace))
        };
        Self {
            now,
            refresh_revoked_before,
            refresh_expire_at,
            batch_size: settings.clear_expired_tokens_batch_size.max(1),
            batch_interval: StdDuration::from_secs_f64(
                settings.clear_expired_tokens_batch_interval.max(0.0),
            ),
        }
    }

    /// The steps that apply, in order.
    pub fn steps(&self) -> Vec<ClearStep> {
        let mut steps = Vec::new();
        if self.refresh_revoked_before.is_some() {
            steps.push(ClearStep::RevokedRefreshTokens);
        }
        steps.push(ClearStep::OrphanRefreshTokens);
        if self.refresh_expire_at.is_some() {
            steps.push(ClearStep::ExpiredRefreshTokens);
        }
        steps.extend([
            ClearStep::AccessTokens,
            ClearStep::IdTokens,
            ClearStep::Grants,
            ClearStep::DeviceGrants,
        ]);
        steps
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

/// How many rows each step removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearExpiredReport {
    pub deleted: Vec<(ClearStep, u64)>,
}

impl ClearExpiredReport {
    pub fn total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }

    pub fn count(&self, step: ClearStep) -> u64 {
        self.deleted
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Run every step in batches of `plan.batch_size`, calling `sleep(batch_interval)` between
/// batches, until each step finds nothing more. Memory stays flat: no rows are loaded.
pub async fn clear_expired<S, F, Fut>(
    store: &S,
    plan: &ClearExpiredPlan,
    sleep: F,
) -> Result<ClearExpiredReport, StoreError>
where
    S: CleanupStore + ?Sized,
    F: Fn(StdDuration) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut report = ClearExpiredReport::default();
    for step in plan.steps() {
        let mut total = 0u64;
        let mut cursor = 0;
        loop {
            let (n, last) = store
                .delete_expired_batch(step, plan, cursor, plan.batch_size)
                .await?;
            total += n;
            match last {
                Some(last) if n >= plan.batch_size => cursor = last,
                _ => break,
            }
            if !plan.batch_interval.is_zero() {
                sleep(plan.batch_interval).await;
            }
        }
        tracing::info!(step = step.name(), deleted = total, "cleartokens");
        report.deleted.push((step, total));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn default_plan_matches_dot() {
        let plan = ClearExpiredPlan::new(&Settings::default(), now());
        assert_eq!(plan.refresh_revoked_before, Some(now()));
        assert_eq!(plan.refresh_expire_at, None);
        assert_eq!(
            plan.steps(),
            vec![
                ClearStep::RevokedRefreshTokens,
                ClearStep::OrphanRefreshTokens,
                ClearStep::AccessTokens,
                ClearStep::IdTokens,
                ClearStep::Grants,
                ClearStep::DeviceGrants
            ]
        );
    }

    #[test]
    fn grace_and_expiry() {
        let settings = Settings {
            refresh_token_grace_period_seconds: 120,
            refresh_token_expire_seconds: Some(500),
            ..Settings::default()
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(
            plan.refresh_revoked_before,
            Some(now() - Duration::seconds(120))
        );
        assert_eq!(plan.refresh_expire_at, Some(now() - Duration::seconds(500)));
        assert!(plan.steps().contains(&ClearStep::ExpiredRefreshTokens));
    }

    #[test]
    fn reuse_protection_keeps_revoked_tokens() {
        let settings = Settings {
            refresh_token_reuse_protection: true,
            ..Settings::default()
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(plan.refresh_revoked_before, None);
        assert!(!plan.steps().contains(&ClearStep::RevokedRefreshTokens));
        let settings = Settings {
            refresh_token_reuse_protection: true,
            refresh_token_expire_seconds: Some(60),
            ..Settings::default()
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(
            plan.refresh_revoked_before,
            Some(now() - Duration::seconds(60))
        );
    }

    /// A store that pretends each step has `n` rows, to test the batching loop.
    struct Counting {
        remaining: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
    }

    #[async_trait::async_trait]
    impl CleanupStore for Counting {
        async fn delete_expired_batch(
            &self,
            step: ClearStep,
            _plan: &ClearExpiredPlan,
            after_id: crate::models::Id,
            limit: u64,
        ) -> Result<(u64, Option<crate::models::Id>), StoreError> {
            let mut map = self.remaining.lock().unwrap();
            let left = map.entry(step.name()).or_insert(25);
            let n = (*left).min(limit);
            *left -= n;
            // Ids 1..=25 per step; the cursor must advance past what was deleted.
            let last = (n > 0).then(|| after_id + n as i64);
            assert_eq!(
                after_id,
                25 - (*left + n) as i64,
                "cursor follows the deletions"
            );
            Ok((n, last))
        }
    }

    #[tokio::test]
    async fn batches_until_done_and_sleeps_between() {
        let settings = Settings {
            clear_expired_tokens_batch_size: 10,
            clear_expired_tokens_batch_interval: 0.001,
            ..Settings::default()
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        let store = Counting {
            remaining: Default::default(),
        };
        let sleeps = std::sync::atomic::AtomicUsize::new(0);
        let report = clear_expired(&store, &plan, |_| {
            sleeps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {}
        })
        .await
        .unwrap();
        assert_eq!(report.count(ClearStep::AccessTokens), 25);
        assert_eq!(report.total(), 25 * plan.steps().len() as u64);
        // 25 rows in batches of 10: full, full, partial → 2 sleeps per step.
        assert_eq!(
            sleeps.load(std::sync::atomic::Ordering::SeqCst),
            2 * plan.steps().len()
        );
    }
}
