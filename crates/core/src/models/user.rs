use time::OffsetDateTime;

use super::Id;

/// A person who can sign in (the server's own user store; Django's `auth.User` fields).
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The row id (the subject, `sub`, of the provider's own users).
    pub id: Id,
    /// The sign-in name: unique, 1–150 characters of letters, digits and `@.+-_`.
    pub username: String,
    /// The email address; empty when unknown.
    pub email: String,
    /// The given name; empty when unknown.
    pub first_name: String,
    /// The family name; empty when unknown.
    pub last_name: String,
    /// argon2id PHC string, a Django `pbkdf2_sha256$…` hash, or `!…` (unusable).
    pub password: String,
    /// Whether the user may sign in and use their tokens.
    pub is_active: bool,
    /// Django's staff flag, kept for imported users; the provider does not act on it.
    pub is_staff: bool,
    /// Django's superuser flag, kept for imported users; the provider does not act on it.
    pub is_superuser: bool,
    /// When the user was created.
    pub date_joined: OffsetDateTime,
    /// When the user last signed in; `None` if never.
    pub last_login: Option<OffsetDateTime>,
}

impl std::fmt::Debug for User {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let User {
            id,
            username,
            email,
            first_name,
            last_name,
            password,
            is_active,
            is_staff,
            is_superuser,
            date_joined,
            last_login,
        } = self;
        f.debug_struct("User")
            .field("id", id)
            .field("username", username)
            .field("email", email)
            .field("first_name", first_name)
            .field("last_name", last_name)
            .field("password", &crate::redact::Redacted(password))
            .field("is_active", is_active)
            .field("is_staff", is_staff)
            .field("is_superuser", is_superuser)
            .field("date_joined", date_joined)
            .field("last_login", last_login)
            .finish()
    }
}

/// The fields of a user to write; the store assigns the id and `date_joined`.
#[derive(Clone)]
pub struct NewUser {
    /// The sign-in name: unique, 1–150 characters of letters, digits and `@.+-_`.
    pub username: String,
    /// The email address; empty when unknown.
    pub email: String,
    /// The given name; empty when unknown.
    pub first_name: String,
    /// The family name; empty when unknown.
    pub last_name: String,
    /// The password hash (argon2id PHC string or Django `pbkdf2_sha256$…`), never the
    /// plaintext; `!…` for an unusable one.
    pub password: String,
    /// Whether the user may sign in and use their tokens.
    pub is_active: bool,
    /// Django's staff flag; the provider does not act on it.
    pub is_staff: bool,
    /// Django's superuser flag; the provider does not act on it.
    pub is_superuser: bool,
}

impl std::fmt::Debug for NewUser {
    // Secrets print as "***" (destructured: a new field must be classified here).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewUser {
            username,
            email,
            first_name,
            last_name,
            password,
            is_active,
            is_staff,
            is_superuser,
        } = self;
        f.debug_struct("NewUser")
            .field("username", username)
            .field("email", email)
            .field("first_name", first_name)
            .field("last_name", last_name)
            .field("password", &crate::redact::Redacted(password))
            .field("is_active", is_active)
            .field("is_staff", is_staff)
            .field("is_superuser", is_superuser)
            .finish()
    }
}

impl NewUser {
    /// An active user with this username and password hash, and no other details.
    pub fn new(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password: password_hash.into(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
        }
    }
}

/// Django's username rule: 1–150 characters of letters, digits and `@.+-_`.
pub fn validate_username(username: &str) -> Result<(), String> {
    if username.is_empty() || username.chars().count() > 150 {
        return Err("username must be 1 to 150 characters".into());
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        return Err("username may contain only letters, digits and @ . + - _".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("a.b+c@d-e_f").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("has space").is_err());
        assert!(validate_username("nul\0").is_err());
        assert!(validate_username(&"x".repeat(151)).is_err());
    }
}
