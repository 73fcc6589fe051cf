// Black-box tests of the resource-server side (DOT's resource-server
// decorators and permission classes), over real HTTP:
//
// - local mode: `oauth-toolkit serve --demo-api` (the tutorial endpoints, one per extractor
//   and layer), on SQLite and PostgreSQL;
// - the example binary `protected-api` in local mode (the provider's database) and in remote
//   mode against a running `serve`, a dead port, a slow server and a fake RFC 7662 server
//   that counts the calls it receives.
//
// Tokens come from the real token endpoint, except an expired one, which is written to the
// store directly (waiting for a real one to expire would only slow the suite down).

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod discovery;
mod example;
mod indicators;
mod local;
mod remote;
