//! axum integration for OAuth Toolkit: the router a developer mounts (as DOT is mounted
//! under `o/`), the shared state, the HTTP error mapping and the template engine.

#![warn(missing_docs)]

mod csrf;
mod documents;
mod endpoints;
mod error;
mod form;
mod health;
mod home;
mod pages;
mod peer;
pub mod resource;
mod router;
mod serve;
mod session;
mod state;
mod templates;

pub(crate) use error::WebError;
pub use error::{no_store, oauth_error_response, Error};
pub use router::{router, router_with, server_layers, ServerLimits};
pub use serve::serve;
pub use session::{CookieSessionUser, CurrentUser, SessionUser};
pub use state::{load_secret_key, Provider, ProviderBuilder, ProviderParts};
pub use templates::Templates;
