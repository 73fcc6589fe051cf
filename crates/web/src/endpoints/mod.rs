//! The protocol endpoints, one module each.

pub mod authorize;
pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;
