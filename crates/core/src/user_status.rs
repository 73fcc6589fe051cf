//! Whether a user's tokens, codes and grants may be used now: the one rule every grant,
//! introspection, userinfo and the local resource validator apply. A user who does not
//! exist or is not active (`is_active = false`) may use nothing; the check is made at use
//! time and deletes nothing, so the tokens of a re-activated user work again.

use crate::models::{Id, User};
use crate::store::{Store, StoreError};

/// Is this (looked-up) user allowed? `None`: the row is gone.
pub fn is_allowed(user: Option<&User>) -> bool {
    user.is_some_and(|u| u.is_active)
}

/// The rule for a token that may have no user (`client_credentials`): allowed when it has
/// none, else when its user (as looked up with it) is allowed.
pub fn owner_allowed(user_id: Option<Id>, user: Option<&User>) -> bool {
    user_id.is_none() || is_allowed(user)
}

/// Look the user up and apply [`is_allowed`].
pub async fn user_allowed(store: &dyn Store, user_id: Id) -> Result<bool, StoreError> {
    Ok(is_allowed(store.get_user(user_id).await?.as_ref()))
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
