//! axum integration for OAuth Toolkit: the router a developer mounts (as DOT is mounted
//! under `o/`), the shared state, the HTTP error mapping and the template engine.

pub mod csrf;
pub mod documents;
pub mod endpoints;
mod error;
pub mod form;
mod health;
mod home;
pub mod pages;
pub mod peer;
pub mod resource;
mod router;
mod serve;
pub mod session;
mod state;
pub mod templates;

pub(crate) use error::WebError;
pub use error::{no_store, oauth_error_response, Error};
pub use router::{router, router_with, server_layers, ServerLimits};
pub use serve::serve;
pub use session::{CookieSessionUser, CurrentUser, SessionUser};
pub(crate) use state::Provider as AppState;
pub use state::{load_secret_key, Provider, ProviderBuilder, ProviderParts};
pub use templates::Templates;
