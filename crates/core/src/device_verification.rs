//! RFC 8628 §3.3: the user's side of the device flow (DOT's `device/`, `device-confirm/` and
//! `device-grant-status/` pages, without the HTML).
//!
//! 1. The logged-in user enters the user code: it must exist, not be expired, still be
//!    pending, and not be taken by another user. Entering it binds the grant to the user
//!    (the first user keeps it: a second account that types the same code is told it has
//!    been used).
//! 2. Only that user sees the grant afterwards (confirm and status pages), and decides:
//!    pending → authorized or denied.

use crate::context::Ctx;
use crate::error::OAuthError;
use crate::models::{Application, DeviceGrant, DeviceGrantStatus, Id};
use crate::scopes::parse_scopes;
use crate::throttle::{self, throttle_key, Limit, ThrottleKind, Throttled};

/// Longest input looked at as a user code (spaces and dashes included).
const MAX_USER_CODE_INPUT: usize = 64;

/// Why an entered code is refused, with DOT's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryError {
    /// No usable device authorization has this code.
    Incorrect,
    /// The code's authorization was already decided, or entered by another user.
    AlreadyUsed,
    /// The code's authorization expired.
    Expired,
    /// Too many wrong codes from this account (RFC 8628 §5.1); the code was not looked up.
    Throttled(Throttled),
}

impl EntryError {
    /// The message shown to the user (DOT's wording).
    pub fn message(self) -> &'static str {
        match self {
            EntryError::Incorrect => "Incorrect user code",
            EntryError::AlreadyUsed => "User code has already been used",
            EntryError::Expired => "Expired user code",
            EntryError::Throttled(_) => "Too many incorrect user codes. Try again later.",
        }
    }
}

/// The user's decision on the confirmation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve the device's request.
    Accept,
    /// Refuse the device's request.
    Deny,
}

impl Decision {
    /// The form's `action` value (`accept` / `deny`); anything else is `None`.
    pub fn parse(action: &str) -> Option<Decision> {
        match action {
            "accept" => Some(Decision::Accept),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
}

/// The stored form of a typed user code: dashes and whitespace dropped, upper case
/// (RFC 8628 §6.1). `None` for input that cannot be a user code.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > MAX_USER_CODE_INPUT {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// Step 1: the user entered `input`. On success the grant is bound to `user_id` and the
/// grant is returned (its `user_code` is the stored form, for the confirmation URL).
pub async fn enter_user_code(
    ctx: &Ctx<'_>,
    user_id: Id,
    input: &str,
) -> Result<Result<DeviceGrant, EntryError>, OAuthError> {
    // Counted before the lookup, so concurrent guesses cannot all pass; a correct code
    // resets the count.
    let key = throttle_key(ThrottleKind::DeviceUserCode, &[&user_id.to_be_bytes()]);
    let limit = Limit::device_user_code(ctx.settings);
    if let Err(t) = throttle::count(ctx.store, &key, limit, ctx.now).await? {
        tracing::info!(
            user_id,
            "device user code entry refused: too many incorrect codes"
        );
        return Ok(Err(EntryError::Throttled(t)));
    }
    let entered = lookup_user_code(ctx, user_id, input).await?;
    if entered.is_ok() && limit.is_on() {
        ctx.store.clear_attempts(&key).await?;
    }
    Ok(entered)
}

async fn lookup_user_code(
    ctx: &Ctx<'_>,
    user_id: Id,
    input: &str,
) -> Result<Result<DeviceGrant, EntryError>, OAuthError> {
    let Some(code) = normalize_user_code(input) else {
        return Ok(Err(EntryError::Incorrect));
    };
    let Some(grant) = ctx.store.find_device_grant_by_user_code(&code).await? else {
        return Ok(Err(EntryError::Incorrect));
    };
    if grant.is_expired(ctx.now) {
        expire(ctx, &grant).await?;
        return Ok(Err(EntryError::Expired));
    }
    if grant.status != DeviceGrantStatus::AuthorizationPending {
        return Ok(Err(EntryError::AlreadyUsed));
    }
    let app = ctx
        .store
        .find_application_by_client_id(&grant.client_id)
        .await?
        .filter(Application::is_usable);
    if app.is_none() {
        return Ok(Err(EntryError::Incorrect));
    }
    if !ctx.store.bind_device_grant(grant.id, user_id).await? {
        tracing::info!(
            grant_id = grant.id,
            user_id,
            "device code entered by a second user: refused"
        );
        return Ok(Err(EntryError::AlreadyUsed));
    }
    tracing::info!(grant_id = grant.id, user_id, "device code entered");
    Ok(Ok(DeviceGrant {
        user_id: Some(user_id),
        ..grant
    }))
}

/// Mark a pending grant whose time is up as expired (DOT's `is_expired()` side effect).
async fn expire(ctx: &Ctx<'_>, grant: &DeviceGrant) -> Result<(), OAuthError> {
    if grant.status == DeviceGrantStatus::AuthorizationPending {
        ctx.store
            .transition_device_grant(
                grant.id,
                DeviceGrantStatus::AuthorizationPending,
                DeviceGrantStatus::Expired,
                None,
            )
            .await?;
    }
    Ok(())
}

/// The grant behind a confirmation or status URL, if `user_id` entered its code: the same
/// `client_id` and user code (typed forms accepted), bound to this user. Anyone else gets
/// `None` (a 404: whether the code exists is not told).
pub async fn grant_of_user(
    ctx: &Ctx<'_>,
    client_id: &str,
    user_code: &str,
    user_id: Id,
) -> Result<Option<(DeviceGrant, Application)>, OAuthError> {
    let Some(code) = normalize_user_code(user_code) else {
        return Ok(None);
    };
    let Some(grant) = ctx.store.find_device_grant_by_user_code(&code).await? else {
        return Ok(None);
    };
    if grant.client_id != client_id || grant.user_id != Some(user_id) {
        return Ok(None);
    }
    let app = ctx
        .store
        .find_application_by_client_id(&grant.client_id)
        .await?
        .filter(Application::is_usable);
    Ok(app.map(|app| (grant, app)))
}

/// The status a user is shown: a pending grant whose time is up is expired (and is marked so).
pub async fn current_status(
    ctx: &Ctx<'_>,
    grant: &DeviceGrant,
) -> Result<DeviceGrantStatus, OAuthError> {
    if grant.status == DeviceGrantStatus::AuthorizationPending && grant.is_expired(ctx.now) {
        expire(ctx, grant).await?;
        return Ok(DeviceGrantStatus::Expired);
    }
    Ok(grant.status)
}

/// Step 2: the user's decision on a grant from [`grant_of_user`]. Only a pending, unexpired
/// grant changes; the status after the call is returned (a decision taken meanwhile in
/// another tab stays).
pub async fn decide(
    ctx: &Ctx<'_>,
    grant: &DeviceGrant,
    user_id: Id,
    decision: Decision,
) -> Result<DeviceGrantStatus, OAuthError> {
    let status = current_status(ctx, grant).await?;
    if status != DeviceGrantStatus::AuthorizationPending {
        return Ok(status);
    }
    let mut to = match decision {
        Decision::Accept => DeviceGrantStatus::Authorized,
        Decision::Deny => DeviceGrantStatus::Denied,
    };
    // The application's access rule: a user who may not use it can only deny.
    if to == DeviceGrantStatus::Authorized && !may_use(ctx, grant, user_id).await? {
        tracing::info!(
            grant_id = grant.id,
            user_id,
            "device grant denied: the user may not use this application"
        );
        to = DeviceGrantStatus::Denied;
    }
    // The binding never changes once set, so the owner checked by `grant_of_user` still holds.
    let moved = ctx
        .store
        .transition_device_grant(
            grant.id,
            DeviceGrantStatus::AuthorizationPending,
            to,
            Some(user_id),
        )
        .await?;
    if moved {
        tracing::info!(grant_id = grant.id, user_id, status = %to, "device grant decided");
        return Ok(to);
    }
    // Decided (or taken) meanwhile: report what is stored now.
    let now = ctx
        .store
        .find_device_grant(&grant.device_code_checksum)
        .await?;
    Ok(now.map(|g| g.status).unwrap_or(to))
}

async fn may_use(ctx: &Ctx<'_>, grant: &DeviceGrant, user_id: Id) -> Result<bool, OAuthError> {
    let Some(account) = crate::users::account_by_id(ctx, user_id).await? else {
        return Ok(false);
    };
    let Some(application) = ctx
        .store
        .find_application_by_client_id(&grant.client_id)
        .await?
    else {
        return Ok(false);
    };
    Ok(account.is_active
        && ctx
            .hooks
            .application_access
            .may_use(&account, &application)
            .await)
}

/// DOT's status display ("Device Authorized", …).
pub fn status_display(status: DeviceGrantStatus) -> &'static str {
    match status {
        DeviceGrantStatus::AuthorizationPending => "Authorization pending",
        DeviceGrantStatus::Authorized => "Authorized",
        DeviceGrantStatus::Denied => "Denied",
        DeviceGrantStatus::Expired => "Expired",
    }
}

/// (name, description) of the grant's scopes, in their order; unknown names describe
/// themselves.
pub fn scope_descriptions(
    settings: &crate::settings::Settings,
    grant: &DeviceGrant,
) -> Vec<(String, String)> {
    let all = settings.scopes();
    parse_scopes(&grant.scope)
        .into_iter()
        .map(|s| {
            let d = all.get(&s).cloned().unwrap_or_else(|| s.clone());
            (s, d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(
            normalize_user_code("wdjb-mjht").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code(" WDJB MJHT\t").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(normalize_user_code("xyz").as_deref(), Some("XYZ"));
        for bad in ["", "--", "WDJB\0MJHT", "é", "WDJB/MJHT", &"A".repeat(65)] {
            assert_eq!(normalize_user_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(Decision::parse("accept"), Some(Decision::Accept));
        assert_eq!(Decision::parse("deny"), Some(Decision::Deny));
        assert_eq!(Decision::parse("foo"), None);
        assert_eq!(Decision::parse("Accept"), None);
    }
}
