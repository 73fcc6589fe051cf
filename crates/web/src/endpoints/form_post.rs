//! OAuth 2.0 Form Post Response Mode: the response for the client as an HTML page whose form
//! POSTs the parameters to the redirect URI, submitted by a one-line script the page's CSP
//! allows by nonce (nothing else may run, load or frame it), with a `<noscript>` button so it
//! works without JavaScript. The parameters never appear in a URL, a `Location` or a `Referer`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::authorization::ClientResponse;
use oauth_toolkit_core::generators::{random_string, ALPHANUMERIC};

use crate::pages::{redirect, render};
use crate::Provider;

/// The template (a name in DOT's namespace; DOT has no form_post page).
pub const FORM_POST_TEMPLATE: &str = "oauth2_provider/form_post.html";

/// The CSP of the form page: only the nonced script runs, nothing is loaded, no framing.
pub fn form_post_csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The response for the client: a redirect (`query`, `fragment`) or the form (`form_post`).
pub fn client_response(state: &Provider, response: &ClientResponse) -> Response {
    if let Some(location) = response.location() {
        return redirect(state, &location);
    }
    let nonce = random_string(32, ALPHANUMERIC);
    let fields: Vec<_> = response
        .params
        .iter()
        .map(|(name, value)| context! { name => name, value => value })
        .collect();
    let mut resp = render(
        state,
        FORM_POST_TEMPLATE,
        context! {
            redirect_uri => response.redirect_uri.clone(),
            fields => fields,
            csp_nonce => nonce.clone(),
        },
        StatusCode::OK,
    );
    if let Ok(v) = HeaderValue::from_str(&form_post_csp(&nonce)) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_only_the_nonce() {
        let csp = form_post_csp("abc");
        assert!(csp.contains("script-src 'nonce-abc'"));
        assert!(csp.contains("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
