//! `GET /.well-known/oauth-protected-resource[/<path>]` (RFC 9728): the document of this
//! resource server, at the path §3.1 derives from its identifier. Public and the same for
//! everyone: serialised once, readable from any origin (CORS `*`), cacheable for an hour.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use oauth_toolkit_core::protected_resource::{
    metadata_path, protected_resource_metadata, resource_identifier,
};
use oauth_toolkit_core::Settings;

/// The serialised document.
#[derive(Clone)]
struct Document(Bytes);

fn respond(doc: &Document) -> Response {
    let mut resp = (StatusCode::OK, doc.0.clone()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
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

/// The document's routes: at `metadata_path(resource)` on the resource's origin, and at each
/// of `extra_paths` (the provider adds DOT's `<url_prefix>/.well-known/oauth-protected-resource`).
/// `own_issuer` is listed as the authorization server unless
/// `oauth2_protected_resource_authorization_servers` says otherwise. Merge at the root of the
/// application that serves the resource.
pub fn metadata_router<S: Clone + Send + Sync + 'static>(
    settings: &Settings,
    own_issuer: Option<&str>,
    extra_paths: &[String],
) -> Router<S> {
    let doc = protected_resource_metadata(settings, own_issuer);
    let body = match serde_json::to_vec(&doc) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the RFC 9728 metadata");
            return Router::new();
        }
    };
    let doc = Document(body);
    let mut paths = vec![metadata_path(&resource_identifier(settings))];
    paths.extend(extra_paths.iter().cloned());
    paths.dedup();
    let mut r = Router::new();
    for path in paths {
        let d = doc.clone();
        r = r.route(&path, get(move || async move { respond(&d) }));
    }
    r
}
