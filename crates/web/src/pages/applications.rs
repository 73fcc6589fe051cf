//! DOT's application management pages under `url_prefix`: `applications/` (list),
//! `applications/register/`, `applications/<pk>/` (detail), `<pk>/update/`, `<pk>/delete/`,
//! and ours, `<pk>/new_secret/`. Login required; a user sees only their own applications
//! (any other id is a 404, whatever the method).
//!
//! The plaintext client secret exists only in the response to the registration or the
//! rotation that made it: that response is the detail page itself (DOT redirects to it,
//! which would need the secret stored somewhere to show it after the redirect).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use oauth_toolkit_core::models::{Application, Id};
use oauth_toolkit_core::store::StoreError;

use super::account::Account;
use super::application_form::{self as form, FormState, Variant};
use super::application_save::{create_from_form, rotate_secret, save_edit, EditError};
use super::login::read_form;
use super::{error_page, redirect, render};
use crate::csrf::{csrf_valid, forbidden};
use crate::Provider;

fn base(state: &Provider) -> String {
    format!("{}/applications/", state.settings.server.url_prefix)
}

fn detail_url(state: &Provider, id: Id) -> String {
    format!("{}{id}/", base(state))
}

/// The template context of one application (never its stored secret).
pub(crate) fn app_value(state: &Provider, app: &Application) -> Value {
    let list = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let url = detail_url(state, app.id);
    context! {
        id => app.id,
        name => app.display_name(),
        client_id => app.client_id.clone(),
        client_type => app.client_type.as_str(),
        client_type_label => super::application_form::client_type_label(app.client_type),
        authorization_grant_type => app.authorization_grant_type.as_str(),
        authorization_grant_type_label => super::application_form::grant_type_label(app.authorization_grant_type),
        redirect_uris => list(&app.redirect_uris),
        post_logout_redirect_uris => list(&app.post_logout_redirect_uris),
        allowed_origins => list(&app.allowed_origins),
        hash_client_secret => app.hash_client_secret,
        algorithm => app.algorithm.as_str(),
        skip_authorization => app.skip_authorization,
        created => super::show_time(app.created),
        updated => super::show_time(app.updated),
        url => url.clone(),
    }
}

fn urls(state: &Provider, id: Id) -> Value {
    let d = detail_url(state, id);
    context! {
        list => base(state),
        detail => d.clone(),
        update => format!("{d}update/"),
        delete => format!("{d}delete/"),
        new_secret => format!("{d}new_secret/"),
    }
}

pub(crate) fn not_found(state: &Provider) -> Response {
    error_page(
        state,
        StatusCode::NOT_FOUND,
        "Not Found",
        "There is no such application.",
    )
}

pub(crate) fn unavailable(state: &Provider, e: StoreError) -> Response {
    tracing::error!(error = %e, source = ?std::error::Error::source(&e), "application page: store failure");
    error_page(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "The database did not answer. Try again in a moment.",
    )
}

/// The signed-in user's application `pk`, or the 404 page (also for another user's).
async fn owned(state: &Provider, account: &Account, pk: &str) -> Result<Application, Response> {
    let Ok(id) = pk.parse::<Id>() else {
        return Err(not_found(state));
    };
    match state.store.get_application(id).await {
        Ok(Some(app)) if app.user_id == Some(account.user.id) => Ok(app),
        Ok(_) => Err(not_found(state)),
        Err(e) => Err(unavailable(state, e)),
    }
}

fn page(
    state: &Provider,
    account: &Account,
    name: &str,
    ctx: Value,
    status: StatusCode,
) -> Response {
    let resp = render(state, name, context! { ..account.chrome(), ..ctx }, status);
    account.finish(state, resp)
}

/// A POST on the signed-in user's application `pk`: the account, the application and the
/// form, its CSRF token checked (after ownership: another user's id is a 404 whatever it
/// carries).
async fn owned_form(
    state: &Provider,
    pk: &str,
    request: Request,
) -> Result<(Account, Application, oauth_toolkit_core::params::Params), Response> {
    let (parts, params) = read_form(state, request).await?;
    let account = Account::required(state, &parts).await?;
    let app = owned(state, &account, pk).await?;
    if !csrf_valid(Some(&account.session), &params) {
        return Err(forbidden(state));
    }
    Ok((account, app, params))
}

/// `GET applications/`.
pub async fn list(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(&state, &parts).await);
    let apps = match state
        .store
        .list_applications_for_user(account.user.id)
        .await
    {
        Ok(a) => a,
        Err(e) => return unavailable(&state, e),
    };
    let applications: Vec<Value> = apps.iter().map(|a| app_value(&state, a)).collect();
    page(
        &state,
        &account,
        "oauth2_provider/application_list.html",
        context! { applications => applications, register_url => format!("{}register/", base(&state)) },
        StatusCode::OK,
    )
}

fn form_page(
    state: &Provider,
    account: &Account,
    fs: &FormState,
    variant: Variant,
    app: Option<&Application>,
    status: StatusCode,
) -> Response {
    let (template, heading, action, cancel, submit) = match app {
        None => (
            "oauth2_provider/application_registration_form.html",
            "Register a new application".to_string(),
            format!("{}register/", base(state)),
            base(state),
            "Save",
        ),
        Some(a) => (
            "oauth2_provider/application_form.html",
            format!("Edit application {}", a.display_name()),
            format!("{}update/", detail_url(state, a.id)),
            detail_url(state, a.id),
            "Save",
        ),
    };
    let ctx = context! {
        form => form::form_value(fs, form::application_fields(fs, variant)),
        action => action,
        cancel_url => cancel,
        heading => heading,
        submit_label => submit,
        application => app.map(|a| app_value(state, a)),
    };
    page(state, account, template, ctx, status)
}

/// `GET applications/register/`: a blank form with a generated client id.
pub async fn register_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match Account::required(&state, &parts).await {
        Ok(account) => {
            let fs = form::blank(&state.settings);
            form_page(
                &state,
                &account,
                &fs,
                Variant::Register,
                None,
                StatusCode::OK,
            )
        }
        Err(r) => r,
    }
}

/// `POST applications/register/`: create it, owned by the user, and show it with its new
/// secret (once).
pub async fn register_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(Account::required(&state, &parts).await);
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    let (created, shown) =
        match create_from_form(&state, &params, Variant::Register, Some(account.user.id)).await {
            Ok(x) => x,
            Err(EditError::Form(fs)) => {
                return form_page(
                    &state,
                    &account,
                    &fs,
                    Variant::Register,
                    None,
                    StatusCode::BAD_REQUEST,
                )
            }
            Err(EditError::Page(r)) => return r,
        };
    tracing::info!(user = %account.user.username, client_id = %created.client_id, "application registered");
    detail_page(&state, &account, &created, shown, StatusCode::CREATED)
}

pub(crate) fn detail_page(
    state: &Provider,
    account: &Account,
    app: &Application,
    new_secret: Option<String>,
    status: StatusCode,
) -> Response {
    let ctx = context! {
        application => app_value(state, app),
        new_secret => new_secret,
        urls => urls(state, app.id),
    };
    page(
        state,
        account,
        "oauth2_provider/application_detail.html",
        ctx,
        status,
    )
}

/// `GET applications/<pk>/`.
pub async fn detail(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(&state, &parts).await);
    match owned(&state, &account, &pk).await {
        Ok(app) => detail_page(&state, &account, &app, None, StatusCode::OK),
        Err(r) => r,
    }
}

/// `GET applications/<pk>/update/`.
pub async fn update_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(&state, &parts).await);
    match owned(&state, &account, &pk).await {
        Ok(app) => {
            let fs = form::values_of(&app);
            form_page(
                &state,
                &account,
                &fs,
                Variant::Update,
                Some(&app),
                StatusCode::OK,
            )
        }
        Err(r) => r,
    }
}

/// `POST applications/<pk>/update/`: save and go to the detail page.
pub async fn update_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (account, existing, params) = or_page!(owned_form(&state, &pk, request).await);
    match save_edit(&state, &params, &existing, Variant::Update).await {
        Ok(saved) => {
            tracing::info!(user = %account.user.username, client_id = %saved.client_id, "application updated");
            account.finish(&state, redirect(&state, &detail_url(&state, saved.id)))
        }
        Err(EditError::Form(fs)) => form_page(
            &state,
            &account,
            &fs,
            Variant::Update,
            Some(&existing),
            StatusCode::BAD_REQUEST,
        ),
        Err(EditError::Page(r)) => r,
    }
}

/// The confirm page of `action` on the signed-in user's application `pk`.
async fn confirm(
    state: &Provider,
    pk: &str,
    request: Request,
    action: &str,
    template: &str,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(Account::required(state, &parts).await);
    let app = or_page!(owned(state, &account, pk).await);
    let url = format!("{}{action}/", detail_url(state, app.id));
    confirm_page(state, &account, &app, template, url)
}

fn confirm_page(
    state: &Provider,
    account: &Account,
    app: &Application,
    template: &str,
    action: String,
) -> Response {
    let ctx = context! {
        application => app_value(state, app),
        action => action,
        cancel_url => detail_url(state, app.id),
    };
    page(state, account, template, ctx, StatusCode::OK)
}

/// `GET applications/<pk>/delete/`: the confirmation.
pub async fn delete_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    confirm(
        &state,
        &pk,
        request,
        "delete",
        "oauth2_provider/application_confirm_delete.html",
    )
    .await
}

/// `POST applications/<pk>/delete/`: delete it (and by cascade its tokens), back to the list.
pub async fn delete_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (account, app, _) = or_page!(owned_form(&state, &pk, request).await);
    if let Err(e) = state.store.delete_application(app.id).await {
        return unavailable(&state, e);
    }
    state.client_auth_cache.clear();
    tracing::info!(user = %account.user.username, client_id = %app.client_id, "application deleted");
    account.finish(&state, redirect(&state, &base(&state)))
}

/// `GET applications/<pk>/new_secret/`: the confirmation.
pub async fn new_secret_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    confirm(
        &state,
        &pk,
        request,
        "new_secret",
        "oauth2_provider/application_confirm_new_secret.html",
    )
    .await
}

/// `POST applications/<pk>/new_secret/`: replace the secret and show the new one once.
pub async fn new_secret_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (account, app, _) = or_page!(owned_form(&state, &pk, request).await);
    match rotate_secret(&state, &app).await {
        Ok((saved, plain)) => {
            tracing::info!(user = %account.user.username, client_id = %saved.client_id, "client secret replaced");
            detail_page(&state, &account, &saved, Some(plain), StatusCode::OK)
        }
        Err(r) => r,
    }
}
