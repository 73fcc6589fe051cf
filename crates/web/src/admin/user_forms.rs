//! The admin's user forms: add a user, edit one (email, password, active, staff).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::Value;
use oauth_toolkit_core::models::{validate_username, NewUser, User};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::password::{hash_password_async, unusable_password};
use oauth_toolkit_core::store::StoreError;

use super::forms::{checked, form_page, one, Target};
use super::{not_found, row_id, staff, unavailable, Kind};
use crate::csrf::{csrf_valid, forbidden};
use crate::pages::application_form::{field, FormState, Kind as F};
use crate::pages::login::read_form;
use crate::pages::redirect;
use crate::Provider;

/// Longest password accepted (longer ones are refused, not truncated).
const MAX_PASSWORD: usize = 4096;

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

pub(crate) async fn user_add_page(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
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

pub(crate) async fn user_add_submit(State(state): State<Provider>, request: Request) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(staff(&state, &parts).await);
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

pub(crate) async fn user_edit_page(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let user = or_page!(load_user(&state, &pk).await);
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
    super::found(state, state.store.get_user(id).await)
}

pub(crate) async fn user_edit_submit(
    State(state): State<Provider>,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(staff(&state, &parts).await);
    let mut user = or_page!(load_user(&state, &pk).await);
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
