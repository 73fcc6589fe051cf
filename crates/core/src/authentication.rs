//! Checking a user's username and password (the login form, the password grant).

use time::OffsetDateTime;

use crate::context::Ctx;
use crate::models::User;
use crate::password::{hash_password_async, verify_decoy, verify_password_async, PasswordCheck};
use crate::store::{StoreError, UserStore};
use crate::throttle::{self, address_part, throttle_key, Limit, ThrottleKind, Throttled};

/// The outcome of a sign-in attempt through the throttle ([`sign_in`]).
#[derive(Debug)]
pub enum SignIn {
    /// The username and password are right: the user, now recorded as signed in.
    Success(Box<User>),
    /// Wrong username or password (or an inactive user): the caller says no more than that.
    Failed,
    /// Too many failures for this username from this address (or from this address): the
    /// password was not checked.
    Throttled(Throttled),
}

/// [`authenticate`] behind the sign-in throttles (`login_failure_limit` per username and
/// address, `login_failure_address_limit` per address; see [`crate::throttle`]). Used by the
/// login page and the password grant alike.
///
/// Failures are counted after the check, so concurrent sign-ins of one user (a service account
/// behind one address) are never refused for their number. Concurrent guesses may all pass the
/// first read; the count is read again after the check, and an attempt that finds the limit
/// reached meanwhile is answered "throttled" whatever its result, so no guess beyond the limit
/// ever tells the guesser whether it was right.
pub async fn sign_in(ctx: &Ctx<'_>, username: &str, password: &str) -> Result<SignIn, StoreError> {
    let (store, settings, now) = (ctx.store, ctx.settings, ctx.now);
    let addr = address_part(ctx.peer);
    let user_key = throttle_key(ThrottleKind::Login, &[username.as_bytes(), &addr]);
    let addr_key = throttle_key(ThrottleKind::LoginAddress, &[&addr]);
    let (user_limit, addr_limit) = (Limit::login(settings), Limit::login_address(settings));
    if let Err(t) = throttle::check(store, &user_key, user_limit, now).await? {
        tracing::info!("sign-in refused: too many failures for this username from this address");
        return Ok(SignIn::Throttled(t));
    }
    if let Err(t) = throttle::check(store, &addr_key, addr_limit, now).await? {
        tracing::info!("sign-in refused: too many failures from this address");
        return Ok(SignIn::Throttled(t));
    }
    let checked = match ctx.users {
        None => check_credentials(store, username, password)
            .await?
            .map(Checked::Row),
        Some(source) => source
            .authenticate(username, password)
            .await?
            .filter(|a| a.is_active)
            .map(Checked::Account),
    };
    let Some(checked) = checked else {
        for (key, limit) in [(&user_key, user_limit), (&addr_key, addr_limit)] {
            if let Err(t) = throttle::count(store, key, limit, now).await? {
                return Ok(SignIn::Throttled(t));
            }
        }
        return Ok(SignIn::Failed);
    };
    // A guess that was right but raced past the limit is not told so.
    if let Err(t) = throttle::check(store, &user_key, user_limit, now).await? {
        tracing::info!("sign-in refused: the limit was reached while the password was checked");
        return Ok(SignIn::Throttled(t));
    }
    if user_limit.is_on() {
        store.clear_attempts(&user_key).await?;
    }
    let user = match checked {
        Checked::Row(row) => complete_login(store, row, password, now).await?,
        Checked::Account(account) => match crate::users::link_account(ctx, &account).await? {
            Some(row) => row,
            None => return Ok(SignIn::Failed),
        },
    };
    Ok(SignIn::Success(Box::new(user)))
}

/// A right password: the provider's own user row (and whether its hash needs an upgrade), or
/// the account an application's user source vouched for.
enum Checked {
    Row((User, bool)),
    Account(crate::users::Account),
}

/// The active user with this username and password, or `None`. On success the login time is
/// recorded, and a hash in an older format (e.g. Django's PBKDF2) is replaced by argon2id.
pub async fn authenticate(
    store: &(impl UserStore + ?Sized),
    username: &str,
    password: &str,
    now: OffsetDateTime,
) -> Result<Option<User>, StoreError> {
    match check_credentials(store, username, password).await? {
        Some(user) => Ok(Some(complete_login(store, user, password, now).await?)),
        None => Ok(None),
    }
}

/// The active user with this username and password, or `None`; writes nothing.
async fn check_credentials(
    store: &(impl UserStore + ?Sized),
    username: &str,
    password: &str,
) -> Result<Option<(User, bool)>, StoreError> {
    let Some(user) = store.find_user_by_username(username).await? else {
        verify_decoy(password).await;
        return Ok(None);
    };
    // Through the slow hash gate: off the async workers, at most one hash per core.
    let check = verify_password_async(password, &user.password).await;
    if !user.is_active {
        return Ok(None);
    }
    let PasswordCheck::Valid { needs_upgrade } = check else {
        return Ok(None);
    };
    Ok(Some((user, needs_upgrade)))
}

/// After a successful check: upgrade an old hash format, record the login time.
async fn complete_login(
    store: &(impl UserStore + ?Sized),
    (mut user, needs_upgrade): (User, bool),
    password: &str,
    now: OffsetDateTime,
) -> Result<User, StoreError> {
    if needs_upgrade {
        match hash_password_async(password).await {
            Ok(hash) => {
                store.set_user_password(user.id, &hash).await?;
                tracing::info!(user_id = user.id, "password hash upgraded to argon2id");
                user.password = hash;
            }
            Err(e) => tracing::warn!(user_id = user.id, "could not upgrade password hash: {e}"),
        }
    }
    store.record_login(user.id, now).await?;
    user.last_login = Some(now);
    Ok(user)
}

#[cfg(test)]
mod tests {
    use crate::password::{hash_password, verify_password, DECOY_HASH};
    use argon2::password_hash::PasswordHash;

    #[test]
    fn the_decoy_costs_what_a_new_hash_costs() {
        let decoy = PasswordHash::new(DECOY_HASH).unwrap();
        let fresh_string = hash_password("x").unwrap();
        let fresh = PasswordHash::new(&fresh_string).unwrap();
        assert_eq!(decoy.algorithm, fresh.algorithm);
        assert_eq!(decoy.version, fresh.version);
        assert_eq!(decoy.params, fresh.params);
        assert_eq!(decoy.hash.map(|h| h.len()), fresh.hash.map(|h| h.len()));
        // A real, verifiable hash: the check runs the full argon2 computation.
        assert!(verify_password("decoy password", DECOY_HASH).is_valid());
    }
}
