//! OpenID Connect provider (OIDC Core 1.0, Discovery 1.0, RP-Initiated Logout 1.0) on top of
//! the OAuth 2.0 core: keys and JWKS, ID tokens, claims, discovery, userinfo and
//! RP-initiated logout (`logout/`, routed and advertised while
//! `oidc_rp_initiated_logout_enabled`).

pub mod claims;
pub mod discovery;
pub mod id_token;
pub mod keys;
pub mod logout;
pub mod userinfo;

pub use id_token::{
    attach_id_token, create_id_token, prepare_id_token, verify_id_token, wants_id_token,
    IdTokenSpec, PreparedIdToken,
};
pub use keys::{key_set, KeySet};
