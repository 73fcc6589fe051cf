use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use crate::pages::account::{chrome_of, Account};
use crate::pages::render;
use crate::Provider;

/// `GET /`: what a signed-in user can do (their applications, tokens, the admin for staff),
/// or the way to sign in.
pub async fn home(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = Account::current(&state, &parts).await;
    let resp = render(
        &state,
        "oauth_toolkit/home.html",
        context! { ..chrome_of(account.as_ref()) },
        StatusCode::OK,
    );
    match account {
        Some(a) => a.finish(&state, resp),
        None => resp,
    }
}
