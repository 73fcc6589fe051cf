//! The staff admin at `/admin/`, in the shape of Django's: one list per model at
//! `/admin/<app>/<model>/` (search, filters, keyset pages), a detail page per row at
//! `<pk>/change/`, and confirm pages for what changes things (delete, revoke, deactivate,
//! revoke all of a user's tokens); forms to add and edit users and applications.
//!
//! Only signed-in staff (`is_staff`) get in: anyone else signed in gets the 403 page, the
//! signed-out are sent to `login_url`. It never shows a token value, a code, a client secret
//! or a password hash, only what identifies a row (id, owner, scope, expiry, the first
//! characters of a digest). Every change is logged with the staff user's name.

// Handlers answer a refusal with the page to send, so `Result<_, Response>` is their shape.
#![allow(clippy::result_large_err)]

mod actions;
mod application_forms;
mod detail;
mod forms;
mod lists;
mod user_forms;

use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use oauth_toolkit_core::models::Id;
use oauth_toolkit_core::store::{AdminStore, StoreError};

use crate::pages::account::Account;
use crate::pages::{error_page, render};
use crate::Provider;

/// Where the admin is mounted.
pub const ADMIN_PATH: &str = "/admin/";

/// The models the admin lists, with Django's admin paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Application,
    User,
    AccessToken,
    RefreshToken,
    Grant,
    IdToken,
    DeviceGrant,
    SigningKey,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Application,
        Kind::User,
        Kind::AccessToken,
        Kind::RefreshToken,
        Kind::Grant,
        Kind::IdToken,
        Kind::DeviceGrant,
        Kind::SigningKey,
    ];

    /// The path below `/admin/`.
    fn slug(self) -> &'static str {
        match self {
            Kind::Application => "oauth2_provider/application",
            Kind::User => "auth/user",
            Kind::AccessToken => "oauth2_provider/accesstoken",
            Kind::RefreshToken => "oauth2_provider/refreshtoken",
            Kind::Grant => "oauth2_provider/grant",
            Kind::IdToken => "oauth2_provider/idtoken",
            Kind::DeviceGrant => "oauth2_provider/devicegrant",
            Kind::SigningKey => "oauth_toolkit/signingkey",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Application => "Applications",
            Kind::User => "Users",
            Kind::AccessToken => "Access tokens",
            Kind::RefreshToken => "Refresh tokens",
            Kind::Grant => "Grants",
            Kind::IdToken => "ID tokens",
            Kind::DeviceGrant => "Device grants",
            Kind::SigningKey => "Signing keys",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::User => "user",
            Kind::AccessToken => "access token",
            Kind::RefreshToken => "refresh token",
            Kind::Grant => "grant",
            Kind::IdToken => "ID token",
            Kind::DeviceGrant => "device grant",
            Kind::SigningKey => "signing key",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Kind::Application => "Registered OAuth clients.",
            Kind::User => "People who can sign in.",
            Kind::AccessToken => "Issued access tokens (values are never shown).",
            Kind::RefreshToken => "Issued refresh tokens, live and revoked.",
            Kind::Grant => "Authorization codes.",
            Kind::IdToken => "Records of issued OpenID Connect ID tokens.",
            Kind::DeviceGrant => "Device authorization requests (RFC 8628).",
            Kind::SigningKey => "The keys ID tokens are signed with.",
        }
    }

    pub(crate) fn list_url(self) -> String {
        format!("{ADMIN_PATH}{}/", self.slug())
    }

    pub(crate) fn row_url(self, id: Id) -> String {
        format!("{ADMIN_PATH}{}/{id}/change/", self.slug())
    }

    pub(crate) fn action_url(self, id: Id, action: &str) -> String {
        format!("{ADMIN_PATH}{}/{id}/{action}/", self.slug())
    }
}

/// `/admin/` and every model's pages.
pub(crate) fn routes() -> Router<Provider> {
    let mut r = Router::new().route(ADMIN_PATH, get(index));
    for kind in Kind::ALL {
        let base = kind.list_url();
        r = r
            .route(
                &base,
                get(move |s: State<Provider>, req: Request| lists::list(s, kind, req)),
            )
            .route(
                &format!("{base}{{pk}}/change/"),
                get(move |s: State<Provider>, p: Path<String>, req: Request| {
                    detail::detail(s, kind, p, req)
                }),
            );
        for &action in actions::actions_of(kind) {
            let path = format!("{base}{{pk}}/{}/", action.slug());
            r = r.route(
                &path,
                get(move |s: State<Provider>, p: Path<String>, req: Request| {
                    actions::confirm(s, kind, action, p, req)
                })
                .post(move |s: State<Provider>, p: Path<String>, req: Request| {
                    actions::submit(s, kind, action, p, req)
                }),
            );
        }
    }
    forms::routes(r)
}

/// A signed-in staff user, or the page for anyone else (login redirect or 403).
pub(crate) async fn staff(state: &Provider, parts: &Parts) -> Result<Account, Response> {
    let account = Account::required(state, parts).await?;
    if !account.user.is_staff {
        tracing::info!(user = %account.user.username, path = %parts.uri.path(), "admin: refused to a non-staff user");
        let resp = error_page(
            state,
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This area is for staff only.",
        );
        return Err(account.finish(state, resp));
    }
    Ok(account)
}

/// The store's admin side, or the page saying the store has none.
pub(crate) fn admin_store(state: &Provider) -> Result<&dyn AdminStore, Response> {
    state.store.admin().ok_or_else(|| {
        error_page(
            state,
            StatusCode::NOT_IMPLEMENTED,
            "Not available",
            "The storage this provider runs on does not offer the admin pages.",
        )
    })
}

pub(crate) fn unavailable(state: &Provider, e: StoreError) -> Response {
    tracing::error!(error = %e, source = ?std::error::Error::source(&e), "admin: store failure");
    error_page(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "The database did not answer. Try again in a moment.",
    )
}

pub(crate) fn not_found(state: &Provider) -> Response {
    error_page(
        state,
        StatusCode::NOT_FOUND,
        "Not Found",
        "There is no such row.",
    )
}

/// Render an admin page for `account`.
pub(crate) fn page(
    state: &Provider,
    account: &Account,
    name: &str,
    ctx: Value,
    status: StatusCode,
) -> Response {
    let resp = render(state, name, context! { ..account.chrome(), ..ctx }, status);
    account.finish(state, resp)
}

/// The row a point read found, or the 404 page (none) or the 503 page (a store failure).
pub(crate) fn found<T>(
    state: &Provider,
    read: Result<Option<T>, StoreError>,
) -> Result<T, Response> {
    match read {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(not_found(state)),
        Err(e) => Err(unavailable(state, e)),
    }
}

/// A row id from the path, or the 404 page.
pub(crate) fn row_id(state: &Provider, pk: &str) -> Result<Id, Response> {
    pk.parse::<Id>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| not_found(state))
}

/// The first characters of a digest: enough to tell rows apart, useless to an attacker.
pub(crate) fn short(checksum: &str) -> String {
    let prefix: String = checksum.chars().take(8).collect();
    format!("{prefix}…")
}

/// `GET /admin/`.
async fn index(State(state): State<Provider>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let account = or_page!(staff(&state, &parts).await);
    let sections: Vec<Value> = Kind::ALL
        .iter()
        .map(|k| context! { title => k.plural(), url => k.list_url(), description => k.description() })
        .collect();
    page(
        &state,
        &account,
        "oauth_toolkit/admin/index.html",
        context! { sections => sections },
        StatusCode::OK,
    )
}
