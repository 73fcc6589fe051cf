//! The health report of `oauth-toolkit health` and `GET /health/details`: whether the
//! database answers, and the state of the tokens. `healthy`; `warning` when more than 80% of
//! the access tokens have expired (time to run `cleartokens`); `unhealthy` when the database
//! cannot be reached or counted.

use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{Stats, Store};

/// Above this share of expired access tokens the status is `warning`.
pub const EXPIRED_RATIO_WARNING: f64 = 0.8;

/// The report; counts are `None` when the database could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// `healthy`, `warning` or `unhealthy`.
    pub status: &'static str,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    /// Unexpired access tokens.
    pub live_access_tokens: Option<u64>,
    /// Expired access tokens over all access tokens (0 when there are none).
    pub expired_ratio: Option<f64>,
    /// Registered applications.
    pub applications: Option<u64>,
    /// Access tokens created in the last hour.
    pub access_tokens_last_hour: Option<u64>,
}

impl HealthReport {
    /// The report of a database that answered with these counts.
    pub fn from_stats(stats: &Stats) -> Self {
        let ratio = if stats.access_tokens == 0 {
            0.0
        } else {
            let expired = stats.access_tokens.saturating_sub(stats.live_access_tokens);
            expired as f64 / stats.access_tokens as f64
        };
        HealthReport {
            status: if ratio > EXPIRED_RATIO_WARNING {
                "warning"
            } else {
                "healthy"
            },
            database: "ok",
            live_access_tokens: Some(stats.live_access_tokens),
            expired_ratio: Some(ratio),
            applications: Some(stats.applications),
            access_tokens_last_hour: Some(stats.access_tokens_last_hour),
        }
    }

    /// The report of a database that could not be reached or read.
    pub fn unreachable() -> Self {
        HealthReport {
            status: "unhealthy",
            database: "unreachable",
            live_access_tokens: None,
            expired_ratio: None,
            applications: None,
            access_tokens_last_hour: None,
        }
    }

    /// Whether the status is `unhealthy` (exit 1, HTTP 503).
    pub fn is_unhealthy(&self) -> bool {
        self.status == "unhealthy"
    }
}

/// Ping the store and count; any failure (or a store without [`Store::operations`]) is
/// `unhealthy`, with the cause for the log.
pub async fn check(store: &dyn Store, now: OffsetDateTime) -> (HealthReport, Option<String>) {
    if let Err(e) = store.ping().await {
        return (
            HealthReport::unreachable(),
            Some(format!("the database does not answer: {e}")),
        );
    }
    let Some(ops) = store.operations() else {
        return (
            HealthReport::unreachable(),
            Some("this store does not offer the statistics".into()),
        );
    };
    match ops.stats(now).await {
        Ok(stats) => (HealthReport::from_stats(&stats), None),
        Err(e) => (
            HealthReport::unreachable(),
            Some(format!("cannot count the tokens: {e}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(total: u64, live: u64) -> Stats {
        Stats {
            access_tokens: total,
            live_access_tokens: live,
            ..Stats::default()
        }
    }

    #[test]
    fn warning_above_eighty_percent_expired() {
        assert_eq!(HealthReport::from_stats(&stats(0, 0)).status, "healthy");
        assert_eq!(
            HealthReport::from_stats(&stats(10, 2)).status,
            "healthy",
            "0.8 exactly"
        );
        let r = HealthReport::from_stats(&stats(100, 5));
        assert_eq!(r.status, "warning");
        assert_eq!(r.expired_ratio, Some(0.95));
        assert!(HealthReport::unreachable().is_unhealthy());
        assert!(!r.is_unhealthy());
    }
}
