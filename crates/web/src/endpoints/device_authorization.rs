//! `POST device-authorization/` (RFC 8628 §3.1–3.2). The protocol is in
//! `oauth_toolkit_core::device_authorization`; like the token endpoint it takes a form body
//! only (a `; charset=…` parameter is fine), answers JSON with
//! `Cache-Control: no-store`, and errors in RFC 6749 §5.2 form.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::device_authorization::device_authorization as authorize_device;

use crate::error::{no_store, oauth_error_response};
use crate::form::{authorization, protocol_post_params};
use crate::peer::Peer;
use crate::Provider;

pub async fn device_authorization(
    State(state): State<Provider>,
    uri: Uri,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match protocol_post_params(
        uri.query(),
        &headers,
        &body,
        "device authorization endpoint",
    ) {
        Ok(p) => p,
        Err((_, e)) => return oauth_error_response(e),
    };
    let ctx = state.ctx().with_peer(peer);
    match authorize_device(&ctx, authorization(&headers), &params).await {
        Ok(answer) => {
            let mut resp = (StatusCode::OK, axum::Json(answer)).into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => oauth_error_response(e),
    }
}
