use std::sync::Arc;

use oauth_toolkit_core::context::Ctx;
use oauth_toolkit_core::grants::{default_grants, GrantHandler};
use oauth_toolkit_core::store::Store;
use oauth_toolkit_core::token_derivation::TokenDerivationKey;
use oauth_toolkit_core::{Clock, Settings};

use crate::templates::Templates;

/// What every handler can reach. Cheap to clone; holds nothing that must live in one
/// process only (sessions and keys are in the database or in signed cookies).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub templates: Arc<Templates>,
    /// The token endpoint's grants.
    pub grants: Arc<Vec<Box<dyn GrantHandler>>>,
    /// Master key for session cookies (≥ 32 bytes; the same in every process).
    pub secret_key: Arc<Vec<u8>>,
    /// Who is logged in (default: the provider's own cookie session).
    pub current_user: Arc<dyn crate::session::CurrentUser>,
    /// Bearer-token validation for protected APIs mounted on this state (see
    /// [`crate::resource`]): the store, then remote introspection when configured.
    pub resource: crate::resource::ResourceServer,
    /// JWKS, discovery and RFC 8414 bodies, serialised ahead (`oidc_jwks_cache_seconds`).
    pub documents: Arc<crate::documents::DocumentCache>,
    /// Recent successful client authentications (`client_authentication_cache_seconds`).
    pub client_auth_cache: Arc<oauth_toolkit_core::client_auth_cache::ClientAuthCache>,
    /// Derived from `secret_key`: the successor tokens of a refresh (see
    /// `oauth_toolkit_core::token_derivation`).
    pub token_key: Arc<TokenDerivationKey>,
}

/// Why [`AppState::new`] refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A setting the binary's loader would have refused (`Settings::validate`).
    #[error(transparent)]
    Settings(#[from] oauth_toolkit_core::settings::SettingsError),
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplateError),
    #[error("cannot derive keys from the secret key")]
    SecretKey(#[from] oauth_toolkit_core::crypto::CryptoError),
}

impl AppState {
    /// Build the state. The settings are validated here as `Settings::load` does, so a
    /// library user who builds `Settings` in code cannot skip the checks that keep every
    /// request answerable (durations that fit a timestamp, a parsable `bind`, …).
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secret_key: Vec<u8>,
    ) -> Result<Self, StateError> {
        settings.validate()?;
        let token_key = Arc::new(TokenDerivationKey::from_secret_key(&secret_key)?);
        let templates = Templates::new(settings.template_dir.as_deref().map(Into::into))?;
        let resource = crate::resource::ResourceServer::from_settings(
            &settings,
            Some(store.clone()),
            clock.clone(),
        );
        let client_auth_cache =
            Arc::new(oauth_toolkit_core::client_auth_cache::ClientAuthCache::new(
                settings.client_authentication_cache_seconds,
            ));
        let documents = Arc::new(crate::documents::DocumentCache::new(&settings));
        Ok(Self {
            token_key,
            documents,
            client_auth_cache,
            settings: Arc::new(settings),
            store,
            clock,
            templates: Arc::new(templates),
            grants: Arc::new(default_grants()),
            secret_key: Arc::new(secret_key),
            current_user: Arc::new(crate::session::CookieSessionUser),
            resource,
        })
    }

    /// Validate bearer tokens with `resource` instead of the one built from the settings.
    pub fn with_resource_server(mut self, resource: crate::resource::ResourceServer) -> Self {
        self.resource = resource;
        self
    }

    /// Use an application's own notion of the logged-in user instead of the cookie session.
    pub fn with_current_user(mut self, current_user: Arc<dyn crate::session::CurrentUser>) -> Self {
        self.current_user = current_user;
        self
    }

    /// The protocol context for one request (the clock is read once).
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx::new(&self.settings, &*self.store, self.clock.now())
            .with_client_auth_cache(&self.client_auth_cache)
            .with_token_key(&self.token_key)
    }
}

/// The session key: `secret_key` from the settings, else one generated once and stored in
/// the database, so every process of a deployment shares it.
pub async fn load_secret_key(
    settings: &Settings,
    store: &dyn Store,
) -> Result<Vec<u8>, oauth_toolkit_core::store::StoreError> {
    if let Some(k) = &settings.secret_key {
        return Ok(k.as_bytes().to_vec());
    }
    let candidate = oauth_toolkit_core::generators::random_string(
        64,
        oauth_toolkit_core::generators::ALPHANUMERIC,
    );
    let key = store.get_or_create_secret("secret_key", &candidate).await?;
    Ok(key.into_bytes())
}
