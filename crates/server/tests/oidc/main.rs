// OpenID Connect, black-box over real HTTP against `oauth-toolkit serve`, on SQLite and
// PostgreSQL. Tests named `oidcc_*` mirror the OpenID conformance suite's modules of the
// Basic, Implicit, Hybrid and Config OP plans, one test per module with the
// module's expectation; where a module needs a person to look at an error page, the page's
// status and the absence of a redirect are asserted.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod basic;
mod basic_login;
mod basic_requests;
mod keys;
mod plan;
mod post;
mod variants;
