//! OpenID Connect endpoints: discovery (`.well-known/openid-configuration`, also with a
//! trailing slash), the JWKS (`.well-known/jwks.json`) and userinfo (`userinfo/`). Routed only
//! while `oidc_enabled` (else 404, as DOT). The protocol is in `oauth_toolkit_core::oidc`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oauth_toolkit_core::error::{ErrorCode, OAuthError};
use oauth_toolkit_core::oidc::userinfo::{invalid_token, userinfo as userinfo_claims};

use crate::error::{no_store, oauth_error_response};
use crate::form::{is_form_encoded, parse_urlencoded};
use crate::resource::{find_token_in, Presented};
use crate::Provider;

fn cors_any(resp: &mut Response) {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// `GET .well-known/openid-configuration[/]` (Discovery 1.0 §4), from the documents cache
/// (`crate::documents`): no database read and no serialisation while it is fresh.
pub async fn discovery(State(state): State<Provider>) -> Response {
    match state.documents.keyed(&state).await {
        Ok(docs) => docs.discovery.response(),
        Err(e) => oauth_error_response(e),
    }
}

/// `GET .well-known/jwks.json`: every published key, with DOT's cache headers.
pub async fn jwks(State(state): State<Provider>) -> Response {
    match state.documents.keyed(&state).await {
        Ok(docs) => docs.jwks.response(),
        Err(e) => oauth_error_response(e),
    }
}

/// The bearer token of a userinfo request, found by the rules of the protected resources
/// (`crate::resource`, RFC 6750 §2): `Authorization: Bearer` always; `?access_token=` and a
/// form-body `access_token` (POST) only where `oauth2_protected_resource_bearer_methods_supported`
/// and `compliant_bcp_rfc9700_access_token_transport` allow them. A token in a refused
/// query or two tokens are a malformed request (400); a body token where bodies are not
/// read is not looked at, as behind the resource layers.
fn bearer(
    state: &Provider,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Presented {
    let config = state.resource.config();
    let mut body_tokens = Vec::new();
    if config.accept_body && method == Method::POST && is_form_encoded(headers) {
        body_tokens = parse_urlencoded(body)
            .all("access_token")
            .into_iter()
            .map(str::to_owned)
            .collect();
    }
    if body_tokens.len() > 1 {
        return Presented::Malformed("The request carries more than one access token.");
    }
    find_token_in(
        headers,
        uri.query(),
        body_tokens.first().map(String::as_str),
        config,
    )
}

fn challenge(err: &OAuthError) -> HeaderValue {
    let mut v = String::from("Bearer realm=\"oauth-toolkit\"");
    if err.code != ErrorCode::InvalidRequest || err.status != 401 {
        v.push_str(&format!(", error=\"{}\"", err.code.as_str()));
        if let Some(d) = &err.description {
            v.push_str(&format!(", error_description=\"{}\"", d.replace('"', "'")));
        }
        if err.code == ErrorCode::InsufficientScope {
            v.push_str(", scope=\"openid\"");
        }
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// `GET|POST userinfo/` (OIDC Core §5.3).
pub async fn userinfo(
    State(state): State<Provider>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut resp = match bearer(&state, &method, &uri, &headers, &body) {
        Presented::Token(token) => {
            let ctx = state.ctx();
            match userinfo_claims(&ctx, &token).await {
                Ok(claims) => {
                    let mut r = (StatusCode::OK, axum::Json(claims)).into_response();
                    no_store(&mut r);
                    r
                }
                Err(e) => {
                    let ch = challenge(&e);
                    let mut r = oauth_error_response(e);
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, ch);
                    r
                }
            }
        }
        Presented::None => {
            // RFC 6750 §3.1: no credentials, no error code.
            let e = invalid_token();
            let mut r = oauth_error_response(e);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"oauth-toolkit\""),
            );
            r
        }
        Presented::Malformed(description) => {
            let e = OAuthError::invalid_request(description);
            let ch = challenge(&e);
            let mut r = oauth_error_response(e);
            r.headers_mut().insert(header::WWW_AUTHENTICATE, ch);
            r
        }
    };
    if state.settings.oidc.oidc_userinfo_cors_enabled {
        cors_any(&mut resp);
    }
    resp
}

/// `OPTIONS userinfo/`: the CORS preflight.
pub async fn userinfo_preflight(State(state): State<Provider>) -> Response {
    let mut resp = StatusCode::OK.into_response();
    if state.settings.oidc.oidc_userinfo_cors_enabled {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization"),
        );
    }
    resp
}
