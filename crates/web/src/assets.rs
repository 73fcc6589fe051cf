//! The pages' stylesheet and script, served by the provider itself (no CDN, so the pages'
//! CSP can allow only `'self'`). Their URLs carry a digest of their content, so they can be
//! cached for a year: a new build has new URLs.

use std::sync::OnceLock;

use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// Where the assets are mounted.
pub const STATIC_PREFIX: &str = "/static/";

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// DOT's stylesheet path, and our script.
const CSS: Asset = Asset {
    path: "oauth2_provider/css/oauth2_provider.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../static/oauth2_provider/css/oauth2_provider.css"),
};
const JS: Asset = Asset {
    path: "oauth_toolkit/js/oauth_toolkit.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../static/oauth_toolkit/js/oauth_toolkit.js"),
};

fn version(asset: &Asset) -> &'static str {
    static CSS_V: OnceLock<String> = OnceLock::new();
    static JS_V: OnceLock<String> = OnceLock::new();
    let cell = if asset.path == CSS.path {
        &CSS_V
    } else {
        &JS_V
    };
    cell.get_or_init(|| hex::encode(&Sha256::digest(asset.body)[..6]))
}

fn url(asset: &Asset) -> String {
    format!("{STATIC_PREFIX}{}?v={}", asset.path, version(asset))
}

/// The stylesheet's URL (with its content digest).
pub fn css_url() -> String {
    url(&CSS)
}

/// The script's URL (with its content digest).
pub fn js_url() -> String {
    url(&JS)
}

#[derive(serde::Deserialize)]
struct VersionQuery {
    v: Option<String>,
}

fn serve(asset: &'static Asset, v: Option<String>) -> Response {
    let mut resp = (StatusCode::OK, asset.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Only the URL of this build's content is immutable; any other is cached briefly, so
    // a stale `?v=` from an older build cannot pin old content for a year.
    let cache = if v.as_deref() == Some(version(asset)) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// `GET /static/…`: the two assets.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            &format!("{STATIC_PREFIX}{}", CSS.path),
            get(|Query(q): Query<VersionQuery>| async move { serve(&CSS, q.v) }),
        )
        .route(
            &format!("{STATIC_PREFIX}{}", JS.path),
            get(|Query(q): Query<VersionQuery>| async move { serve(&JS, q.v) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_digest() {
        assert!(css_url().starts_with("/static/oauth2_provider/css/oauth2_provider.css?v="));
        assert!(js_url().starts_with("/static/oauth_toolkit/js/oauth_toolkit.js?v="));
        assert_eq!(version(&CSS).len(), 12);
        assert_ne!(version(&CSS), version(&JS));
    }
}
