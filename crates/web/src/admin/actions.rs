//! What staff change from a row's page, each behind a confirm page (GET) and a CSRF-checked
//! POST: delete, revoke a token, deactivate a user, revoke all of a user's tokens.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use oauth_toolkit_core::models::Id;

use super::{admin_store, not_found, page, row_id, staff, unavailable, Kind};
use crate::csrf::{csrf_valid, forbidden};
use crate::pages::account::Account;
use crate::pages::login::read_form;
use crate::pages::{error_page, redirect};
use crate::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Delete,
    Revoke,
    Deactivate,
    RevokeTokens,
}

impl Action {
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Revoke => "revoke",
            Action::Deactivate => "deactivate",
            Action::RevokeTokens => "revoke_tokens",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Action::Delete => "Delete",
            Action::Revoke => "Revoke",
            Action::Deactivate => "Deactivate",
            Action::RevokeTokens => "Revoke all tokens",
        }
    }

    pub(crate) fn dangerous(self) -> bool {
        true
    }
}

/// What can be done to a row of `kind`. Tokens are revoked rather than deleted (as DOT's
/// admin: revoking also revokes the refresh token bound to an access token).
pub(crate) fn actions_of(kind: Kind) -> &'static [Action] {
    match kind {
        Kind::User => &[Action::Deactivate, Action::RevokeTokens, Action::Delete],
        Kind::AccessToken | Kind::RefreshToken => &[Action::Revoke],
        Kind::Application | Kind::Grant | Kind::IdToken | Kind::DeviceGrant | Kind::SigningKey => {
            &[Action::Delete]
        }
    }
}

fn message(kind: Kind, action: Action, id: Id) -> String {
    let what = format!("{} #{id}", kind.singular());
    match action {
        Action::Delete if kind == Kind::User => format!(
            "Delete {what}? Their applications, tokens, grants and sessions are deleted with them."
        ),
        Action::Delete if kind == Kind::Application => {
            format!("Delete {what}? Its tokens and grants are deleted with it.")
        }
        Action::Delete => format!("Delete {what}?"),
        Action::Revoke => format!("Revoke {what}? It stops working at once."),
        Action::Deactivate => format!(
            "Deactivate {what}? They cannot sign in any more, their sessions end and their tokens stop working."
        ),
        Action::RevokeTokens => format!(
            "Revoke every token of {what}? Their access and refresh tokens, unused codes and pending device grants stop working at once."
        ),
    }
}

/// Staff must not lock themselves out.
fn refused_on_self(account: &Account, kind: Kind, action: Action, id: Id) -> bool {
    kind == Kind::User
        && id == account.user.id
        && matches!(action, Action::Delete | Action::Deactivate)
}

fn refuse_self(state: &Provider, account: &Account) -> Response {
    let resp = error_page(
        state,
        StatusCode::BAD_REQUEST,
        "Not allowed",
        "You cannot deactivate or delete your own account.",
    );
    account.finish(state, resp)
}

/// `GET /admin/<model>/<pk>/<action>/`: the confirm page.
pub(crate) async fn confirm(
    State(state): State<Provider>,
    kind: Kind,
    action: Action,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let id = or_page!(row_id(&state, &pk));
    if refused_on_self(&account, kind, action, id) {
        return refuse_self(&state, &account);
    }
    match exists(&state, kind, id).await {
        Ok(true) => {}
        Ok(false) => return not_found(&state),
        Err(r) => return r,
    }
    let ctx = context! {
        heading => format!("{} {} #{id}", action.label(), kind.singular()),
        message => message(kind, action, id),
        action => kind.action_url(id, action.slug()),
        button => action.label(),
        danger => action.dangerous(),
        cancel_url => kind.row_url(id),
        hidden => Vec::<minijinja::Value>::new(),
    };
    page(
        &state,
        &account,
        "oauth_toolkit/admin/confirm.html",
        ctx,
        StatusCode::OK,
    )
}

async fn exists(state: &Provider, kind: Kind, id: Id) -> Result<bool, Response> {
    let admin = admin_store(state)?;
    let store = &state.store;
    let found = match kind {
        Kind::Application => store.get_application(id).await.map(|r| r.is_some()),
        Kind::User => store.get_user(id).await.map(|r| r.is_some()),
        Kind::AccessToken => store.get_access_token(id).await.map(|r| r.is_some()),
        Kind::RefreshToken => store.get_refresh_token(id).await.map(|r| r.is_some()),
        Kind::Grant => admin.get_grant(id).await.map(|r| r.is_some()),
        Kind::IdToken => store.get_id_token(id).await.map(|r| r.is_some()),
        Kind::DeviceGrant => admin.get_device_grant(id).await.map(|r| r.is_some()),
        Kind::SigningKey => admin.get_signing_key(id).await.map(|r| r.is_some()),
    };
    found.map_err(|e| unavailable(state, e))
}

/// `POST /admin/<model>/<pk>/<action>/`: do it, log it, go back.
pub(crate) async fn submit(
    State(state): State<Provider>,
    kind: Kind,
    action: Action,
    Path(pk): Path<String>,
    request: Request,
) -> Response {
    let (parts, params) = or_page!(read_form(&state, request).await);
    let account = or_page!(staff(&state, &parts).await);
    let id = or_page!(row_id(&state, &pk));
    if !csrf_valid(Some(&account.session), &params) {
        return forbidden(&state);
    }
    if refused_on_self(&account, kind, action, id) {
        return refuse_self(&state, &account);
    }
    let done = or_page!(perform(&state, kind, action, id).await);
    let Some(detail) = done else {
        return not_found(&state);
    };
    tracing::info!(
        staff = %account.user.username,
        model = kind.slug(),
        id,
        action = action.slug(),
        detail = %detail,
        "admin action"
    );
    let back = match action {
        Action::Deactivate | Action::RevokeTokens => kind.row_url(id),
        Action::Delete | Action::Revoke => kind.list_url(),
    };
    account.finish(&state, redirect(&state, &back))
}

/// Do `action`; `Ok(None)` when the row does not exist, else a note for the log.
async fn perform(
    state: &Provider,
    kind: Kind,
    action: Action,
    id: Id,
) -> Result<Option<String>, Response> {
    let admin = admin_store(state)?;
    let store = &state.store;
    let now = state.clock.now();
    let fail = |e| unavailable(state, e);
    let ok = |b: bool, note: &str| b.then(|| note.to_string());
    Ok(match (kind, action) {
        (Kind::User, Action::Deactivate) => {
            let Some(mut user) = store.get_user(id).await.map_err(fail)? else {
                return Ok(None);
            };
            user.is_active = false;
            if store.update_user(&user).await.map_err(fail)?.is_none() {
                return Ok(None);
            }
            let ended = store.delete_user_sessions(id).await.map_err(fail)?;
            Some(format!(
                "deactivated {}; {ended} session(s) ended",
                user.username
            ))
        }
        (Kind::User, Action::RevokeTokens) => {
            if store.get_user(id).await.map_err(fail)?.is_none() {
                return Ok(None);
            }
            let c = admin
                .revoke_user_tokens(id, None, now)
                .await
                .map_err(fail)?;
            Some(format!(
                "{} access token(s), {} refresh token(s), {} code(s), {} ID token(s), {} device grant(s)",
                c.access_tokens, c.refresh_tokens, c.grants, c.id_tokens, c.device_grants
            ))
        }
        (Kind::User, Action::Delete) => {
            store.delete_user_sessions(id).await.map_err(fail)?;
            ok(admin.delete_user(id).await.map_err(fail)?, "deleted")
        }
        (Kind::Application, Action::Delete) => {
            let deleted = store.delete_application(id).await.map_err(fail)?;
            state.client_auth_cache.clear();
            ok(deleted, "deleted")
        }
        (Kind::AccessToken, Action::Revoke) => ok(
            store.revoke_access_token(id, now).await.map_err(fail)?,
            "revoked",
        ),
        (Kind::RefreshToken, Action::Revoke) => {
            if store.get_refresh_token(id).await.map_err(fail)?.is_none() {
                return Ok(None);
            }
            let revoked = store.revoke_refresh_token(id, now).await.map_err(fail)?;
            Some(
                if revoked {
                    "revoked"
                } else {
                    "was already revoked"
                }
                .to_string(),
            )
        }
        (Kind::Grant, Action::Delete) => ok(store.delete_grant(id).await.map_err(fail)?, "deleted"),
        (Kind::IdToken, Action::Delete) => {
            ok(store.delete_id_token(id).await.map_err(fail)?, "deleted")
        }
        (Kind::DeviceGrant, Action::Delete) => ok(
            admin.delete_device_grant(id).await.map_err(fail)?,
            "deleted",
        ),
        (Kind::SigningKey, Action::Delete) => {
            let Some(key) = admin.get_signing_key(id).await.map_err(fail)? else {
                return Ok(None);
            };
            // The same checks as `rotatesigningkey --retire`: never a key that still signs.
            match oauth_toolkit_core::oidc::keys::retire_key(&state.ctx(), &key.kid).await {
                // The JWKS copies of every process expire on their own (`oidc_jwks_cache_seconds`).
                Ok(()) => Some(format!("retired key {}", key.kid)),
                Err(e) => {
                    return Err(error_page(
                        state,
                        StatusCode::BAD_REQUEST,
                        "Not allowed",
                        &e.to_string(),
                    ));
                }
            }
        }
        _ => return Err(not_found(state)),
    })
}
