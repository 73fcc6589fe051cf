//! Whether a user's tokens, codes and grants may be used now: the one rule every grant,
//! introspection, userinfo and the local resource validator apply. A user who does not
//! exist or is not active (`is_active = false`) may use nothing; the check is made at use
//! time and deletes nothing, so the tokens of a re-activated user work again.

use crate::context::Ctx;
use crate::models::{Id, User};
use crate::store::StoreError;

/// Is this (looked-up) user allowed? `None`: the row is gone.
pub fn is_allowed(user: Option<&User>) -> bool {
    user.is_some_and(|u| u.is_active)
}

/// The rule for a token that may have no user (`client_credentials`): allowed when it has
/// none, else when its user (as looked up with it) is allowed.
pub fn owner_allowed(user_id: Option<Id>, user: Option<&User>) -> bool {
    user_id.is_none() || is_allowed(user)
}

/// Look the user up and apply the rule (through the application's [`crate::users::UserSource`]
/// when it brings one).
pub async fn user_allowed(ctx: &Ctx<'_>, user_id: Id) -> Result<bool, StoreError> {
    let row = ctx.store.get_user(user_id).await?;
    crate::users::row_allowed(ctx, row.as_ref()).await
}

/// [`owner_allowed`] for a token read with its owner's row, asking the application's
/// [`crate::users::UserSource`] when it brings one.
pub async fn token_owner_allowed(
    ctx: &Ctx<'_>,
    user_id: Option<Id>,
    user: Option<&User>,
) -> Result<bool, StoreError> {
    if user_id.is_none() {
        return Ok(true);
    }
    if ctx.users.is_none() {
        return Ok(owner_allowed(user_id, user));
    }
    crate::users::row_allowed(ctx, user).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn user(active: bool) -> User {
        User {
            id: 1,
            username: "u".into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password: String::new(),
            is_active: active,
            is_staff: false,
            is_superuser: false,
            date_joined: OffsetDateTime::UNIX_EPOCH,
            last_login: None,
        }
    }

    #[test]
    fn rule() {
        assert!(is_allowed(Some(&user(true))));
        assert!(!is_allowed(Some(&user(false))));
        assert!(!is_allowed(None));
        assert!(owner_allowed(None, None));
        assert!(!owner_allowed(Some(1), None));
        assert!(!owner_allowed(Some(1), Some(&user(false))));
        assert!(owner_allowed(Some(1), Some(&user(true))));
    }
}
