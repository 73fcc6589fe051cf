//! A small bounded cache of validation answers, keyed by the token's SHA-256 digest (the
//! plaintext is never kept). Entries expire on the monotonic clock; when the cache is full,
//! expired entries are dropped first, then about a tenth of the rest (arbitrary ones), so
//! a flood of distinct tokens costs bounded memory and never blocks for long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ValidToken;

/// Default bound on entries (a few MB at most).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

struct Entry {
    until: Instant,
    /// `None`: a remembered negative answer.
    value: Option<Arc<ValidToken>>,
}

pub(crate) struct TtlCache {
    map: Mutex<HashMap<String, Entry>>,
    max_entries: usize,
}

impl TtlCache {
    pub fn new(max_entries: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(answer)` on a live hit (`Some(None)`: a remembered negative), `None` on a miss.
    pub fn get(&self, key: &str) -> Option<Option<Arc<ValidToken>>> {
        let now = Instant::now();
        let mut map = self.lock();
        match map.get(key) {
            Some(e) if e.until > now => Some(e.value.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remember `value` for `ttl` (nothing when `ttl` is zero).
    pub fn insert(&self, key: String, value: Option<Arc<ValidToken>>, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let Some(until) = now.checked_add(ttl) else {
            return;
        };
        let mut map = self.lock();
        if map.len() >= self.max_entries && !map.contains_key(&key) {
            map.retain(|_, e| e.until > now);
            if map.len() >= self.max_entries {
                let target = self.max_entries - self.max_entries / 10 - 1;
                let excess = map.len().saturating_sub(target);
                let victims: Vec<String> = map.keys().take(excess).cloned().collect();
                for k in victims {
                    map.remove(&k);
                }
            }
        }
        map.insert(key, Entry { until, value });
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let c = TtlCache::new(100);
        for i in 0..1000 {
            c.insert(format!("k{i}"), None, Duration::from_secs(60));
            assert!(c.len() <= 100);
        }
        c.insert("gone".into(), None, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get("gone").is_none());
        c.insert("zero".into(), None, Duration::ZERO);
        assert!(c.get("zero").is_none());
        c.insert("neg".into(), None, Duration::from_secs(5));
        assert!(matches!(c.get("neg"), Some(None)));
    }
}
