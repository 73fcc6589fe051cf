//! A short-lived, per-process memory of successful client authentications.
//!
//! The token and introspection endpoints authenticate the client on every request: read the
//! application by `client_id`, then verify the presented secret against its hash. For a busy
//! client that is one database round trip (and, for a short secret hashed with argon2id,
//! ~20 ms of CPU) per request spent re-proving what was proven a moment ago. This cache maps
//! `HMAC(process key, client_id ‖ 0 ‖ secret)` to the application for a few seconds
//! (`client_authentication_cache_seconds`):
//!
//! - the secret itself is never stored, only a digest keyed with a random per-process key, so
//!   a memory dump of the cache does not help verify guesses offline;
//! - only successes are cached: a wrong secret always takes the full path (and its cost);
//! - the price is staleness: a deleted application or a changed secret keeps working in each
//!   process that cached it for at most the TTL (default 5 s, at most 60). `0` turns it off.
//!
//! Bounded: at most [`MAX_ENTRIES`] entries; when full, expired entries are dropped, and if
//! none are, the whole map is cleared (a flood of distinct valid credentials is not a thing an
//! attacker can produce without valid secrets).

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use crate::models::Application;

/// Most entries kept at once.
pub const MAX_ENTRIES: usize = 10_000;

type Fingerprint = [u8; 32];

/// A per-process memory of successful client authentications (see the module docs).
pub struct ClientAuthCache {
    ttl: Duration,
    key: [u8; 32],
    entries: Mutex<HashMap<Fingerprint, (Application, OffsetDateTime)>>,
}

impl std::fmt::Debug for ClientAuthCache {
    // Never print the key or the cached applications (they hold secret hashes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuthCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ClientAuthCache {
    /// A cache keeping successes for `ttl_seconds` (0: a cache that never remembers).
    pub fn new(ttl_seconds: u64) -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::thread_rng(), &mut key);
        Self {
            ttl: Duration::seconds(ttl_seconds.min(3600) as i64),
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether it remembers anything (a TTL above 0).
    pub fn is_enabled(&self) -> bool {
        self.ttl > Duration::ZERO
    }

    /// `None` when no MAC can be computed: then nothing is cached or found (a shared
    /// placeholder fingerprint would let any credentials hit any cached application).
    fn fingerprint(&self, client_id: &str, secret: &str) -> Option<Fingerprint> {
        crate::crypto::hmac_sha256(&self.key, &[client_id.as_bytes(), &[0], secret.as_bytes()]).ok()
    }

    /// The application these exact credentials authenticated as within the TTL.
    pub fn get(&self, client_id: &str, secret: &str, now: OffsetDateTime) -> Option<Application> {
        if !self.is_enabled() {
            return None;
        }
        let fp = self.fingerprint(client_id, secret)?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&fp) {
            Some((app, expires)) if *expires > now => Some(app.clone()),
            Some(_) => {
                entries.remove(&fp);
                None
            }
            None => None,
        }
    }

    /// Remember a successful authentication.
    pub fn put(&self, client_id: &str, secret: &str, app: &Application, now: OffsetDateTime) {
        if !self.is_enabled() {
            return;
        }
        let Some(fp) = self.fingerprint(client_id, secret) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(fp, (app.clone(), now + self.ttl));
    }

    /// Forget everything (after this process changes an application).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// How many entries it holds, expired ones included.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether it holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(client_id: &str) -> Application {
        use crate::models::{Algorithm, ClientType, GrantType};
        Application {
            id: 1,
            client_id: client_id.into(),
            user_id: None,
            redirect_uris: String::new(),
            post_logout_redirect_uris: String::new(),
            client_type: ClientType::Confidential,
            authorization_grant_type: GrantType::ClientCredentials,
            client_secret: String::new(),
            hash_client_secret: true,
            name: String::new(),
            skip_authorization: false,
            algorithm: Algorithm::None,
            allowed_origins: String::new(),
            created: OffsetDateTime::UNIX_EPOCH,
            updated: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn remembers_exact_credentials_for_the_ttl() {
        let cache = ClientAuthCache::new(5);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        cache.put("id", "secret", &app("id"), t0);
        assert_eq!(
            cache.get("id", "secret", t0).map(|a| a.client_id),
            Some("id".into())
        );
        // Another secret, another id, or the same bytes split differently: a miss.
        assert!(cache.get("id", "secreT", t0).is_none());
        assert!(cache.get("other", "secret", t0).is_none());
        assert!(cache.get("ids", "ecret", t0).is_none());
        // Expired at exactly the TTL, and the entry is dropped.
        assert!(cache
            .get("id", "secret", t0 + Duration::milliseconds(4_999))
            .is_some());
        assert!(cache
            .get("id", "secret", t0 + Duration::seconds(5))
            .is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn zero_ttl_never_remembers() {
        let cache = ClientAuthCache::new(0);
        let t0 = OffsetDateTime::UNIX_EPOCH;
        cache.put("id", "s", &app("id"), t0);
        assert!(cache.get("id", "s", t0).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn bounded() {
        let cache = ClientAuthCache::new(5);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for i in 0..MAX_ENTRIES {
            cache.put(&format!("id{i}"), "s", &app("x"), t0);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // Full, all expired: the expired ones go, the new one stays.
        let later = t0 + Duration::seconds(6);
        cache.put("new", "s", &app("new"), later);
        assert_eq!(cache.len(), 1);
        // Full of live entries: the map is cleared for the new one.
        for i in 1..MAX_ENTRIES {
            cache.put(&format!("id{i}"), "s", &app("x"), later);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache.put("last", "s", &app("last"), later);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("last", "s", later).is_some());
    }

    #[test]
    fn different_processes_fingerprint_differently() {
        let a = ClientAuthCache::new(5);
        let b = ClientAuthCache::new(5);
        assert_ne!(a.fingerprint("id", "s"), b.fingerprint("id", "s"));
        assert!(a.fingerprint("id", "s").is_some_and(|fp| fp != [0; 32]));
    }
}
