//! The OAuth Toolkit protocol core.
//!
//! Pure logic: the data model, the rules of the specifications, settings, and the storage
//! traits that the `store` crate (or a library user's own tables) implements. Nothing here
//! knows an HTTP framework or SQL.

#![warn(missing_docs)]

pub mod authentication;
pub mod authorization;
pub mod clear_expired;
pub mod client_auth;
pub mod client_auth_cache;
pub mod client_secret;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod device_authorization;
pub mod device_verification;
pub mod error;
pub mod generators;
pub mod grants;
pub mod health;
pub mod hooks;
pub mod introspection;
pub mod issuance;
pub mod metadata;
pub mod models;
pub mod oidc;
pub mod params;
pub mod password;
pub mod pkce;
pub mod protected_resource;
pub mod redact;
pub mod redirect_uri;
pub mod resource_indicators;
pub mod revocation;
pub mod scopes;
pub mod settings;
pub mod slow_hash;
pub mod store;
pub mod throttle;
pub mod token_checksum;
pub mod token_derivation;
pub mod user_status;
pub mod users;

/// The attribute the storage, user-source and hook traits are written with, so an implementor
/// needs no dependency of its own.
pub use async_trait::async_trait;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::OAuthError;
pub use settings::Settings;
