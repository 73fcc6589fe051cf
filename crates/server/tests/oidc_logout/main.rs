// OpenID Connect RP-Initiated Logout 1.0, black-box over real HTTP against `oauth-toolkit
// serve`, on SQLite and PostgreSQL. Tests named `oidcc_rp_initiated_logout*` mirror the
// modules of the conformance suite's RP-Initiated Logout OP plan, one test per
// module with its expectation (where a module wants a screenshot of an error page, the page's
// status, message and the absence of a redirect are asserted). Tests named `dot_*` check DOT's
// behaviour.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod conformance;
mod dot;
mod sessions;
