//! The token endpoint over real HTTP against the real binary, on SQLite and PostgreSQL:
//! every grant, client authentication, DOT's refresh rules, code replay, CORS, and refresh races across two server processes.
//! Happy paths go through the `oauth2` crate, a real OAuth 2.0 client library.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod codes;
mod cors;
mod errors;
mod grants;
mod races;
mod refresh;
