// Black-box tests of revocation (RFC 7009), introspection (RFC 7662) and authorization
// server metadata (RFC 8414) against the real binary, on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod introspect;
mod metadata;
mod revoke;
