use axum::extract::State;
use axum::response::Html;
use minijinja::context;

use crate::{Provider, WebError};

/// `GET /`: a small page linking to sign-in and the management pages.
pub async fn home(State(state): State<Provider>) -> Result<Html<String>, WebError> {
    let html = state.templates.render(
        "oauth_toolkit/home.html",
        context! {
            prefix => state.settings.server.url_prefix.clone(),
            login_url => state.settings.server.login_url.clone(),
        },
    )?;
    Ok(Html(html))
}
