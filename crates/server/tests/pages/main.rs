#[path = "../common/mod.rs"]
#[macro_use]
mod common;
