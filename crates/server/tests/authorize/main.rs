// Black-box tests of the authorization endpoint, login and logout, over real HTTP against
// the `oauth-toolkit serve` binary, on SQLite and PostgreSQL, with DOT's
// behaviour where the RFCs allow it and the RFC's where DOT differs.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod consent;
mod errors;
mod flows;
mod login;
