//! Saving what the application forms describe (the user's pages and the admin's): create,
//! edit, and replace the secret, with the same validation as `createapplication`.

use axum::http::StatusCode;
use axum::response::Response;
use oauth_toolkit_core::client_secret::{hash_client_secret, is_hashed};
use oauth_toolkit_core::generators::generate_client_secret;
use oauth_toolkit_core::models::{Application, ClientType, GrantType, Id, NewApplication};
use oauth_toolkit_core::slow_hash::SlowHashGate;
use oauth_toolkit_core::store::StoreError;

use super::application_form::{self as form, FormState, Variant};
use super::applications::{not_found, unavailable};
use super::error_page;
use crate::Provider;

/// Hash a client secret through the slow hash gate: a short secret is hashed with argon2
/// (tens of milliseconds), which must not run on an async worker. `None` on failure (logged).
async fn hash_off_the_workers(
    plain: &str,
    settings: &oauth_toolkit_core::Settings,
) -> Option<String> {
    let (plain, hasher) = (plain.to_string(), settings.provider.client_secret_hasher);
    match SlowHashGate::global()
        .run(move || hash_client_secret(&plain, hasher))
        .await
    {
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => {
            tracing::error!(error = %e, "cannot hash the client secret");
            None
        }
        None => {
            tracing::warn!("the client secret could not be hashed now (slow hash gate)");
            None
        }
    }
}

/// Validate and create an application owned by `owner` from a registration form. Returns
/// it and, when the secret was generated, the plaintext to show once (a secret the user
/// typed is theirs already).
pub(crate) async fn create_from_form(
    state: &Provider,
    params: &oauth_toolkit_core::params::Params,
    variant: Variant,
    owner: Option<Id>,
) -> Result<(Application, Option<String>), EditError> {
    let settings = &state.settings;
    let base_app = NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        settings,
    );
    let (mut fs, parsed) = form::parse(params, variant, base_app);
    let Some((mut app, typed)) = parsed else {
        return Err(EditError::Form(fs));
    };
    app.user_id = owner;
    let generated = typed.is_none();
    let plain = typed.unwrap_or_else(|| {
        generate_client_secret(
            settings.provider.client_secret_generator_length,
            &settings.provider.client_secret_generator_alphabet,
        )
    });
    app.client_secret = plain.clone();
    form::check(&mut fs, &app, settings, variant);
    if fs.is_valid() {
        // DOT keeps a value that already is a hash (so hashes can be imported).
        if app.hash_client_secret && !is_hashed(&plain) {
            match hash_off_the_workers(&plain, settings).await {
                Some(h) => app.client_secret = h,
                None => fs
                    .general
                    .push("The secret could not be stored. Try again.".into()),
            }
        }
    }
    if !fs.is_valid() {
        return Err(EditError::Form(fs));
    }
    match state.store.create_application(app, state.clock.now()).await {
        Ok(a) => Ok((a, generated.then_some(plain))),
        Err(StoreError::Conflict(_)) => {
            fs.error(
                "client_id",
                "An application with this client id already exists.",
            );
            Err(EditError::Form(fs))
        }
        Err(StoreError::Invalid(what)) => {
            fs.general.push(format!("Invalid value: {what}."));
            Err(EditError::Form(fs))
        }
        Err(e) => Err(EditError::Page(unavailable(state, e))),
    }
}

/// Why an edit was not saved: the form with its messages, or a page (404, 503).
pub(crate) enum EditError {
    Form(FormState),
    Page(Response),
}

/// Validate and save an edit of `existing` (the user's form or the staff one).
pub(crate) async fn save_edit(
    state: &Provider,
    params: &oauth_toolkit_core::params::Params,
    existing: &Application,
    variant: Variant,
) -> Result<Application, EditError> {
    let (mut fs, parsed) = form::parse(params, variant, existing.as_new());
    let Some((new, _)) = parsed else {
        return Err(EditError::Form(fs));
    };
    form::check(&mut fs, &new, &state.settings, variant);
    if !fs.is_valid() {
        return Err(EditError::Form(fs));
    }
    let mut app = existing.clone();
    app.name = new.name;
    app.client_id = new.client_id;
    app.client_type = new.client_type;
    app.authorization_grant_type = new.authorization_grant_type;
    app.redirect_uris = new.redirect_uris;
    app.post_logout_redirect_uris = new.post_logout_redirect_uris;
    app.allowed_origins = new.allowed_origins;
    app.algorithm = new.algorithm;
    app.skip_authorization = new.skip_authorization;
    match state
        .store
        .update_application(&app, state.clock.now())
        .await
    {
        Ok(Some(saved)) => {
            // This process forgets cached authentications of the old client id at once.
            state.client_auth_cache.clear();
            Ok(saved)
        }
        Ok(None) => Err(EditError::Page(not_found(state))),
        Err(StoreError::Conflict(_)) => {
            fs.error(
                "client_id",
                "An application with this client id already exists.",
            );
            Err(EditError::Form(fs))
        }
        Err(StoreError::Invalid(what)) => {
            fs.general.push(format!("Invalid value: {what}."));
            Err(EditError::Form(fs))
        }
        Err(e) => Err(EditError::Page(unavailable(state, e))),
    }
}

/// Give `app` a new generated secret (stored as its settings say); returns the plaintext.
pub(crate) async fn rotate_secret(
    state: &Provider,
    app: &Application,
) -> Result<(Application, String), Response> {
    let p = &state.settings.provider;
    let plain = generate_client_secret(
        p.client_secret_generator_length,
        &p.client_secret_generator_alphabet,
    );
    let mut updated = app.clone();
    updated.client_secret = if app.hash_client_secret {
        match hash_off_the_workers(&plain, &state.settings).await {
            Some(h) => h,
            None => {
                return Err(error_page(
                    state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server Error",
                    "The secret could not be stored.",
                ));
            }
        }
    } else {
        plain.clone()
    };
    match state
        .store
        .update_application(&updated, state.clock.now())
        .await
    {
        Ok(Some(saved)) => {
            state.client_auth_cache.clear();
            Ok((saved, plain))
        }
        Ok(None) => Err(not_found(state)),
        Err(e) => Err(unavailable(state, e)),
    }
}
