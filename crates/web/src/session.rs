//! Browser sessions: a private cookie (AES-256-GCM, authenticated and encrypted with a key
//! derived from [`Provider::secret_key`]), so that any process sharing the key can serve any
//! step of a flow and nothing lives in one process's memory.
//!
//! The cookie holds the user id, the time of the real authentication (`auth_time`, which
//! OpenID Connect reports), a random session id (`sid`), the CSRF token of the forms and a
//! digest of the user's password hash: changing the password ends every session, as in
//! Django. It is `HttpOnly`, `SameSite=Lax`, `Secure` when the provider's public URL is
//! `https`, and expires after [`SESSION_MAX_AGE_SECONDS`] (Django's `SESSION_COOKIE_AGE`),
//! checked inside the encrypted payload too.
//!
//! A signed-in session also has a row in the database (`SessionStore`, keyed by the SHA-256 of
//! its `sid`), which every request checks: logging out deletes it, and so do deactivating the
//! user and setting a new password, so a copy of the cookie stops working in every process at
//! once. Anonymous sessions (a CSRF token for the login form) have no row.
//!
//! Who is logged in is asked through the [`CurrentUser`] trait, so an application embedding
//! the provider can plug its own login in; [`CookieSessionUser`] is the default.

use async_trait::async_trait;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, CookieJar, Key, SameSite};
use hmac::{Hmac, Mac};
use oauth_toolkit_core::generators::{random_string, ALPHANUMERIC};
use oauth_toolkit_core::models::{Id, User};
use oauth_toolkit_core::store::StoreError;
use oauth_toolkit_core::token_checksum::token_checksum;
use oauth_toolkit_core::users::{local_id_for_subject, row_allowed, subject_of_row};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::Provider;

/// The cookie's name (Django's).
pub const SESSION_COOKIE: &str = "sessionid";
/// Two weeks, Django's `SESSION_COOKIE_AGE`.
pub const SESSION_MAX_AGE_SECONDS: i64 = 14 * 24 * 3600;
/// Length of the random session id and CSRF token (≈ 190 bits each).
const RANDOM_LENGTH: usize = 32;

/// Who is logged in, as far as the provider needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    /// The user's subject (the OpenID Connect `sub`): the provider's user id, or the subject
    /// the application's [`UserSource`](oauth_toolkit_core::users::UserSource) knows them by.
    pub subject: String,
    /// When the user really authenticated (unix seconds), for OIDC `auth_time`.
    pub auth_time: i64,
    /// The session id, when the session has one (OIDC `sid`).
    pub sid: Option<String>,
}

impl SessionUser {
    /// The provider's user row for this subject (a link row, created on first use, when the
    /// users come from the application's source). `None`: no such user.
    pub(crate) async fn local_id(&self, state: &Provider) -> Result<Option<Id>, StoreError> {
        local_id_for_subject(&state.ctx(), &self.subject).await
    }
}

/// The provider's user row of the signed-in user, if any (a store failure is logged and
/// counts as signed out).
pub(crate) async fn current_local_user(state: &Provider, parts: &Parts) -> Option<Id> {
    let user = state.current_user.current_user(parts, state).await?;
    match user.local_id(state).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "cannot map the signed-in subject; treated as signed out");
            None
        }
    }
}

/// Tells the provider who is logged in. Implement it to use an application's own login and
/// set it with [`ProviderBuilder::current_user`](crate::ProviderBuilder::current_user); the
/// default is the provider's own login pages' cookie session ([`CookieSessionUser`]).
#[async_trait]
pub trait CurrentUser: Send + Sync {
    /// The signed-in, active user of this request, or `None` (the provider then sends the
    /// browser to `login_url` with `next`).
    async fn current_user(&self, parts: &Parts, state: &Provider) -> Option<SessionUser>;
}

/// The default [`CurrentUser`]: the provider's own cookie session, for an existing active
/// user whose password has not changed since the login.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieSessionUser;

#[async_trait]
impl CurrentUser for CookieSessionUser {
    async fn current_user(&self, parts: &Parts, state: &Provider) -> Option<SessionUser> {
        let session = Session::from_headers(&parts.headers, state)?;
        let (user_id, auth_time) = (session.uid?, session.auth_time?);
        let digest = session.uh.clone()?;
        // The session must still exist server-side (not logged out or revoked).
        let ctx = state.ctx();
        let user = match ctx
            .store
            .find_session_user(&session.checksum(), ctx.now)
            .await
        {
            Ok(Some(u)) => u,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the session's user; treated as logged out");
                return None;
            }
        };
        let expected = user_digest(&state.secret_key, &user)?;
        let same = bool::from(expected.as_bytes().ct_eq(digest.as_bytes()));
        if user.id != user_id || !user.is_active || !same {
            return None;
        }
        // With the application's own users, the source says whether they are still active.
        if ctx.users.is_some() {
            match row_allowed(&ctx, Some(&user)).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot ask the user source; treated as logged out");
                    return None;
                }
            }
        }
        Some(SessionUser {
            subject: subject_of_row(&ctx, &user),
            auth_time,
            sid: Some(session.sid),
        })
    }
}

/// The decrypted content of the session cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The logged-in user; `None` for an anonymous session (one that only carries a CSRF
    /// token for a form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Digest of the user's password hash at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uh: Option<String>,
    pub sid: String,
    pub csrf: String,
    /// When this cookie was made (unix seconds).
    pub iat: i64,
}

impl std::fmt::Debug for Session {
    // The session id, CSRF token and password digest are secrets: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("uid", &self.uid)
            .field("auth_time", &self.auth_time)
            .field("uh", &self.uh.as_ref().map(|_| "***"))
            .field("sid", &"***")
            .field("csrf", &"***")
            .field("iat", &self.iat)
            .finish()
    }
}

impl Session {
    /// A session with no user: fresh session id and CSRF token.
    pub fn anonymous(now: OffsetDateTime) -> Session {
        Session {
            uid: None,
            auth_time: None,
            uh: None,
            sid: random_string(RANDOM_LENGTH, ALPHANUMERIC),
            csrf: random_string(RANDOM_LENGTH, ALPHANUMERIC),
            iat: now.unix_timestamp(),
        }
    }

    /// The session after `user` logged in at `now`. Session id and CSRF token are new, so
    /// that nothing planted before the login (session fixation) survives it.
    pub fn logged_in(user: &User, now: OffsetDateTime, secret_key: &[u8]) -> Session {
        Session {
            uid: Some(user.id),
            auth_time: Some(now.unix_timestamp()),
            uh: user_digest(secret_key, user),
            ..Session::anonymous(now)
        }
    }

    /// The digest of the session id: what the database keeps.
    pub fn checksum(&self) -> String {
        token_checksum(&self.sid)
    }

    /// Record a signed-in session in the database (after [`Session::logged_in`]).
    pub async fn save(&self, state: &Provider) -> Result<(), StoreError> {
        let Some(user_id) = self.uid else {
            return Ok(());
        };
        let now = state.clock.now();
        let auth_time = self
            .auth_time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or(now);
        let expires = now + time::Duration::seconds(SESSION_MAX_AGE_SECONDS);
        state
            .store
            .create_session(&self.checksum(), user_id, auth_time, expires, now)
            .await
    }

    /// End this session in the database (its cookie, and every copy, stop working).
    pub async fn end(&self, state: &Provider) -> Result<(), StoreError> {
        if self.uid.is_some() {
            state.store.delete_session(&self.checksum()).await?;
        }
        Ok(())
    }

    /// The valid session carried by the request, if any (forged, tampered with, expired or
    /// undecryptable cookies are ignored).
    pub fn from_headers(headers: &HeaderMap, state: &Provider) -> Option<Session> {
        let key = cookie_key(&state.secret_key)?;
        let now = state.clock.now().unix_timestamp();
        let jar = CookieJar::new();
        let private = jar.private(&key);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| value.to_string())
            })
            .find_map(|value| {
                let plain = private.decrypt(Cookie::new(SESSION_COOKIE, value))?;
                let session: Session = serde_json::from_str(plain.value()).ok()?;
                // Made within the cookie's lifetime (and not in the future, allowing skew).
                let fresh = session.iat <= now + 300 && now - session.iat < SESSION_MAX_AGE_SECONDS;
                fresh.then_some(session)
            })
    }

    /// The `Set-Cookie` header that stores this session.
    pub fn set_cookie(&self, state: &Provider) -> Option<HeaderValue> {
        let json = serde_json::to_string(self).ok()?;
        let mut jar = CookieJar::new();
        jar.private_mut(&cookie_key(&state.secret_key)?).add(
            base_cookie(state, json).max_age(time::Duration::seconds(SESSION_MAX_AGE_SECONDS)),
        );
        let cookie = jar.get(SESSION_COOKIE)?;
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// The `Set-Cookie` header that deletes the session cookie.
    pub fn clear_cookie(state: &Provider) -> HeaderValue {
        let cookie = base_cookie(state, String::new())
            .max_age(time::Duration::ZERO)
            .expires(OffsetDateTime::UNIX_EPOCH)
            .build();
        HeaderValue::from_str(&cookie.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("sessionid=; Max-Age=0; Path=/"))
    }

    /// The session of the request, or a new anonymous one; `true` when it is new (and must
    /// be sent with [`Session::set_cookie`]).
    pub fn current_or_new(headers: &HeaderMap, state: &Provider) -> (Session, bool) {
        match Session::from_headers(headers, state) {
            Some(s) => (s, false),
            None => (Session::anonymous(state.clock.now()), true),
        }
    }
}

fn base_cookie(state: &Provider, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(is_https(state))
}

/// Cookies are `Secure` when the provider's public URL is https.
pub fn is_https(state: &Provider) -> bool {
    state
        .settings
        .base_url()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// Separate keys for separate uses, all derived from the master key with HMAC-SHA-512.
/// Fails closed: no key at all (an empty master key, or an HMAC error) rather than a zero key.
fn derive(secret_key: &[u8], label: &[u8]) -> Option<[u8; 64]> {
    if secret_key.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha512>::new_from_slice(secret_key).ok()?;
    mac.update(label);
    let mut out = [0u8; 64];
    out.copy_from_slice(&mac.finalize().into_bytes());
    Some(out)
}

fn cookie_key(secret_key: &[u8]) -> Option<Key> {
    Some(Key::from(&derive(
        secret_key,
        b"oauth-toolkit session cookie v1",
    )?))
}

/// A digest of the user's id and password hash: a new password ends old sessions. `None`
/// (which matches nothing) when no key can be derived.
fn user_digest(secret_key: &[u8], user: &User) -> Option<String> {
    let key = derive(secret_key, b"oauth-toolkit session user digest v1")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(user.id.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(user.password.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secrets() {
        let mut s = Session::anonymous(OffsetDateTime::UNIX_EPOCH);
        s.uh = Some("digest-value".into());
        let shown = format!("{s:?}");
        for secret in [s.sid.as_str(), s.csrf.as_str(), "digest-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn no_key_no_session() {
        assert!(derive(b"", b"label").is_none());
        assert!(cookie_key(b"").is_none());
        let a = derive(b"k1", b"label").unwrap();
        assert_ne!(a, [0u8; 64]);
        assert_ne!(Some(a), derive(b"k2", b"label"));
        assert_ne!(Some(a), derive(b"k1", b"other"));
    }
}
