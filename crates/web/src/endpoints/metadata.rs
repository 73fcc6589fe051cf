//! `GET .well-known/oauth-authorization-server` (RFC 8414), served under the prefix (DOT's
//! place) and at the RFC 8414 §3.1 location `/.well-known/oauth-authorization-server{prefix}`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::metadata::authorization_server_metadata;

use crate::AppState;

/// Public, identical for everyone, built from settings only: any page may read it and any
/// cache may keep it for an hour. Serialised once per [`AppState`] (`crate::documents`).
pub async fn authorization_server(State(state): State<AppState>) -> Response {
    if let Some(doc) = state.documents.metadata() {
        return doc.response();
    }
    // Only if it could not be serialised ahead (reported then): the same path as before.
    let doc = authorization_server_metadata(&state.settings);
    let mut resp = (StatusCode::OK, axum::Json(doc)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}
