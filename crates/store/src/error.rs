//! sqlx errors → the core's `StoreError`, keeping the cause.

use oauth_toolkit_core::store::StoreError;

/// What a unique constraint protects, in words for the CLI and logs.
pub(crate) fn describe_unique(text: &str) -> String {
    let known = [
        ("client_id", "an application with this client_id"),
        ("username", "a user with this username"),
        ("user_code", "a device grant with this user_code"),
        (
            "device_code_checksum",
            "a device grant with this device_code",
        ),
        ("code_checksum", "a grant with this code"),
        ("token_checksum", "a token with this value"),
        ("jti", "an ID token with this jti"),
        (
            "source_refresh_token_id",
            "an access token from this refresh token",
        ),
        ("access_token_id", "a refresh token for this access token"),
        ("id_token_id", "an access token for this ID token"),
    ];
    known
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, what)| what.to_string())
        .unwrap_or_else(|| "a row with these values".to_string())
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or(""), db.message());
            StoreError::Conflict(describe_unique(&text))
        }
        // PostgreSQL: invalid byte sequence (NUL) / untranslatable character.
        sqlx::Error::Database(db)
            if matches!(db.code().as_deref(), Some("22021") | Some("22P05")) =>
        {
            StoreError::Invalid("text with a NUL byte or invalid encoding".to_string())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference("a referenced row".to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// A lookup key that no stored row can have: PostgreSQL rejects NUL bytes in text outright,
/// and we never store one, so such a lookup is simply "not found" on both backends.
pub(crate) fn unstorable(key: &str) -> bool {
    key.contains('\0')
}
