//! Checking a user's username and password (the login form, the password grant).

use std::sync::OnceLock;

use time::OffsetDateTime;

use crate::models::User;
use crate::password::{hash_password, verify_password, PasswordCheck};
use crate::store::{StoreError, UserStore};

/// A hash to verify against when the username is unknown, so that a wrong username costs
/// as much time as a wrong password and does not reveal which usernames exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// The active user with this username and password, or `None`. On success the login time is
/// recorded, and a hash in an older format (e.g. Django's PBKDF2) is replaced by argon2id.
pub async fn authenticate(
    store: &(impl UserStore + ?Sized),
    username: &str,
    password: &str,
    now: OffsetDateTime,
) -> Result<Option<User>, StoreError> {
    let Some(user) = store.find_user_by_username(username).await? else {
        let _ = verify_password(password, decoy_hash());
        return Ok(None);
    };
    let check = verify_password(password, &user.password);
    if !user.is_active {
        return Ok(None);
    }
    let PasswordCheck::Valid { needs_upgrade } = check else {
        return Ok(None);
    };
    let mut user = user;
    if needs_upgrade {
        match hash_password(password) {
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
    Ok(Some(user))
}
