//! The protocol endpoints, one module each.

pub mod authorize;
pub mod device_authorization;
pub mod form_post;
pub mod introspect;
pub mod metadata;
pub mod oidc;
pub mod oidc_logout;
pub mod revoke;
pub mod token;
