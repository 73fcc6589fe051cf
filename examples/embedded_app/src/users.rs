//! The app's own users, in its own table of its own database: string subjects, its own
//! password hashes. The provider never reads this table; it asks through [`UserSource`].

use std::str::FromStr;

use oauth_toolkit_core::async_trait;
use oauth_toolkit_core::generators::random_string;
use oauth_toolkit_core::password::{hash_password_async, verify_decoy, verify_password_async};
use oauth_toolkit_core::store::StoreError;
use oauth_toolkit_core::users::{Account, UserSource};
use serde_json::Map;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

/// The app's users (and, for the own-login example, its sessions).
#[derive(Clone)]
pub struct AppUsers {
    pool: SqlitePool,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS app_users (
        subject TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        email TEXT NOT NULL,
        full_name TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    )",
    "CREATE TABLE IF NOT EXISTS app_sessions (
        digest TEXT PRIMARY KEY,
        subject TEXT NOT NULL REFERENCES app_users(subject) ON DELETE CASCADE,
        auth_time INTEGER NOT NULL,
        expires INTEGER NOT NULL
    )",
];

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl AppUsers {
    /// Open (and create) the app's database, e.g. `sqlite://app.sqlite3`.
    pub async fn open(url: &str) -> Result<AppUsers, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(AppUsers { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Add a user unless the username exists; returns the user's subject either way.
    pub async fn add(
        &self,
        username: &str,
        password: &str,
        email: &str,
        full_name: &str,
    ) -> anyhow::Result<String> {
        if let Some(row) = sqlx::query("SELECT subject FROM app_users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok(row.get(0));
        }
        let hash = hash_password_async(password).await?;
        let subject = format!(
            "app-{}",
            random_string(16, "abcdefghijklmnopqrstuvwxyz0123456789")
        );
        sqlx::query(
            "INSERT INTO app_users (subject, username, password_hash, email, full_name)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&subject)
        .bind(username)
        .bind(hash)
        .bind(email)
        .bind(full_name)
        .execute(&self.pool)
        .await?;
        Ok(subject)
    }

    /// Activate or deactivate a user (a deactivated user's tokens stop working at once).
    pub async fn set_active(&self, username: &str, active: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE app_users SET active = ? WHERE username = ?")
            .bind(active)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `APP_USERS="alice:secret:alice@example.com,bob:…"`: demo users created at start.
    pub async fn seed(&self, spec: &str) -> anyhow::Result<()> {
        for entry in spec.split(',').filter(|e| !e.trim().is_empty()) {
            let mut fields = entry.trim().splitn(3, ':');
            let (Some(username), Some(password)) = (fields.next(), fields.next()) else {
                anyhow::bail!("APP_USERS: `{entry}` is not username:password[:email]");
            };
            let email = fields.next().unwrap_or("");
            self.add(username, password, email, username).await?;
        }
        Ok(())
    }
}

fn account(row: &sqlx::sqlite::SqliteRow) -> Account {
    let mut claims = Map::new();
    let email: String = row.get("email");
    if !email.is_empty() {
        claims.insert("email".into(), email.into());
    }
    claims.insert("name".into(), row.get::<String, _>("full_name").into());
    claims.insert(
        "preferred_username".into(),
        row.get::<String, _>("username").into(),
    );
    Account {
        subject: row.get("subject"),
        username: row.get("username"),
        is_active: row.get("active"),
        claims,
    }
}

#[async_trait]
impl UserSource for AppUsers {
    async fn find_by_subject(&self, subject: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT * FROM app_users WHERE subject = ?")
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(account))
    }

    // Used by the provider's login page and the password grant, which throttle guesses
    // before they ask.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT * FROM app_users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            // As long as a wrong password: response times do not tell who has an account.
            verify_decoy(password).await;
            return Ok(None);
        };
        let hash: String = row.get("password_hash");
        if !verify_password_async(password, &hash).await.is_valid() {
            return Ok(None);
        }
        Ok(Some(account(&row)).filter(|a| a.is_active))
    }
}
