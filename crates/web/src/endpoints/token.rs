//! `POST token/` (RFC 6749 §3.2) and its CORS preflight.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::grants::token_request;

use crate::error::{no_store, oauth_error_response};
use crate::form::{authorization, protocol_post_params};
use crate::peer::Peer;
use crate::Provider;

pub async fn token(
    State(state): State<Provider>,
    uri: Uri,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match protocol_post_params(uri.query(), &headers, &body, "token endpoint") {
        Ok(p) => p,
        Err((_, e)) => return oauth_error_response(e),
    };
    let ctx = state.ctx().with_peer(peer);
    match token_request(&ctx, &state.grants, authorization(&headers), &params).await {
        Ok(outcome) => {
            metrics::counter!("oauth_tokens_issued_total", "grant_type" => outcome.grant_type)
                .increment(1);
            let mut resp = (StatusCode::OK, axum::Json(&outcome.response)).into_response();
            no_store(&mut resp);
            // CORS for browser clients (DOT: code and refresh responses only).
            if matches!(outcome.grant_type, "authorization_code" | "refresh_token") {
                if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
                    if outcome.client.origin_allowed(origin, &state.settings) {
                        if let Ok(v) = HeaderValue::from_str(origin) {
                            resp.headers_mut()
                                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                        }
                    }
                }
            }
            resp.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Origin"));
            resp
        }
        Err(e) => oauth_error_response(e),
    }
}

/// CORS preflight for the token endpoint (DOT has none). The preflight only lets
/// the browser send the request; whether the page may read the response is decided on the
/// response itself, against the authenticated client's `allowed_origins`.
pub async fn token_preflight(headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    if let Some(origin) = headers.get(header::ORIGIN) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    resp
}
