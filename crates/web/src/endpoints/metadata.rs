//! `GET .well-known/oauth-authorization-server` (RFC 8414), served under the prefix (DOT's
//! place) and at the RFC 8414 §3.1 location `/.well-known/oauth-authorization-server{prefix}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Provider;

/// Public, identical for everyone, built from settings only: any page may read it and any
/// cache may keep it for an hour. Serialised once per [`Provider`] (`crate::documents`), with
/// its CORS and `Cache-Control` headers.
pub async fn authorization_server(State(state): State<Provider>) -> Response {
    match state.documents.metadata() {
        Some(doc) => doc.response(),
        // Serialising it failed when the state was built (logged then); serialising it again
        // here would fail the same way, as `axum::Json` did before the cache.
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
