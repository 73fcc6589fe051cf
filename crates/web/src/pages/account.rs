//! Who is looking at a page: the signed-in user (for the pages that need one, which send
//! anyone else to `login_url`), their session's CSRF token, and what the header of every
//! page shows of them.

use axum::http::request::Parts;
use axum::response::Response;
use minijinja::{context, Value};
use oauth_toolkit_core::models::User;

use super::{login_location, redirect, set_cookie};
use crate::session::{current_local_user, Session};
use crate::Provider;

/// A signed-in, active user and the session whose CSRF token their forms carry.
pub(crate) struct Account {
    /// The provider's row of the user.
    pub user: User,
    /// The session cookie's content (an anonymous one, made now, when the user comes from
    /// an application's own login and has no provider cookie yet).
    pub session: Session,
    /// The session is new and must be sent with the response.
    new_session: bool,
}

impl Account {
    /// The signed-in user of this request, if any.
    pub async fn current(state: &Provider, parts: &Parts) -> Option<Account> {
        let id = current_local_user(state, parts).await?;
        let user = match state.store.get_user(id).await {
            Ok(Some(u)) if u.is_active => u,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the signed-in user; treated as signed out");
                return None;
            }
        };
        let (session, new_session) = Session::current_or_new(&parts.headers, state);
        Some(Account {
            user,
            session,
            new_session,
        })
    }

    /// The signed-in user, or the redirect to `login_url` with `next` = this page.
    pub async fn required(state: &Provider, parts: &Parts) -> Result<Account, Response> {
        match Account::current(state, parts).await {
            Some(a) => Ok(a),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                Err(redirect(state, &login_location(&state.settings, next)))
            }
        }
    }

    /// What the header of a page shows: `current_user` and `csrf_token` (for sign-out).
    pub fn chrome(&self) -> Value {
        context! {
            current_user => context! {
                username => self.user.username.clone(),
                is_staff => self.user.is_staff,
            },
            csrf_token => self.session.csrf.clone(),
        }
    }

    /// Send the session cookie with `resp` when it was made for this request.
    pub fn finish(&self, state: &Provider, mut resp: Response) -> Response {
        if self.new_session {
            set_cookie(&mut resp, self.session.set_cookie(state));
        }
        resp
    }
}

/// The header's values for a page that may or may not have a signed-in user.
pub(crate) fn chrome_of(account: Option<&Account>) -> Value {
    account.map(Account::chrome).unwrap_or_else(|| context! {})
}
