//! OAuth Toolkit for axum: a [`Provider`] built once from settings, storage, users and hooks
//! ([`Provider::builder`]), which hands out its parts as routers that nest into an existing
//! app (as DOT is mounted under `o/`): [`Provider::endpoints`], [`Provider::well_known`],
//! [`Provider::login_pages`], [`Provider::home`], [`Provider::health`]; the layers the
//! binary adds ([`server_layers`]); [`CurrentUser`] for an app with its own login; and
//! [`resource`], the extractors and layers that protect an app's own API with the
//! provider's tokens. Building fails with [`Error`]. `docs/library.md` walks through it.

#![warn(missing_docs)]

/// The value of a `Result<T, Response>`, or return the page it holds: the handlers' `?`,
/// for steps that answer a refusal with a page of their own.
macro_rules! or_page {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(page) => return page,
        }
    };
}

mod admin;
mod assets;
mod csrf;
mod documents;
mod endpoints;
mod error;
mod form;
mod health;
mod home;
mod metrics;
mod pages;
mod peer;
pub mod resource;
mod router;
mod serve;
mod session;
mod state;
mod templates;

pub use error::{no_store, oauth_error_response, Error};
pub use router::{router, router_with, server_layers, ServerLimits};
pub use serve::serve;
pub use session::{CookieSessionUser, CurrentUser, SessionUser};
pub use state::{load_secret_key, Provider, ProviderBuilder, ProviderParts};
pub use templates::Templates;
