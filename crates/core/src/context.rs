//! What every protocol step is handed: the settings, the store and the current time.

use time::OffsetDateTime;

use crate::client_auth_cache::ClientAuthCache;
use crate::settings::Settings;
use crate::store::Store;

#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub store: &'a dyn Store,
    pub now: OffsetDateTime,
    /// This process's memory of recent client authentications (`None`: always check).
    pub client_auth_cache: Option<&'a ClientAuthCache>,
}

impl<'a> Ctx<'a> {
    pub fn new(settings: &'a Settings, store: &'a dyn Store, now: OffsetDateTime) -> Self {
        Self {
            settings,
            store,
            now,
            client_auth_cache: None,
        }
    }

    /// Remember successful client authentications in `cache`.
    pub fn with_client_auth_cache(mut self, cache: &'a ClientAuthCache) -> Self {
        self.client_auth_cache = Some(cache);
        self
    }
}
