//! The admin's application forms: add one (with an owner and `skip_authorization`), edit one.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::Value;
use oauth_toolkit_core::models::{Application, Id};
use oauth_toolkit_core::params::Params;

use super::forms::{add_url, form_page, one, Target};
use super::{page, row_id, staff, unavailable, Kind};
use crate::csrf::{csrf_valid, forbidden};
use crate::pages::account::Account;
use crate::pages::application_form::{self as form, field, FormState, Kind as F, Variant};
use crate::pages::application_save::{create_from_form, save_edit, EditError};
use crate::pages::applications::app_value;
use crate::pages::login::read_form;
use crate::pages::redirect;
use crate::Provider;

fn app_fields(fs: &FormState, variant: Variant) -> Vec<Value> {
    let mut f = form::application_fields(fs, variant);
    f.push(field(
        fs,
        "user",
        "Owner",
        F::Text,
        "Username of the user who manages it on their applications page; empty for none.",
        false,
    ));
    f
}

/// The owner named in the form: `Ok(None)` for none, `Err` with the message for no such user.
async fn owner(state: &Provider, params: &Params) -> Result<Result<Option<Id>, String>, Response> {
    let name = one(params, "user").trim().to_string();
    if name.is_empty() {
        return Ok(Ok(None));
    }
    match state.store.find_user_by_username(&name).await {
        Ok(Some(u)) => Ok(Ok(Some(u.id))),
        Ok(None) => Ok(Err(format!("There is no user {name}."))),
        Err(e) => Err(unavailable(state, e)),
    }
}

fn staff_detail(
    state: &Provider,
    account: &Account,
    app: &Application,
    secret: Option<String>,
) -> Response {
    let urls = context! {
        list => Kind::Application.list_url(),
        detail => Kind::Application.row_url(app.id),
        update => Kind::Application.action_url(app.id, "edit"),
        delete => Kind::Application.action_url(app.id, "delete"),
    };
    let ctx = context! { application => app_value(state, app), new_secret => secret, urls => urls };
    page(
        state,
        account,
        "oauth2_provider/application_detail.html",
        ctx,
        StatusCode::CREATED,
    )
}

pub(crate) async fn app_add_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let fs = form::blank(&state.settings);
    let fields = app_fields(&fs, Variant::StaffRegister);
    form_page(
        &state,
        &account,
        Target {
            heading: "Add application".into(),
            action: add_url(Kind::Application).unwrap_or_default(),
            cancel: Kind::Application.list_url(),
        },
        &fs,
        fields,
        StatusCode::OK,
    )
}

pub(crate) async fn app_add_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(staff(&state, &parts).await);
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    let again = |mut fs: FormState, owner_error: Option<String>| {
        fs.values.insert("user", one(&params, "user"));
        if let Some(e) = owner_error {
            fs.error("user", e);
        }
        let fields = app_fields(&fs, Variant::StaffRegister);
        form_page(
            &state,
            &account,
            Target {
                heading: "Add application".into(),
                action: add_url(Kind::Application).unwrap_or_default(),
                cancel: Kind::Application.list_url(),
            },
            &fs,
            fields,
            StatusCode::BAD_REQUEST,
        )
    };
    let owner_id = match owner(&state, &params).await {
        Ok(Ok(o)) => o,
        Ok(Err(msg)) => {
            let (fs, _) = form::parse(
                &params,
                Variant::StaffRegister,
                form::as_new_blank(&state.settings),
            );
            return again(fs, Some(msg));
        }
        Err(r) => return r,
    };
    match create_from_form(&state, &params, Variant::StaffRegister, owner_id).await {
        Ok((app, secret)) => {
            tracing::info!(staff = %account.user.username, model = Kind::Application.slug(), id = app.id, action = "add", detail = %app.client_id, "admin action");
            staff_detail(&state, &account, &app, secret)
        }
        Err(EditError::Form(fs)) => again(fs, None),
        Err(EditError::Page(r)) => r,
    }
}

async fn load_app(state: &Provider, pk: &str) -> Result<Application, Response> {
    let id = row_id(state, pk)?;
    super::found(state, state.store.get_application(id).await)
}

pub(crate) async fn app_edit_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let app = or_page!(load_app(&state, &pk).await);
    let mut fs = form::values_of(&app);
    if let Some(uid) = app.user_id {
        if let Ok(Some(u)) = state.store.get_user(uid).await {
            fs.values.insert("user", u.username);
        }
    }
    let fields = app_fields(&fs, Variant::StaffUpdate);
    form_page(
        &state,
        &account,
        Target {
            heading: format!("Edit application {}", app.display_name()),
            action: Kind::Application.action_url(app.id, "edit"),
            cancel: Kind::Application.row_url(app.id),
        },
        &fs,
        fields,
        StatusCode::OK,
    )
}

pub(crate) async fn app_edit_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(staff(&state, &parts).await);
    let mut app = or_page!(load_app(&state, &pk).await);
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    let heading = format!("Edit application {}", app.display_name());
    let again = |mut fs: FormState, owner_error: Option<String>| {
        fs.values.insert("user", one(&params, "user"));
        if let Some(e) = owner_error {
            fs.error("user", e);
        }
        let fields = app_fields(&fs, Variant::StaffUpdate);
        form_page(
            &state,
            &account,
            Target {
                heading: heading.clone(),
                action: Kind::Application.action_url(app.id, "edit"),
                cancel: Kind::Application.row_url(app.id),
            },
            &fs,
            fields,
            StatusCode::BAD_REQUEST,
        )
    };
    match owner(&state, &params).await {
        Ok(Ok(o)) => app.user_id = o,
        Ok(Err(msg)) => {
            let (fs, _) = form::parse(&params, Variant::StaffUpdate, app.as_new());
            return again(fs, Some(msg));
        }
        Err(r) => return r,
    }
    match save_edit(&state, &params, &app, Variant::StaffUpdate).await {
        Ok(saved) => {
            tracing::info!(staff = %account.user.username, model = Kind::Application.slug(), id = saved.id, action = "edit", detail = %saved.client_id, "admin action");
            account.finish(
                &state,
                redirect(&state, &Kind::Application.row_url(saved.id)),
            )
        }
        Err(EditError::Form(fs)) => again(fs, None),
        Err(EditError::Page(r)) => r,
    }
}
