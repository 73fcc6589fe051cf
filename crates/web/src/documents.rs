//! The provider's public documents — `.well-known/jwks.json`, `.well-known/openid-configuration`
//! and the RFC 8414 metadata — serialised ahead and served from memory.
//!
//! The RFC 8414 document depends on the settings only (fixed per [`Provider`]): it is built
//! once. The JWKS and the discovery document also depend on the signing keys, which live in
//! the database so that every process of a deployment agrees: a process re-reads them when its
//! copy is older than `oidc_jwks_cache_seconds` (the TTL), and serialises again only when the
//! list of keys changed. One request refreshes at a time; meanwhile the others keep serving the
//! previous bodies for at most half a TTL more, then wait for the refresh. So a body served at
//! time `t` was read from the database at or after `t − 1.5 × TTL`, and a key added to the
//! database is in every process's JWKS 1.5 TTL later; it starts signing only after
//! [`oauth_toolkit_core::oidc::keys::activation_delay`] (2 × TTL), so relying parties that
//! refetch the JWKS on an unknown `kid` always find it.
//!
//! A hit does no database statement, no serialisation, and allocates only the response.

use std::future::Future;
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use oauth_toolkit_core::error::OAuthError;
use oauth_toolkit_core::metadata::authorization_server_metadata;
use oauth_toolkit_core::oidc::discovery::openid_configuration;
use oauth_toolkit_core::oidc::{key_set, KeySet};
use oauth_toolkit_core::{Clock, Settings};
use time::{Duration, OffsetDateTime};

use crate::Provider;

/// Discovery and RFC 8414 metadata: DOT's header (they change only with a deployment).
const DOCUMENT_CACHE_CONTROL: &str = "public, max-age=3600";

/// A JSON body ready to send, with its `Cache-Control` value.
#[derive(Clone)]
pub struct Prepared {
    body: Bytes,
    cache_control: Option<HeaderValue>,
}

impl Prepared {
    fn new(body: Vec<u8>, cache_control: Option<HeaderValue>) -> Self {
        Self {
            body: Bytes::from(body),
            cache_control,
        }
    }

    /// `200`, `application/json`, CORS for any origin, the cache header. Cloning the body and
    /// the header values only bumps reference counts.
    pub fn response(&self) -> Response {
        let mut resp = Response::new(Body::from(self.body.clone()));
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        if let Some(v) = &self.cache_control {
            h.insert(header::CACHE_CONTROL, v.clone());
        }
        resp
    }

    #[cfg(test)]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// The documents built from one read of the signing keys.
pub struct KeyedDocuments {
    /// When the read that produced them started (a bound on how old they are).
    read_at: OffsetDateTime,
    /// What the bodies depend on: the published `kid`s in order (a `kid` is the thumbprint of
    /// the public key, which also fixes `alg`).
    kids: Vec<String>,
    pub jwks: Prepared,
    pub discovery: Prepared,
}

/// Why the documents could not be served.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the document could not be serialised: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// The cache, one per [`Provider`].
pub struct DocumentCache {
    ttl: Duration,
    jwks_cache_control: Option<HeaderValue>,
    /// RFC 8414 metadata: `None` only if it could not be serialised (then answered 500,
    /// which reports the error).
    metadata: Option<Prepared>,
    current: RwLock<Option<Arc<KeyedDocuments>>>,
    /// Held by the one request that reads the keys.
    refresh: tokio::sync::Mutex<()>,
}

impl DocumentCache {
    pub fn new(settings: &Settings) -> Self {
        let n = settings.oidc.oidc_jwks_max_age_seconds;
        let jwks_cache_control = HeaderValue::from_str(&format!(
            "public, max-age={n}, stale-while-revalidate={n}, stale-if-error={n}"
        ))
        .ok();
        let metadata = serde_json::to_vec(&authorization_server_metadata(settings))
            .map(|body| Prepared::new(body, Some(HeaderValue::from_static(DOCUMENT_CACHE_CONTROL))))
            .map_err(|e| tracing::error!(error = %e, "cannot serialise the RFC 8414 metadata"))
            .ok();
        Self {
            ttl: Duration::seconds(
                i64::try_from(settings.oidc.oidc_jwks_cache_seconds).unwrap_or(i64::MAX),
            ),
            jwks_cache_control,
            metadata,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The RFC 8414 document.
    pub fn metadata(&self) -> Option<&Prepared> {
        self.metadata.as_ref()
    }

    /// The JWKS and discovery documents of `state`'s deployment.
    pub async fn keyed(&self, state: &Provider) -> Result<Arc<KeyedDocuments>, OAuthError> {
        self.get(&*state.clock, &state.settings, || async {
            let ctx = state.ctx();
            key_set(&ctx).await
        })
        .await
    }

    /// The documents, reading the keys with `load` only when the copy has expired.
    pub async fn get<F, Fut>(
        &self,
        clock: &dyn Clock,
        settings: &Settings,
        load: F,
    ) -> Result<Arc<KeyedDocuments>, OAuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<KeySet, OAuthError>>,
    {
        if self.ttl <= Duration::ZERO {
            // No cache: every request reads the keys (and a new key signs at once).
            let read_at = clock.now();
            let keys = load().await?;
            return self.build(read_at, &keys, settings, None).map(Arc::new);
        }
        let now = clock.now();
        if let Some(docs) = self.current() {
            let age = now - docs.read_at;
            if self.fresh(age) {
                return Ok(docs);
            }
            // Stale: one request refreshes, the others keep serving these bodies meanwhile.
            if let Ok(guard) = self.refresh.try_lock() {
                return self.refresh_locked(guard, clock, settings, load).await;
            }
            if self.servable(age) {
                return Ok(docs);
            }
        }
        // The first fill, or too old to serve: wait for the refresher and use its result.
        let guard = self.refresh.lock().await;
        self.refresh_locked(guard, clock, settings, load).await
    }

    fn current(&self) -> Option<Arc<KeyedDocuments>> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, docs: Arc<KeyedDocuments>) {
        match self.current.write() {
            Ok(mut c) => *c = Some(docs),
            Err(poisoned) => *poisoned.into_inner() = Some(docs),
        }
    }

    /// Young enough to serve without reading the keys. A negative age (the clock stepped
    /// back) is not: read again.
    fn fresh(&self, age: Duration) -> bool {
        age >= Duration::ZERO && age < self.ttl
    }

    /// Still servable while another request refreshes (or after a failed refresh).
    fn servable(&self, age: Duration) -> bool {
        age >= Duration::ZERO && age < self.ttl.saturating_add(self.ttl / 2)
    }

    async fn refresh_locked<F, Fut>(
        &self,
        _guard: tokio::sync::MutexGuard<'_, ()>,
        clock: &dyn Clock,
        settings: &Settings,
        load: F,
    ) -> Result<Arc<KeyedDocuments>, OAuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<KeySet, OAuthError>>,
    {
        let read_at = clock.now();
        let previous = self.current();
        if let Some(docs) = &previous {
            // Refreshed while this request waited for the lock.
            if self.fresh(read_at - docs.read_at) {
                return Ok(docs.clone());
            }
        }
        match load().await {
            Ok(keys) => {
                let docs = Arc::new(self.build(read_at, &keys, settings, previous.as_deref())?);
                self.store(docs.clone());
                Ok(docs)
            }
            Err(e) => match previous {
                Some(docs) if self.servable(clock.now() - docs.read_at) => {
                    tracing::warn!(error = %e, "cannot read the signing keys; serving the previous JWKS");
                    Ok(docs)
                }
                _ => Err(e),
            },
        }
    }

    /// The documents of `keys`; the previous bodies again when the keys did not change.
    fn build(
        &self,
        read_at: OffsetDateTime,
        keys: &KeySet,
        settings: &Settings,
        previous: Option<&KeyedDocuments>,
    ) -> Result<KeyedDocuments, OAuthError> {
        let kids: Vec<String> = keys.keys.iter().map(|k| k.kid.clone()).collect();
        if let Some(p) = previous.filter(|p| p.kids == kids) {
            return Ok(KeyedDocuments {
                read_at,
                kids,
                jwks: p.jwks.clone(),
                discovery: p.discovery.clone(),
            });
        }
        let serialise = |e: serde_json::Error| OAuthError::server_error(DocumentError::from(e));
        let jwks = serde_json::to_vec(&keys.jwks()).map_err(serialise)?;
        let discovery =
            serde_json::to_vec(&openid_configuration(settings, keys)).map_err(serialise)?;
        Ok(KeyedDocuments {
            read_at,
            kids,
            jwks: Prepared::new(jwks, self.jwks_cache_control.clone()),
            discovery: Prepared::new(
                discovery,
                Some(HeaderValue::from_static(DOCUMENT_CACHE_CONTROL)),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use oauth_toolkit_core::oidc::keys::{generate, parse_cached, KeyAlgorithm};
    use oauth_toolkit_core::FixedClock;

    use super::*;

    fn settings(ttl: u64) -> Settings {
        {
            let mut built = Settings::default();
            built.oidc.oidc_jwks_cache_seconds = ttl;
            built.server.issuer = Some("http://localhost".into());
            built
        }
    }

    fn key_set(n: usize) -> KeySet {
        let keys = (0..n)
            .map(|_| {
                let new = generate(KeyAlgorithm::ES256).unwrap();
                parse_cached(&new.algorithm, &new.private_key).unwrap()
            })
            .collect();
        KeySet::new(keys)
    }

    fn start() -> FixedClock {
        FixedClock::new(time::macros::datetime!(2030-01-01 00:00 UTC))
    }

    /// `get` with a loader that counts its calls and answers `keys`.
    async fn get(
        cache: &DocumentCache,
        clock: &FixedClock,
        s: &Settings,
        loads: &AtomicUsize,
        keys: &KeySet,
    ) -> Arc<KeyedDocuments> {
        cache
            .get(clock, s, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(keys.clone())
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn hits_do_not_read_and_expiry_reads_once() {
        let s = settings(10);
        let cache = DocumentCache::new(&s);
        let clock = start();
        let loads = AtomicUsize::new(0);
        let keys = key_set(1);
        let first = get(&cache, &clock, &s, &loads, &keys).await;
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let jwks: serde_json::Value = serde_json::from_slice(first.jwks.body()).unwrap();
        assert_eq!(jwks, keys.jwks());
        let disco: serde_json::Value = serde_json::from_slice(first.discovery.body()).unwrap();
        assert_eq!(
            disco["jwks_uri"],
            "http://localhost/o/.well-known/jwks.json"
        );
        assert_eq!(disco["id_token_signing_alg_values_supported"][0], "ES256");

        clock.advance(Duration::milliseconds(9_999));
        for _ in 0..100 {
            let hit = get(&cache, &clock, &s, &loads, &keys).await;
            // The very same bytes: no serialisation on a hit.
            assert_eq!(hit.jwks.body().as_ptr(), first.jwks.body().as_ptr());
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "no read within the TTL");

        // Expired: read again; the keys did not change, so the bodies are reused.
        clock.advance(Duration::milliseconds(1));
        let again = get(&cache, &clock, &s, &loads, &keys).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        assert_eq!(again.jwks.body().as_ptr(), first.jwks.body().as_ptr());
        assert_eq!(
            again.discovery.body().as_ptr(),
            first.discovery.body().as_ptr()
        );
        get(&cache, &clock, &s, &loads, &keys).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2, "fresh again");

        // A new key: new bodies after the next expiry.
        let mut rotated = key_set(1);
        rotated.keys.extend(keys.keys.iter().cloned());
        let rotated = KeySet::new(rotated.keys);
        clock.advance(Duration::seconds(10));
        let new = get(&cache, &clock, &s, &loads, &rotated).await;
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        let jwks: serde_json::Value = serde_json::from_slice(new.jwks.body()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

        // The clock stepped back: read again rather than trust the age.
        clock.advance(Duration::seconds(-60));
        get(&cache, &clock, &s, &loads, &rotated).await;
        assert_eq!(loads.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn one_refresher_while_the_others_serve_the_previous_bodies() {
        let s = settings(10);
        let cache = Arc::new(DocumentCache::new(&s));
        let clock = Arc::new(start());
        let keys = key_set(1);
        let loads = AtomicUsize::new(0);
        let first = get(&cache, &clock, &s, &loads, &keys).await;
        clock.advance(Duration::seconds(12)); // stale, within the grace of half a TTL

        // The refresher blocks on `release` inside its read.
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let (entered_tx, entered) = tokio::sync::oneshot::channel::<()>();
        let newer = KeySet::new({
            let mut k = key_set(1).keys;
            k.extend(keys.keys.iter().cloned());
            k
        });
        let refresher = {
            let (cache, clock, s, newer) = (cache.clone(), clock.clone(), s.clone(), newer.clone());
            tokio::spawn(async move {
                cache
                    .get(&*clock, &s, || async move {
                        let _ = entered_tx.send(());
                        let _ = wait.await;
                        Ok(newer)
                    })
                    .await
                    .unwrap()
            })
        };
        entered.await.unwrap();
        for _ in 0..50 {
            let served = cache
                .get(&*clock, &s, || async {
                    panic!("a second reader while one is refreshing")
                })
                .await
                .unwrap();
            assert_eq!(served.jwks.body().as_ptr(), first.jwks.body().as_ptr());
        }
        release.send(()).unwrap();
        let refreshed = refresher.await.unwrap();
        assert_ne!(refreshed.jwks.body(), first.jwks.body());
        let now = get(&cache, &clock, &s, &loads, &keys).await;
        assert_eq!(now.jwks.body().as_ptr(), refreshed.jwks.body().as_ptr());
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_fill_and_a_too_old_copy_are_waited_for() {
        let s = settings(10);
        let cache = Arc::new(DocumentCache::new(&s));
        let clock = Arc::new(start());
        let keys = key_set(1);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, clock, s, keys, loads) = (
                cache.clone(),
                clock.clone(),
                s.clone(),
                keys.clone(),
                loads.clone(),
            );
            tasks.push(tokio::spawn(async move {
                cache
                    .get(&*clock, &s, || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(keys)
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut bodies = Vec::new();
        for t in tasks {
            bodies.push(t.await.unwrap().jwks.body().as_ptr());
        }
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "no stampede on the first fill"
        );
        assert!(bodies.iter().all(|p| *p == bodies[0]));

        // Older than 1.5 TTL: not served any more; while one request refreshes, the others
        // wait for it and take its result.
        clock.advance(Duration::seconds(15));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let (entered_tx, entered) = tokio::sync::oneshot::channel::<()>();
        let refresher = {
            let (cache, clock, s, keys) = (cache.clone(), clock.clone(), s.clone(), keys.clone());
            tokio::spawn(async move {
                cache
                    .get(&*clock, &s, || async move {
                        let _ = entered_tx.send(());
                        let _ = wait.await;
                        Ok(keys)
                    })
                    .await
                    .unwrap()
            })
        };
        entered.await.unwrap();
        let waiter = {
            let (cache, clock, s) = (cache.clone(), clock.clone(), s.clone());
            tokio::spawn(async move {
                cache
                    .get(&*clock, &s, || async {
                        panic!("the refresher reads, not this one")
                    })
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "a copy 1.5 TTL old is not served");
        release.send(()).unwrap();
        let (a, b) = (refresher.await.unwrap(), waiter.await.unwrap());
        assert_eq!(a.jwks.body().as_ptr(), b.jwks.body().as_ptr());
        assert_eq!(a.read_at, clock.now());
    }

    #[tokio::test]
    async fn failed_refresh_serves_the_previous_bodies_for_half_a_ttl() {
        let s = settings(10);
        let cache = DocumentCache::new(&s);
        let clock = start();
        let loads = AtomicUsize::new(0);
        let keys = key_set(1);
        let first = get(&cache, &clock, &s, &loads, &keys).await;
        let failing = || async { Err(OAuthError::server_error("database down")) };
        clock.advance(Duration::seconds(14));
        let served = cache.get(&clock, &s, failing).await.unwrap();
        assert_eq!(served.jwks.body().as_ptr(), first.jwks.body().as_ptr());
        clock.advance(Duration::seconds(1));
        assert!(cache.get(&clock, &s, failing).await.is_err(), "fail closed");
    }

    #[tokio::test]
    async fn ttl_zero_reads_every_time() {
        let s = settings(0);
        let cache = DocumentCache::new(&s);
        let clock = start();
        let loads = AtomicUsize::new(0);
        let keys = key_set(1);
        for _ in 0..3 {
            get(&cache, &clock, &s, &loads, &keys).await;
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn metadata_is_built_once_with_the_headers_of_before() {
        let s = settings(5);
        let cache = DocumentCache::new(&s);
        let m = cache.metadata().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(m.body()).unwrap();
        assert_eq!(
            doc,
            serde_json::to_value(authorization_server_metadata(&s)).unwrap()
        );
        let resp = m.response();
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(
            cache.jwks_cache_control.as_ref().unwrap(),
            "public, max-age=3600, stale-while-revalidate=3600, stale-if-error=3600"
        );
    }
}
