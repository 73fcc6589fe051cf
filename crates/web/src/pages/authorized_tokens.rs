//! DOT's authorized tokens pages: `authorized_tokens/` lists the signed-in user's access
//! tokens (any expiry, newest first) and `authorized_tokens/<pk>/delete/` revokes one, with
//! its refresh token. Another user's token is a 404, whatever the method.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use oauth_toolkit_core::models::{AccessToken, Id};
use oauth_toolkit_core::scopes::parse_scopes;

use super::account::Account;
use super::login::read_form;
use super::{error_page, redirect, render};
use crate::csrf::{csrf_valid, forbidden};
use crate::Provider;

/// Most tokens the list shows (newest first).
const MAX_LISTED: usize = 500;

fn base(state: &Provider) -> String {
    format!("{}/authorized_tokens/", state.settings.server.url_prefix)
}

fn token_value(state: &Provider, token: &AccessToken, application_name: &str) -> Value {
    let described = state.settings.scopes();
    let scopes: Vec<Value> = parse_scopes(&token.scope)
        .into_iter()
        .map(|s| {
            let d = described.get(&s).cloned().unwrap_or_else(|| s.clone());
            context! { name => s, description => d }
        })
        .collect();
    context! {
        id => token.id,
        application_name => application_name,
        scopes => scopes,
        expires => super::show_time(token.expires),
        expired => token.expires <= state.clock.now(),
        delete_url => format!("{}{}/delete/", base(state), token.id),
    }
}

async fn application_name(
    state: &Provider,
    id: Option<Id>,
    names: &mut HashMap<Id, String>,
) -> String {
    let Some(id) = id else {
        return "(no application)".into();
    };
    if let Some(n) = names.get(&id) {
        return n.clone();
    }
    let name = match state.store.get_application(id).await {
        Ok(Some(a)) => a.display_name().to_string(),
        _ => "(deleted application)".into(),
    };
    names.insert(id, name.clone());
    name
}

fn unavailable(state: &Provider) -> Response {
    error_page(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "The database did not answer. Try again in a moment.",
    )
}

fn not_found(state: &Provider) -> Response {
    error_page(
        state,
        StatusCode::NOT_FOUND,
        "Not Found",
        "There is no such token.",
    )
}

/// `GET authorized_tokens/`.
pub async fn list(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(&state, &parts).await);
    let tokens = match state
        .store
        .list_access_tokens_for_user(account.user.id)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "authorized tokens: store failure");
            return unavailable(&state);
        }
    };
    let mut names = HashMap::new();
    let mut listed = Vec::new();
    for t in tokens.iter().take(MAX_LISTED) {
        let name = application_name(&state, t.application_id, &mut names).await;
        listed.push(token_value(&state, t, &name));
    }
    let resp = render(
        &state,
        "oauth2_provider/authorized-tokens.html",
        context! { authorized_tokens => listed, ..account.chrome() },
        StatusCode::OK,
    );
    account.finish(&state, resp)
}

/// The user's token `pk`, or the 404 page.
async fn owned(state: &Provider, account: &Account, pk: &str) -> Result<AccessToken, Response> {
    let Ok(id) = pk.parse::<Id>() else {
        return Err(not_found(state));
    };
    match state.store.get_access_token(id).await {
        Ok(Some(t)) if t.user_id == Some(account.user.id) => Ok(t),
        Ok(_) => Err(not_found(state)),
        Err(e) => {
            tracing::error!(error = %e, "authorized tokens: store failure");
            Err(unavailable(state))
        }
    }
}

/// `GET authorized_tokens/<pk>/delete/`: the confirmation.
pub async fn delete_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(&state, &parts).await);
    let token = or_page!(owned(&state, &account, &pk).await);
    let mut names = HashMap::new();
    let name = application_name(&state, token.application_id, &mut names).await;
    let resp = render(
        &state,
        "oauth2_provider/authorized-token-delete.html",
        context! {
            authorized_token => token_value(&state, &token, &name),
            action => format!("{}{}/delete/", base(&state), token.id),
            cancel_url => base(&state),
            ..account.chrome()
        },
        StatusCode::OK,
    );
    account.finish(&state, resp)
}

/// `POST authorized_tokens/<pk>/delete/`: DOT's `revoke_access_token` (the refresh token
/// bound to it too), then back to the list.
pub async fn delete_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(Account::required(&state, &parts).await);
    let token = or_page!(owned(&state, &account, &pk).await);
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    if let Err(e) = state
        .store
        .revoke_access_token(token.id, state.clock.now())
        .await
    {
        tracing::error!(error = %e, "authorized tokens: cannot revoke");
        return unavailable(&state);
    }
    tracing::info!(user = %account.user.username, token_id = token.id, "authorized token revoked by its user");
    account.finish(&state, redirect(&state, &base(&state)))
}
