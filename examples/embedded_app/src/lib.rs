//! An existing axum app that mounts the oauth-toolkit provider: its own `/`, `/health`,
//! fallback, API and users (in its own database, with string subjects), and the provider's
//! protocol endpoints nested under `/oauth/`. Two programs share it:
//!
//! - `embedded-app-own-login`: the app's own login page at `/login`; the provider asks the
//!   app who is signed in through a [`oauth_toolkit_axum::CurrentUser`].
//! - `embedded-app-provider-login`: the provider's login pages (`/accounts/login/`), which
//!   check passwords through the app's [`oauth_toolkit_core::users::UserSource`].
//!
//! `docs/library.md` walks through this code.

pub mod app;
pub mod own_login;
pub mod users;
