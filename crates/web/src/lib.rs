//! axum integration for OAuth Toolkit: the router a developer mounts (as DOT is mounted
//! under `o/`), the shared state, the HTTP error mapping and the template engine.

mod error;
mod health;
mod home;
mod router;
mod state;
pub mod templates;

pub use error::WebError;
pub use router::{router, ServerLimits};
pub use state::AppState;
pub use templates::Templates;
