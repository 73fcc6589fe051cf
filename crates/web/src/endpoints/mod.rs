//! The protocol endpoints, one module each.

pub mod token;
