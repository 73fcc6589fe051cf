//! What every protocol step is handed: the settings, the store and the current time.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::client_auth_cache::ClientAuthCache;
use crate::hooks::{default_hooks, Hooks};
use crate::settings::Settings;
use crate::store::Store;
use crate::token_derivation::TokenDerivationKey;
use crate::users::UserSource;

/// What every protocol step is handed: the settings, the store, the current time and the
/// optional extras below.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The provider's settings.
    pub settings: &'a Settings,
    /// Where the provider's rows live.
    pub store: &'a dyn Store,
    /// The time the step runs at (one instant for the whole request).
    pub now: OffsetDateTime,
    /// This process's memory of recent client authentications (`None`: always check).
    pub client_auth_cache: Option<&'a ClientAuthCache>,
    /// The address the request came from, when known (the throttles key on it).
    pub peer: Option<IpAddr>,
    /// Derives the successor tokens of a refresh from the old refresh token, so that a
    /// grace-period replay gets them again without their values being stored (`None`: the
    /// successors are random and, with digest-only storage, a replay is refused).
    pub token_key: Option<&'a TokenDerivationKey>,
    /// The application's own users (`None`: the provider's user table; see [`crate::users`]).
    pub users: Option<&'a dyn UserSource>,
    /// The application's hooks (defaults: DOT's behaviour).
    pub hooks: &'a Hooks,
}

impl<'a> Ctx<'a> {
    /// A context with the default hooks and none of the optional extras.
    pub fn new(settings: &'a Settings, store: &'a dyn Store, now: OffsetDateTime) -> Self {
        Self {
            settings,
            store,
            now,
            client_auth_cache: None,
            peer: None,
            token_key: None,
            users: None,
            hooks: default_hooks(),
        }
    }

    /// The request came from `peer`.
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// Remember successful client authentications in `cache`.
    pub fn with_client_auth_cache(mut self, cache: &'a ClientAuthCache) -> Self {
        self.client_auth_cache = Some(cache);
        self
    }

    /// Ask `users` about users instead of the provider's user table.
    pub fn with_users(mut self, users: Option<&'a dyn UserSource>) -> Self {
        self.users = users;
        self
    }

    /// Decide with `hooks`.
    pub fn with_hooks(mut self, hooks: &'a Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Derive refresh successors with `key` (see [`crate::token_derivation`]).
    pub fn with_token_key(mut self, key: &'a TokenDerivationKey) -> Self {
        self.token_key = Some(key);
        self
    }
}
