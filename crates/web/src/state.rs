//! The [`Provider`]: settings, storage, users and hooks, built once and shared by every
//! request (one `Arc`, so a clone per request is one reference count).

use std::ops::Deref;
use std::sync::Arc;

use oauth_toolkit_core::client_auth_cache::ClientAuthCache;
use oauth_toolkit_core::context::Ctx;
use oauth_toolkit_core::grants::{default_grants, GrantHandler};
use oauth_toolkit_core::hooks::{
    ApplicationAccess, ClaimsHook, Hooks, ScopesBackend, TokenGenerator,
};
use oauth_toolkit_core::store::Store;
use oauth_toolkit_core::token_derivation::TokenDerivationKey;
use oauth_toolkit_core::users::UserSource;
use oauth_toolkit_core::{Clock, Settings, SystemClock};

use crate::documents::DocumentCache;
use crate::resource::ResourceServer;
use crate::session::{CookieSessionUser, CurrentUser};
use crate::templates::Templates;
use crate::Error;

/// The OAuth 2.0 / OpenID Connect provider: what every handler reaches, and the routers to
/// mount ([`Provider::endpoints`], [`Provider::login_pages`], …). Cheap to clone; holds
/// nothing that must live in one process only (sessions and keys are in the database or in
/// cookies sealed with the shared secret key).
#[derive(Clone)]
pub struct Provider(Arc<ProviderParts>);

/// What a [`Provider`] holds (reachable inside this crate through `Deref`).
pub struct ProviderParts {
    pub(crate) settings: Settings,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) templates: Templates,
    /// The token endpoint's grants.
    pub(crate) grants: Vec<Box<dyn GrantHandler>>,
    /// Master key for session cookies (≥ 32 bytes; the same in every process).
    pub(crate) secret_key: Vec<u8>,
    /// Who is logged in (default: the provider's own cookie session).
    pub(crate) current_user: Arc<dyn CurrentUser>,
    /// The application's own users (`None`: the provider's user table).
    pub(crate) users: Option<Arc<dyn UserSource>>,
    pub(crate) hooks: Hooks,
    /// Bearer-token validation for protected APIs mounted with this provider.
    pub(crate) resource: ResourceServer,
    /// JWKS, discovery and RFC 8414 bodies, serialised ahead (`oidc_jwks_cache_seconds`).
    pub(crate) documents: DocumentCache,
    /// Recent successful client authentications (`client_authentication_cache_seconds`).
    pub(crate) client_auth_cache: ClientAuthCache,
    /// Derived from `secret_key`: the successor tokens of a refresh.
    pub(crate) token_key: TokenDerivationKey,
}

impl Deref for Provider {
    type Target = ProviderParts;
    fn deref(&self) -> &ProviderParts {
        &self.0
    }
}

impl Provider {
    /// Start building a provider on `settings` and `store` (see [`ProviderBuilder`]).
    pub fn builder(settings: Settings, store: Arc<dyn Store>) -> ProviderBuilder {
        ProviderBuilder {
            settings,
            store,
            clock: Arc::new(SystemClock),
            secret_key: None,
            current_user: None,
            users: None,
            hooks: Hooks::default(),
            resource: None,
        }
    }

    /// A provider with the defaults and a given clock and secret key (tests, and callers
    /// that loaded the key themselves).
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secret_key: Vec<u8>,
    ) -> Result<Self, Error> {
        let mut b = Self::builder(settings, store).clock(clock);
        b.secret_key = Some(secret_key);
        b.assemble()
    }

    /// The settings the provider runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The storage.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The bearer-token validation for an application's API (what the extractors of
    /// [`crate::resource`] use through `FromRef`).
    pub fn resource_server(&self) -> &ResourceServer {
        &self.resource
    }

    /// The issuer: the provider's public URL followed by where its endpoints are mounted.
    pub fn issuer(&self) -> String {
        oauth_toolkit_core::metadata::issuer(&self.settings)
    }

    /// Where the endpoints must be nested (`url_prefix`, or the path of the issuer given to
    /// [`ProviderBuilder::issuer`]); empty for the root.
    pub fn mount_path(&self) -> &str {
        &self.settings.server.url_prefix
    }

    /// The protocol context for one request (the clock is read once).
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx::new(&self.settings, &*self.store, self.clock.now())
            .with_client_auth_cache(&self.client_auth_cache)
            .with_token_key(&self.token_key)
            .with_users(self.users.as_deref())
            .with_hooks(&self.hooks)
    }
}

/// Builds a [`Provider`]: every part has a default except the settings and the storage.
pub struct ProviderBuilder {
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secret_key: Option<Vec<u8>>,
    current_user: Option<Arc<dyn CurrentUser>>,
    users: Option<Arc<dyn UserSource>>,
    hooks: Hooks,
    resource: Option<ResourceServer>,
}

impl ProviderBuilder {
    /// The clock (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The key that seals session cookies and derives refresh successors, the same in every
    /// process (default: `secret_key` from the settings, else one generated once and kept in
    /// the database).
    pub fn secret_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// The provider's public issuer URL, path included (`https://app.example/oauth`): the
    /// endpoints are then to be nested at its path (`/oauth`), and every URL in the metadata,
    /// the ID tokens and the device flow follows. Replaces the `issuer` and `url_prefix`
    /// settings.
    pub fn issuer(mut self, issuer: &str) -> Self {
        let trimmed = issuer.trim_end_matches('/');
        let path_start = trimmed
            .find("://")
            .map(|i| i + 3)
            .and_then(|host| trimmed[host..].find('/').map(|p| host + p));
        match path_start {
            Some(p) => {
                self.settings.server.issuer = Some(trimmed[..p].to_string());
                self.settings.server.url_prefix = trimmed[p..].to_string();
            }
            None => {
                self.settings.server.issuer = Some(trimmed.to_string());
                self.settings.server.url_prefix = String::new();
            }
        }
        self
    }

    /// The application's own users ([`UserSource`]); the provider's user table then only
    /// holds a link row per subject (see [`oauth_toolkit_core::users`]).
    pub fn users(mut self, users: impl UserSource + 'static) -> Self {
        self.users = Some(Arc::new(users));
        self
    }

    /// Who is logged in, from the application's own login (default: the provider's cookie
    /// session, set by its login pages).
    pub fn current_user(mut self, current_user: impl CurrentUser + 'static) -> Self {
        self.current_user = Some(Arc::new(current_user));
        self
    }

    /// Extra claims for ID tokens and userinfo (DOT's `get_additional_claims`).
    pub fn claims(mut self, hook: impl ClaimsHook + 'static) -> Self {
        self.hooks.claims = Arc::new(hook);
        self
    }

    /// Whether a user may use an application.
    pub fn application_access(mut self, hook: impl ApplicationAccess + 'static) -> Self {
        self.hooks.application_access = Arc::new(hook);
        self
    }

    /// The scopes each application may ask for (DOT's scopes backend).
    pub fn scopes(mut self, backend: impl ScopesBackend + 'static) -> Self {
        self.hooks.scopes = Arc::new(backend);
        self
    }

    /// How token values are made (DOT's `ACCESS_TOKEN_GENERATOR`).
    pub fn token_generator(mut self, generator: impl TokenGenerator + 'static) -> Self {
        self.hooks.tokens = Arc::new(generator);
        self
    }

    /// Every hook at once.
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Validate bearer tokens with `resource` instead of the one the settings describe.
    pub fn resource_server(mut self, resource: ResourceServer) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Check the settings (as `Settings::load` does, so settings built in code cannot skip
    /// the checks), load the secret key when none was given, and build the provider.
    pub async fn build(mut self) -> Result<Provider, Error> {
        if self.secret_key.is_none() {
            self.settings.validate()?;
            self.secret_key = Some(load_secret_key(&self.settings, &*self.store).await?);
        }
        self.assemble()
    }

    fn assemble(self) -> Result<Provider, Error> {
        let settings = self.settings;
        settings.validate()?;
        // The slow hash gate's fair queues learn the caller from the request's task-local.
        oauth_toolkit_core::slow_hash::set_caller_source(crate::peer::current_caller);
        let secret_key = self.secret_key.unwrap_or_default();
        let token_key = TokenDerivationKey::from_secret_key(&secret_key)?;
        let mut templates =
            Templates::new(settings.server.template_dir.as_deref().map(Into::into))?;
        templates.set_globals(&settings);
        let resource = self.resource.unwrap_or_else(|| {
            ResourceServer::from_settings_with_users(
                &settings,
                Some(self.store.clone()),
                self.users.clone(),
                self.clock.clone(),
            )
        });
        Ok(Provider(Arc::new(ProviderParts {
            token_key,
            documents: DocumentCache::new(&settings),
            client_auth_cache: ClientAuthCache::new(
                settings.provider.client_authentication_cache_seconds,
            ),
            store: self.store,
            clock: self.clock,
            templates,
            grants: default_grants(),
            secret_key,
            current_user: self
                .current_user
                .unwrap_or_else(|| Arc::new(CookieSessionUser)),
            users: self.users,
            hooks: self.hooks,
            resource,
            settings,
        })))
    }
}

/// The session key: `secret_key` from the settings, else one generated once and stored in
/// the database, so every process of a deployment shares it.
pub async fn load_secret_key(
    settings: &Settings,
    store: &dyn Store,
) -> Result<Vec<u8>, oauth_toolkit_core::store::StoreError> {
    if let Some(k) = &settings.server.secret_key {
        return Ok(k.as_bytes().to_vec());
    }
    let candidate = oauth_toolkit_core::generators::random_string(
        64,
        oauth_toolkit_core::generators::ALPHANUMERIC,
    );
    let key = store.get_or_create_secret("secret_key", &candidate).await?;
    Ok(key.into_bytes())
}
