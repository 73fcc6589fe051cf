//! Black-box tests of the `oauth-toolkit` binary: every subcommand, on SQLite and on a real
//! PostgreSQL, through the process's exit code, stdout and stderr, and the database after.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod application_commands;
mod applications;
mod commands;
mod maintenance;
mod operations;
mod serve;
