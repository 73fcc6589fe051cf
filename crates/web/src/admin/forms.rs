//! The admin's forms: add and edit users, add and edit applications (staff's application
//! form also has `skip_authorization` and an owner).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use oauth_toolkit_core::models::{validate_username, Application, Id, NewUser, User};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::password::{hash_password_async, unusable_password};
use oauth_toolkit_core::store::StoreError;

use super::{not_found, page, row_id, staff, unavailable, Kind};
use crate::csrf::{csrf_valid, forbidden};
use crate::pages::account::Account;
use crate::pages::application_form::{self as form, field, FormState, Kind as F, Variant};
use crate::pages::applications::{app_value, create_from_form, save_edit, EditError};
use crate::pages::login::read_form;
use crate::pages::redirect;
use crate::Provider;

/// Longest password accepted (longer ones are refused, not truncated).
const MAX_PASSWORD: usize = 4096;

pub(crate) fn add_url(kind: Kind) -> Option<String> {
    matches!(kind, Kind::User | Kind::Application).then(|| format!("{}add/", kind.list_url()))
}

pub(crate) fn edit_link(kind: Kind, id: Id) -> Option<Value> {
    matches!(kind, Kind::User | Kind::Application)
        .then(|| context! { label => "Edit", url => kind.action_url(id, "edit"), danger => false })
}

pub(crate) fn routes(r: Router<Provider>) -> Router<Provider> {
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
struct Target {
    heading: String,
    action: String,
    cancel: String,
}

fn form_page(
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

fn user_fields(fs: &FormState, adding: bool) -> Vec<Value> {
    let mut f = Vec::new();
    if adding {
        f.push(field(
            fs,
            "username",
            "Username",
            F::Text,
            "1 to 150 letters, digits and @.+-_ only.",
            true,
        ));
    }
    f.push(field(fs, "email", "Email address", F::Text, "", false));
    if adding {
        f.push(field(fs, "first_name", "First name", F::Text, "", false));
        f.push(field(fs, "last_name", "Last name", F::Text, "", false));
    }
    let help = if adding {
        "Leave empty for an account that cannot sign in with a password."
    } else {
        "Leave empty to keep the current password. A new password ends the user's sessions."
    };
    f.push(field(fs, "password", "Password", F::Password, help, false));
    f.push(field(
        fs,
        "is_active",
        "Active",
        F::Checkbox,
        "Inactive users cannot sign in and their tokens stop working.",
        false,
    ));
    f.push(field(
        fs,
        "is_staff",
        "Staff",
        F::Checkbox,
        "Staff can use this admin.",
        false,
    ));
    f
}

fn one(params: &Params, name: &str) -> String {
    params
        .all(name)
        .first()
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn checked(params: &Params, name: &str) -> bool {
    params.all(name).first().is_some_and(|v| !v.is_empty())
}

/// The posted user form, checked; `(state, password)`.
fn read_user(params: &Params, adding: bool) -> (FormState, String) {
    let mut fs = FormState::default();
    for name in ["username", "email", "first_name", "last_name"] {
        fs.values.insert(name, one(params, name).trim().to_string());
    }
    for name in ["is_active", "is_staff"] {
        if checked(params, name) {
            fs.values.insert(name, "on".into());
        }
    }
    if adding {
        if let Err(e) = validate_username(&fs.values["username"]) {
            fs.error("username", e);
        }
    }
    let email = fs.values["email"].clone();
    if !email.is_empty()
        && (!email.contains('@')
            || email.chars().any(|c| c.is_control() || c.is_whitespace())
            || email.len() > 254)
    {
        fs.error("email", "Enter a valid email address.");
    }
    for name in ["first_name", "last_name"] {
        if fs.values[name].chars().count() > 150 || fs.values[name].chars().any(char::is_control) {
            fs.error(name, "At most 150 characters, without control characters.");
        }
    }
    let password = one(params, "password");
    if password.len() > MAX_PASSWORD || password.chars().any(char::is_control) {
        fs.error(
            "password",
            "At most 4096 characters, without control characters.",
        );
    }
    (fs, password)
}

fn user_values(u: &User) -> FormState {
    let mut fs = FormState::default();
    fs.values.insert("email", u.email.clone());
    if u.is_active {
        fs.values.insert("is_active", "on".into());
    }
    if u.is_staff {
        fs.values.insert("is_staff", "on".into());
    }
    fs
}

async fn user_add_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut fs = FormState::default();
    fs.values.insert("is_active", "on".into());
    let fields = user_fields(&fs, true);
    form_page(
        &state,
        &account,
        Target {
            heading: "Add user".into(),
            action: format!("{}add/", Kind::User.list_url()),
            cancel: Kind::User.list_url(),
        },
        &fs,
        fields,
        StatusCode::OK,
    )
}

async fn user_add_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    let (mut fs, password) = read_user(&params, true);
    let again = |fs: &FormState| {
        let fields = user_fields(fs, true);
        form_page(
            &state,
            &account,
            Target {
                heading: "Add user".into(),
                action: format!("{}add/", Kind::User.list_url()),
                cancel: Kind::User.list_url(),
            },
            fs,
            fields,
            StatusCode::BAD_REQUEST,
        )
    };
    if !fs.is_valid() {
        return again(&fs);
    }
    let hash = if password.is_empty() {
        unusable_password()
    } else {
        match hash_password_async(&password).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "admin: cannot hash a password");
                fs.general.push("The password could not be stored.".into());
                return again(&fs);
            }
        }
    };
    let mut new = NewUser::new(fs.values["username"].clone(), hash);
    new.email = fs.values["email"].clone();
    new.first_name = fs.values["first_name"].clone();
    new.last_name = fs.values["last_name"].clone();
    new.is_active = fs.values.contains_key("is_active");
    new.is_staff = fs.values.contains_key("is_staff");
    match state.store.create_user(new, state.clock.now()).await {
        Ok(u) => {
            tracing::info!(staff = %account.user.username, model = Kind::User.slug(), id = u.id, action = "add", detail = %u.username, "admin action");
            account.finish(&state, redirect(&state, &Kind::User.row_url(u.id)))
        }
        Err(StoreError::Conflict(_)) => {
            fs.error("username", "A user with that username already exists.");
            again(&fs)
        }
        Err(StoreError::Invalid(what)) => {
            fs.general.push(format!("Invalid value: {what}."));
            again(&fs)
        }
        Err(e) => unavailable(&state, e),
    }
}

async fn user_edit_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let user = match load_user(&state, &pk).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let fs = user_values(&user);
    let fields = user_fields(&fs, false);
    form_page(
        &state,
        &account,
        Target {
            heading: format!("Edit user {}", user.username),
            action: Kind::User.action_url(user.id, "edit"),
            cancel: Kind::User.row_url(user.id),
        },
        &fs,
        fields,
        StatusCode::OK,
    )
}

async fn load_user(state: &Provider, pk: &str) -> Result<User, Response> {
    let id = row_id(state, pk)?;
    match state.store.get_user(id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(not_found(state)),
        Err(e) => Err(unavailable(state, e)),
    }
}

async fn user_edit_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut user = match load_user(&state, &pk).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    let (mut fs, password) = read_user(&params, false);
    if user.id == account.user.id
        && !(fs.values.contains_key("is_active") && fs.values.contains_key("is_staff"))
    {
        fs.general
            .push("You cannot deactivate yourself or take away your own staff status.".into());
    }
    let again = |fs: &FormState| {
        let fields = user_fields(fs, false);
        form_page(
            &state,
            &account,
            Target {
                heading: format!("Edit user {}", user.username),
                action: Kind::User.action_url(user.id, "edit"),
                cancel: Kind::User.row_url(user.id),
            },
            fs,
            fields,
            StatusCode::BAD_REQUEST,
        )
    };
    if !fs.is_valid() {
        return again(&fs);
    }
    let was_active = user.is_active;
    if !password.is_empty() {
        match hash_password_async(&password).await {
            Ok(h) => user.password = h,
            Err(e) => {
                tracing::error!(error = %e, "admin: cannot hash a password");
                fs.general.push("The password could not be stored.".into());
                return again(&fs);
            }
        }
    }
    let mut changed = user.clone();
    changed.email = fs.values["email"].clone();
    changed.is_active = fs.values.contains_key("is_active");
    changed.is_staff = fs.values.contains_key("is_staff");
    match state.store.update_user(&changed).await {
        Ok(Some(saved)) => {
            // A new password or a deactivation ends every session of the user at once.
            if (was_active && !saved.is_active) || !password.is_empty() {
                if let Err(e) = state.store.delete_user_sessions(saved.id).await {
                    return unavailable(&state, e);
                }
            }
            tracing::info!(
                staff = %account.user.username, model = Kind::User.slug(), id = saved.id, action = "edit",
                detail = %format!("active={} staff={} password_changed={}", saved.is_active, saved.is_staff, !password.is_empty()),
                "admin action"
            );
            account.finish(&state, redirect(&state, &Kind::User.row_url(saved.id)))
        }
        Ok(None) => not_found(&state),
        Err(StoreError::Invalid(what)) => {
            fs.general.push(format!("Invalid value: {what}."));
            again(&fs)
        }
        Err(e) => unavailable(&state, e),
    }
}

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

async fn app_add_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
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

async fn app_add_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
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
    match state.store.get_application(id).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(not_found(state)),
        Err(e) => Err(unavailable(state, e)),
    }
}

async fn app_edit_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let app = match load_app(&state, &pk).await {
        Ok(a) => a,
        Err(r) => return r,
    };
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

async fn app_edit_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = match read_form(&state, request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = match staff(&state, &parts).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut app = match load_app(&state, &pk).await {
        Ok(a) => a,
        Err(r) => return r,
    };
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
            let (fs, _) = form::parse(&params, Variant::StaffUpdate, form::as_new(&app));
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
