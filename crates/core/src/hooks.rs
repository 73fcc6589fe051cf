//! Where an application changes the provider's decisions, each a trait with a default that
//! does what DOT does: extra claims (DOT's `get_additional_claims`), whether a user may use
//! an application (DOT's `validate_*` overrides of its validator class), the scopes an
//! application may ask for (DOT's `SCOPES_BACKEND_CLASS`) and the token values
//! (`ACCESS_TOKEN_GENERATOR` / `REFRESH_TOKEN_GENERATOR`).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::models::Application;
use crate::settings::Settings;
use crate::users::Account;

/// Where extra claims go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsTarget {
    /// Claims for an ID token.
    IdToken,
    /// Claims for a userinfo answer.
    Userinfo,
}

/// Claims added to ID tokens and userinfo answers beyond the standard ones released by
/// scope. Names the provider sets itself (`sub`, `iss`, `aud`, `exp`, `iat`, `nonce`,
/// `auth_time`, `at_hash`, `c_hash`, `sid`, `jti`) are never overwritten.
#[async_trait]
pub trait ClaimsHook: Send + Sync {
    /// The extra claims for this user, application (`None` when it no longer exists) and scopes.
    async fn additional_claims(
        &self,
        account: &Account,
        application: Option<&Application>,
        scopes: &[String],
        target: ClaimsTarget,
    ) -> Map<String, Value>;
}

/// No extra claims.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAdditionalClaims;

#[async_trait]
impl ClaimsHook for NoAdditionalClaims {
    async fn additional_claims(
        &self,
        _: &Account,
        _: Option<&Application>,
        _: &[String],
        _: ClaimsTarget,
    ) -> Map<String, Value> {
        Map::new()
    }
}

/// May this user use this application? Asked before the consent page, when a device grant
/// is confirmed, and at the password grant; `false` is `access_denied` (the password grant:
/// `invalid_grant`). Tokens already issued are not affected.
#[async_trait]
pub trait ApplicationAccess: Send + Sync {
    /// Whether this user may use this application.
    async fn may_use(&self, account: &Account, application: &Application) -> bool;
}

/// Every active user may use every application.
#[derive(Debug, Default, Clone, Copy)]
pub struct EveryoneMayUse;

#[async_trait]
impl ApplicationAccess for EveryoneMayUse {
    async fn may_use(&self, _: &Account, _: &Application) -> bool {
        true
    }
}

/// The scopes an application may ask for and gets by default (DOT's scopes backend).
pub trait ScopesBackend: Send + Sync {
    /// Scope name → description, for this application (`None`: no application yet).
    fn available_scopes(
        &self,
        settings: &Settings,
        application: Option<&Application>,
    ) -> BTreeMap<String, String>;
    /// Granted when a request names none.
    fn default_scopes(&self, settings: &Settings, application: Option<&Application>)
        -> Vec<String>;
}

/// DOT's `SettingsScopes`: `scopes` and `default_scopes` from the settings, for every
/// application alike.
#[derive(Debug, Default, Clone, Copy)]
pub struct SettingsScopes;

impl ScopesBackend for SettingsScopes {
    fn available_scopes(
        &self,
        settings: &Settings,
        _: Option<&Application>,
    ) -> BTreeMap<String, String> {
        settings.scopes()
    }
    fn default_scopes(&self, settings: &Settings, _: Option<&Application>) -> Vec<String> {
        settings.default_scope_names()
    }
}

/// Which token a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// Makes new access and refresh token values. Values must be unguessable (≥ 128 bits of
/// entropy) and at most 255 bytes; only their SHA-256 digests are stored. Not used for the
/// successors of a refresh inside a grace period, which are derived so that a replay gets
/// the same values (see [`crate::token_derivation`]).
pub trait TokenGenerator: Send + Sync {
    /// A new value for a token of this kind for this application.
    fn generate(&self, kind: TokenKind, application: Option<&Application>) -> String;
}

/// DOT's default: 30 random alphanumeric characters (≈ 178 bits).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomTokens;

impl TokenGenerator for RandomTokens {
    fn generate(&self, _: TokenKind, _: Option<&Application>) -> String {
        crate::generators::generate_token()
    }
}

/// Every hook, each defaulting to DOT's behaviour.
#[derive(Clone)]
pub struct Hooks {
    /// Extra claims for ID tokens and userinfo.
    pub claims: Arc<dyn ClaimsHook>,
    /// Whether a user may use an application.
    pub application_access: Arc<dyn ApplicationAccess>,
    /// The scopes an application may ask for and gets by default.
    pub scopes: Arc<dyn ScopesBackend>,
    /// The values of new access and refresh tokens.
    pub tokens: Arc<dyn TokenGenerator>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            claims: Arc::new(NoAdditionalClaims),
            application_access: Arc::new(EveryoneMayUse),
            scopes: Arc::new(SettingsScopes),
            tokens: Arc::new(RandomTokens),
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks").finish_non_exhaustive()
    }
}

/// The defaults, for a [`crate::context::Ctx`] built without hooks.
pub fn default_hooks() -> &'static Hooks {
    static DEFAULT: LazyLock<Hooks> = LazyLock::new(Hooks::default);
    &DEFAULT
}

/// The claim names the provider sets itself, which a hook cannot replace.
pub const RESERVED_CLAIMS: [&str; 12] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "auth_time",
    "at_hash",
    "c_hash",
    "sid",
    "jti",
];

/// Add a hook's claims to `claims` (a hook's value wins over a standard claim's, never over a
/// reserved one).
pub fn merge_claims(claims: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (name, value) in extra {
        if !RESERVED_CLAIMS.contains(&name.as_str()) {
            claims.insert(name, value);
        }
    }
}
