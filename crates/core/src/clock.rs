//! Injected time, so expiry is tested without sleeping.

use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// A source of the current time. Timestamps are truncated to microseconds, the precision
/// that both storage backends keep, so a value read back equals the value written.
pub trait Clock: Send + Sync + 'static {
    /// The current time, truncated to microseconds.
    fn now(&self) -> OffsetDateTime;
}

/// Truncate to whole microseconds.
pub fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

/// The wall clock, in UTC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<OffsetDateTime>,
}

impl FixedClock {
    /// A clock stopped at `now` (truncated to microseconds).
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(truncate_to_micros(now)),
        }
    }

    /// Move the clock to `now` (truncated to microseconds).
    pub fn set(&self, now: OffsetDateTime) {
        let mut guard = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *guard = truncate_to_micros(now);
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut guard = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *guard += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_advances() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = FixedClock::new(start);
        clock.advance(Duration::seconds(61));
        assert_eq!(clock.now() - start, Duration::seconds(61));
    }

    #[test]
    fn system_clock_is_truncated_to_micros() {
        let now = SystemClock.now();
        assert_eq!(now.nanosecond() % 1000, 0);
    }
}
