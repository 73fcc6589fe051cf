//! DOT's `clear_expired()` (the `cleartokens` command), step for step:
//! which rows go is decided here; the store deletes them in bounded batches.
//!
//! On SQLite the batches are also bounded in time and paced (see [`SINGLE_WRITER_BATCH_TIME`]):
//! SQLite has one write lock for the whole file, and a server beside `cleartokens` that wants
//! it does not queue for it but retries with growing sleeps (the busy handler), so back-to-back
//! batches would starve token issuance for the whole run.

use std::future::Future;
use std::time::{Duration as StdDuration, Instant};

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
    /// 8. expired login sessions.
    Sessions,
    /// 9. closed throttle windows.
    ThrottleWindows,
}

impl ClearStep {
    /// A short name for logs and reports (`revoked refresh tokens`, …).
    pub fn name(self) -> &'static str {
        match self {
            ClearStep::RevokedRefreshTokens => "revoked refresh tokens",
            ClearStep::OrphanRefreshTokens => "orphaned refresh tokens",
            ClearStep::ExpiredRefreshTokens => "expired refresh tokens",
            ClearStep::AccessTokens => "expired access tokens",
            ClearStep::IdTokens => "expired ID tokens",
            ClearStep::Grants => "expired grants",
            ClearStep::DeviceGrants => "expired device grants",
            ClearStep::Sessions => "expired sessions",
            ClearStep::ThrottleWindows => "closed throttle windows",
        }
    }
}

/// The cutoffs of one run, computed once from the settings and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ClearExpiredPlan {
    /// The instant expiry is measured against.
    pub now: OffsetDateTime,
    /// Refresh tokens revoked at or before this go; `None`: revoked ones are kept.
    pub refresh_revoked_before: Option<OffsetDateTime>,
    /// Refresh tokens whose access token expired at or before this go; `None`: they never
    /// expire.
    pub refresh_expire_at: Option<OffsetDateTime>,
    /// Rows deleted per batch (at least 1).
    pub batch_size: u64,
    /// The pause between batches.
    pub batch_interval: StdDuration,
    /// `Some(t)`: on a store with a single writer for the whole database
    /// ([`CleanupStore::single_writer`], SQLite) each batch is sized to hold the write lock
    /// about `t` (never more than `batch_size` rows) and is followed by a pause at least as
    /// long as it took (see [`SINGLE_WRITER_BATCH_TIME`]). Other stores run DOT's loop.
    pub max_batch_time: Option<StdDuration>,
}

/// How long one `cleartokens` batch may hold SQLite's write lock. A writer of another
/// process (the server issuing tokens) that finds the lock taken sleeps and retries — SQLite's
/// default busy handler, after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 then every 100 ms —
/// and never queues, so it only gets in if a retry falls in a gap between two batches. Hence
/// on SQLite: batches of about this long (the row count adapts to the measured rate), each
/// followed by a pause of its own duration plus [`LOCK_RETRY_MARGIN`], which is at least the
/// retry interval of a writer that began waiting during the batch. A waiting writer then waits
/// at most about one batch, at the cost of roughly doubling the run time.
pub const SINGLE_WRITER_BATCH_TIME: StdDuration = StdDuration::from_millis(10);

/// Added to the pause after a paced batch: the busy handler's retry interval after `w` ms of
/// waiting is at most `w + 2` ms.
pub const LOCK_RETRY_MARGIN: StdDuration = StdDuration::from_millis(2);

/// The first paced batch, and the smallest, in rows (or `batch_size` if smaller).
const PACED_MIN_ROWS: u64 = 100;

impl ClearExpiredPlan {
    /// The plan for a run at `now` under `settings`.
    pub fn new(settings: &Settings, now: OffsetDateTime) -> Self {
        let grace = settings.provider.refresh_token_grace_period_seconds;
        let refresh_expire_at = settings
            .provider
            .refresh_token_expire_seconds
            .filter(|s| *s > 0)
            .map(|s| now.saturating_sub(seconds(s)));
        let refresh_revoked_before = if settings.provider.refresh_token_reuse_protection {
            // Revoked tokens are the evidence for reuse detection: keep them as long as
            // refresh tokens live (forever when they never expire).
            refresh_expire_at
        } else {
            Some(now.saturating_sub(seconds(grace)))
        };
        Self {
            now,
            refresh_revoked_before,
            refresh_expire_at,
            batch_size: settings.provider.clear_expired_tokens_batch_size.max(1),
            batch_interval: StdDuration::from_secs_f64(
                settings
                    .provider
                    .clear_expired_tokens_batch_interval
                    .max(0.0),
            ),
            max_batch_time: Some(SINGLE_WRITER_BATCH_TIME),
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
            ClearStep::Sessions,
            ClearStep::ThrottleWindows,
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
    /// Each step run and the number of rows it deleted, in order.
    pub deleted: Vec<(ClearStep, u64)>,
}

impl ClearExpiredReport {
    /// The rows deleted by every step together.
    pub fn total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }

    /// The rows the given step deleted (0 if it did not run).
    pub fn count(&self, step: ClearStep) -> u64 {
        self.deleted
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The size of the next batch and the pause after each one.
#[derive(Debug)]
struct Pacer {
    limit: u64,
    max: u64,
    interval: StdDuration,
    time: Option<StdDuration>,
}

impl Pacer {
    #[cfg(test)]
    fn new(plan: &ClearExpiredPlan) -> Self {
        Self::paced(plan, plan.max_batch_time)
    }

    /// `time`: the batch time to pace to, `None` for DOT's plain loop.
    fn paced(plan: &ClearExpiredPlan, time: Option<StdDuration>) -> Self {
        let limit = match time {
            Some(_) => plan.batch_size.min(PACED_MIN_ROWS),
            None => plan.batch_size,
        };
        Self {
            limit,
            max: plan.batch_size,
            interval: plan.batch_interval,
            time,
        }
    }

    /// After a batch of `self.limit` rows that took `took`: the pause before the next one,
    /// and the next size (the rows that fit in the time at this batch's rate, at most twice
    /// this batch, within `PACED_MIN_ROWS..=batch_size`).
    fn full_batch(&mut self, took: StdDuration) -> StdDuration {
        let Some(target) = self.time else {
            return self.interval;
        };
        let fit = self.limit as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-6);
        self.limit = (fit as u64)
            .min(self.limit.saturating_mul(2))
            .clamp(PACED_MIN_ROWS.min(self.max), self.max);
        self.pause(took)
    }

    /// After the last (partial) batch of a step: DOT does not sleep; a paced run still leaves
    /// the lock free before the next step's first batch.
    fn last_batch(&self, took: StdDuration) -> StdDuration {
        match self.time {
            Some(_) => self.pause(took),
            None => StdDuration::ZERO,
        }
    }

    fn pause(&self, took: StdDuration) -> StdDuration {
        self.interval.max(took + LOCK_RETRY_MARGIN)
    }
}

/// Run every step in batches of at most `plan.batch_size` (paced on SQLite, see
/// [`ClearExpiredPlan::max_batch_time`]), calling `sleep` between batches — `batch_interval`
/// or the pacing pause, whichever is longer — until each step finds nothing more. Memory
/// stays flat: no rows are loaded.
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
    let mut pause = StdDuration::ZERO;
    // Pacing only helps where one writer locks everything; PostgreSQL locks rows.
    let paced = plan.max_batch_time.filter(|_| store.single_writer());
    for step in plan.steps() {
        let mut pacer = Pacer::paced(plan, paced);
        let (mut total, mut batches) = (0u64, 0u64);
        let mut cursor = 0;
        loop {
            if !pause.is_zero() {
                sleep(pause).await;
            }
            let limit = pacer.limit;
            let started = Instant::now();
            let (n, last) = store
                .delete_expired_batch(step, plan, cursor, limit)
                .await?;
            let took = started.elapsed();
            total += n;
            batches += 1;
            match last {
                Some(last) if n >= limit => {
                    cursor = last;
                    pause = pacer.full_batch(took);
                }
                _ => {
                    pause = pacer.last_batch(took);
                    break;
                }
            }
        }
        tracing::info!(step = step.name(), deleted = total, batches, "cleartokens");
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
                ClearStep::DeviceGrants,
                ClearStep::Sessions,
                ClearStep::ThrottleWindows
            ]
        );
    }

    #[test]
    fn grace_and_expiry() {
        let settings = {
            let mut built = Settings::default();
            built.provider.refresh_token_grace_period_seconds = 120;
            built.provider.refresh_token_expire_seconds = Some(500);
            built
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
        let settings = {
            let mut built = Settings::default();
            built.provider.refresh_token_reuse_protection = true;
            built
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(plan.refresh_revoked_before, None);
        assert!(!plan.steps().contains(&ClearStep::RevokedRefreshTokens));
        let settings = {
            let mut built = Settings::default();
            built.provider.refresh_token_reuse_protection = true;
            built.provider.refresh_token_expire_seconds = Some(60);
            built
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
        /// Pretend to be SQLite (one writer for the whole database).
        single_writer: bool,
    }

    #[async_trait::async_trait]
    impl CleanupStore for Counting {
        fn single_writer(&self) -> bool {
            self.single_writer
        }

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
        let settings = {
            let mut built = Settings::default();
            built.provider.clear_expired_tokens_batch_size = 10;
            built.provider.clear_expired_tokens_batch_interval = 0.001;
            built
        };
        let mut plan = ClearExpiredPlan::new(&settings, now());
        plan.max_batch_time = None; // DOT's loop, as on PostgreSQL
        let store = Counting {
            remaining: Default::default(),
            single_writer: false,
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

    #[tokio::test]
    async fn paced_on_a_single_writer_only() {
        let settings = {
            let mut built = Settings::default();
            built.provider.clear_expired_tokens_batch_size = 10;
            built
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(plan.max_batch_time, Some(SINGLE_WRITER_BATCH_TIME));
        // The same plan on a store with row locks: DOT's loop, no pauses at interval 0.
        let store = Counting {
            remaining: Default::default(),
            single_writer: false,
        };
        let sleeps = std::sync::atomic::AtomicUsize::new(0);
        let report = clear_expired(&store, &plan, |_| {
            sleeps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {}
        })
        .await
        .unwrap();
        assert_eq!(report.total(), 25 * plan.steps().len() as u64);
        // Unpaced: a zero interval means no sleep at all.
        assert_eq!(sleeps.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn pacer_fits_the_time_and_pauses_as_long() {
        let ms = StdDuration::from_millis;
        let settings = {
            let mut built = Settings::default();
            built.provider.clear_expired_tokens_batch_size = 1000;
            built
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        let mut p = Pacer::new(&plan);
        assert_eq!(p.limit, PACED_MIN_ROWS);
        // Fast batches grow at most twofold, up to batch_size.
        assert_eq!(p.full_batch(ms(1)), ms(1) + LOCK_RETRY_MARGIN);
        assert_eq!(p.limit, 200);
        p.full_batch(ms(1));
        p.full_batch(ms(1));
        assert_eq!(p.limit, 800);
        p.full_batch(ms(1));
        assert_eq!(p.limit, 1000);
        // 1000 rows in 20 ms: 500 fit in 10 ms.
        assert_eq!(p.full_batch(ms(20)), ms(22));
        assert_eq!(p.limit, 500);
        // A batch slowed down (waiting for the lock) shrinks it, not below the floor.
        p.full_batch(ms(1000));
        assert_eq!(p.limit, PACED_MIN_ROWS);
        assert_eq!(p.last_batch(ms(3)), ms(5));
        // A longer batch_interval wins; without pacing it is DOT's plain interval.
        let settings = {
            let mut built = settings;
            built.provider.clear_expired_tokens_batch_interval = 0.5;
            built
        };
        let mut plan = ClearExpiredPlan::new(&settings, now());
        assert_eq!(Pacer::new(&plan).full_batch(ms(1)), ms(500));
        plan.max_batch_time = None;
        let mut p = Pacer::new(&plan);
        assert_eq!(p.limit, 1000);
        assert_eq!(p.full_batch(ms(1000)), ms(500));
        assert_eq!(p.limit, 1000);
        assert_eq!(p.last_batch(ms(1)), StdDuration::ZERO);
    }

    #[tokio::test]
    async fn paced_run_pauses_after_every_batch() {
        let settings = {
            let mut built = Settings::default();
            built.provider.clear_expired_tokens_batch_size = 10;
            built
        };
        let plan = ClearExpiredPlan::new(&settings, now());
        assert!(plan.max_batch_time.is_some());
        let store = Counting {
            remaining: Default::default(),
            single_writer: true,
        };
        let sleeps = std::sync::Mutex::new(Vec::new());
        let report = clear_expired(&store, &plan, |d| {
            sleeps.lock().unwrap().push(d);
            async {}
        })
        .await
        .unwrap();
        assert_eq!(report.total(), 25 * plan.steps().len() as u64);
        // Three batches per step, a pause after each but the very last one.
        let sleeps = sleeps.into_inner().unwrap();
        assert_eq!(sleeps.len(), 3 * plan.steps().len() - 1);
        assert!(sleeps.iter().all(|d| *d >= LOCK_RETRY_MARGIN));
    }
}
