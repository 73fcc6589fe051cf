// Black-box tests of the device authorization grant (RFC 8628) over real HTTP against the
// `oauth-toolkit serve` binary, on SQLite and PostgreSQL, adapted where
// we fix DOT. The user's side goes through the real login form and pages.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod endpoint;
mod hostile;
mod pages;
mod polling;
mod tokens;
