//! `GET|POST introspect/` (RFC 7662): `token` in the query (GET) or the form body (POST).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::error::{ErrorCode, OAuthError};
use oauth_toolkit_core::introspection::{
    introspect as run, Introspected, IntrospectionRequest, Refusal, INTROSPECTION_SCOPE,
};

use crate::error::{no_store, oauth_error_response};
use crate::form::{authorization, parse_urlencoded, protocol_post_params};
use crate::peer::Peer;
use crate::Provider;

pub async fn introspect(
    State(state): State<Provider>,
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
        Ok(Introspected::Refused(refusal)) => refused(refusal),
        Ok(Introspected::Answer(body)) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(e) => return oauth_error_response(e),
    };
    no_store(&mut resp);
    resp
}

/// RFC 7662 §2.3: a caller that fails authentication gets 401 with the challenge of the
/// scheme it tried (RFC 6749 §5.2 for client credentials, RFC 6750 §3 for a bearer token);
/// one that authenticated but may not introspect gets 403 (see docs/design.md).
fn refused(refusal: Refusal) -> Response {
    let client_failed = || {
        OAuthError::new(ErrorCode::InvalidClient).with_description("Client authentication failed.")
    };
    match refusal {
        Refusal::NoCredentials => {
            let mut resp = oauth_error_response(client_failed());
            resp.headers_mut().append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"oauth-toolkit\""),
            );
            resp
        }
        // `oauth_error_response` adds the Basic challenge to a 401 `invalid_client`.
        Refusal::InvalidClient => oauth_error_response(client_failed()),
        Refusal::InvalidToken => {
            let mut resp = oauth_error_response(
                OAuthError::new(ErrorCode::InvalidToken)
                    .with_description("The access token is invalid."),
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"oauth-toolkit\", error=\"invalid_token\", \
                     error_description=\"The access token is invalid.\"",
                ),
            );
            resp
        }
        Refusal::InsufficientScope => {
            let mut resp = oauth_error_response(
                OAuthError::new(ErrorCode::InsufficientScope).with_description(format!(
                    "The access token lacks the {INTROSPECTION_SCOPE} scope."
                )),
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"oauth-toolkit\", error=\"insufficient_scope\", \
                     scope=\"introspection\"",
                ),
            );
            resp
        }
    }
}
