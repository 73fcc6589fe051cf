//! `POST revoke_token/` (RFC 7009). The CORS preflight is the token endpoint's
//! ([`super::token::token_preflight`]): same methods, same headers.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::models::Application;
use oauth_toolkit_core::revocation::revoke_token;
use oauth_toolkit_core::Settings;

use crate::error::{no_store, oauth_error_response};
use crate::form::{authorization, protocol_post_params};
use crate::peer::Peer;
use crate::Provider;

/// RFC 7009 §2.2: 200 with an empty body, whether or not anything was revoked.
pub async fn revoke(
    State(state): State<Provider>,
    uri: Uri,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match protocol_post_params(uri.query(), &headers, &body, "revocation endpoint") {
        Ok(p) => p,
        Err((_, e)) => return oauth_error_response(e),
    };
    let ctx = state.ctx().with_peer(peer);
    match revoke_token(&ctx, authorization(&headers), &params).await {
        Ok(outcome) => {
            let mut resp = StatusCode::OK.into_response();
            no_store(&mut resp);
            allow_client_origin(&mut resp, &headers, &outcome.client, &state.settings);
            resp
        }
        Err(e) => oauth_error_response(e),
    }
}

/// RFC 7009 §5 lets browser clients revoke through CORS: the response is readable by the
/// page only from an origin the authenticated client registered (`allowed_origins`).
fn allow_client_origin(
    resp: &mut Response,
    headers: &HeaderMap,
    client: &Application,
    settings: &Settings,
) {
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = headers.get(header::ORIGIN) else {
        return;
    };
    if origin
        .to_str()
        .is_ok_and(|o| client.origin_allowed(o, settings))
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}
