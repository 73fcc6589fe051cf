//! What every protocol step is handed: the settings, the store and the current time.

use time::OffsetDateTime;

use crate::settings::Settings;
use crate::store::Store;

#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub store: &'a dyn Store,
    pub now: OffsetDateTime,
}

impl<'a> Ctx<'a> {
    pub fn new(settings: &'a Settings, store: &'a dyn Store, now: OffsetDateTime) -> Self {
        Self {
            settings,
            store,
            now,
        }
    }
}
