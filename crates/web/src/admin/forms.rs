//! What the admin's forms share: their routes, their page, reading a posted field.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::params::Params;

use super::{page, Kind};
use crate::pages::account::Account;
use crate::pages::application_form::{self as form, FormState};
use crate::Provider;

pub(crate) fn add_url(kind: Kind) -> Option<String> {
    matches!(kind, Kind::User | Kind::Application).then(|| format!("{}add/", kind.list_url()))
}

pub(crate) fn edit_link(kind: Kind, id: Id) -> Option<Value> {
    matches!(kind, Kind::User | Kind::Application)
        .then(|| context! { label => "Edit", url => kind.action_url(id, "edit"), danger => false })
}

pub(crate) fn routes(r: Router<Provider>) -> Router<Provider> {
    use super::application_forms::{app_add_page, app_add_submit, app_edit_page, app_edit_submit};
    use super::user_forms::{user_add_page, user_add_submit, user_edit_page, user_edit_submit};
    let users = Kind::User.list_url();
    let apps = Kind::Application.list_url();
    r.route(
        &format!("{users}add/"),
        get(user_add_page).post(user_add_submit),
    )
    .route(
        &format!("{users}{{pk}}/edit/"),
        get(user_edit_page).post(user_edit_submit),
    )
    .route(
        &format!("{apps}add/"),
        get(app_add_page).post(app_add_submit),
    )
    .route(
        &format!("{apps}{{pk}}/edit/"),
        get(app_edit_page).post(app_edit_submit),
    )
}

/// What a form page is about: its heading, where it posts, where "Cancel" goes.
pub(crate) struct Target {
    pub heading: String,
    pub action: String,
    pub cancel: String,
}

pub(crate) fn form_page(
    state: &Provider,
    account: &Account,
    target: Target,
    fs: &FormState,
    fields: Vec<Value>,
    status: StatusCode,
) -> Response {
    let ctx = context! {
        heading => target.heading,
        form => form::form_value(fs, fields),
        action => target.action,
        cancel_url => target.cancel,
        submit_label => "Save",
    };
    page(state, account, "oauth_toolkit/admin/form.html", ctx, status)
}

pub(crate) fn one(params: &Params, name: &str) -> String {
    params
        .all(name)
        .first()
        .map(|v| v.to_string())
        .unwrap_or_default()
}

pub(crate) fn checked(params: &Params, name: &str) -> bool {
    params.all(name).first().is_some_and(|v| !v.is_empty())
}
