//! `GET|POST introspect/` (RFC 7662): `token` in the query (GET) or the form body (POST).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::introspection::{introspect as run, Introspected, IntrospectionRequest};

use crate::error::{no_store, oauth_error_response};
use crate::form::{authorization, parse_urlencoded, protocol_post_params};
use crate::peer::Peer;
use crate::AppState;

pub async fn introspect(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_post = method == Method::POST;
    let params = if is_post {
        match protocol_post_params(uri.query(), &headers, &body, "introspection endpoint") {
            Ok(p) => p,
            Err((_, e)) => return oauth_error_response(e),
        }
    } else {
        parse_urlencoded(uri.query().unwrap_or("").as_bytes())
    };
    let ctx = state.ctx().with_peer(peer);
    let request = IntrospectionRequest {
        authorization: authorization(&headers),
        params: &params,
        credentials_in_params: is_post,
    };
    let mut resp = match run(&ctx, request).await {
        // DOT: an unauthenticated caller gets an empty 403 (see docs/design.md).
        Ok(Introspected::Denied) => StatusCode::FORBIDDEN.into_response(),
        Ok(Introspected::Answer(body)) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(e) => return oauth_error_response(e),
    };
    no_store(&mut resp);
    resp
}
