//! Who the users are: the [`UserSource`] a library user implements over their own user
//! table (string subjects, their own password checks), and the provider's own user table as
//! the default source.
//!
//! Tokens, codes and sessions keep a foreign key to a row of the provider's user table, so
//! that deleting it cascades and the hot paths read a token with its owner in one statement.
//! With the provider's own users that row *is* the user and the subject is its id. With a
//! [`UserSource`] of an application's own, the row is only a link: its `username` column holds
//! the application's subject, it has no usable password, and everything else about the user
//! (whether they are active, their claims) is asked of the source when a token is used. The
//! link row is created the first time a subject signs in (see [`local_id_for_subject`]).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::context::Ctx;
use crate::models::{Id, NewUser, User};
use crate::store::StoreError;

/// A user as the provider needs to know them.
#[derive(Clone, PartialEq)]
pub struct Account {
    /// Stable, unique, never reassigned: the OpenID Connect `sub`.
    pub subject: String,
    /// What introspection reports as `username` and pages show.
    pub username: String,
    /// An inactive user's tokens, codes and sessions are refused while they are.
    pub is_active: bool,
    /// The standard claims the source has a value for (OIDC Core §5.1: `name`, `email`,
    /// `given_name`, …), released by scope and by the `claims` request parameter.
    pub claims: Map<String, Value>,
}

impl std::fmt::Debug for Account {
    // Claims are personal data: the log gets their names, not their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("subject", &self.subject)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The users of an application that brings its own. Failures are [`StoreError`]s (wrap your
/// own with `StoreError::Backend(Box::new(e))`): a user source is a store of users.
#[async_trait]
pub trait UserSource: Send + Sync {
    /// The user with this subject, active or not; `None` when there is none.
    async fn find_by_subject(&self, subject: &str) -> Result<Option<Account>, StoreError>;

    /// Check a username and password (the provider's login page, the password grant).
    /// `None`: wrong, unknown or inactive — the provider says no more than that. The
    /// provider throttles guesses before it calls this. The default supports no passwords:
    /// an application with its own login page brings a `CurrentUser` instead.
    async fn authenticate(
        &self,
        _username: &str,
        _password: &str,
    ) -> Result<Option<Account>, StoreError> {
        Ok(None)
    }
}

/// The account of the provider's own user row.
pub fn account_of_user(user: &User) -> Account {
    let mut claims = Map::new();
    let name = format!("{} {}", user.first_name.trim(), user.last_name.trim());
    let name = name.trim();
    if !name.is_empty() {
        claims.insert("name".into(), name.into());
    }
    if !user.first_name.is_empty() {
        claims.insert("given_name".into(), user.first_name.clone().into());
    }
    if !user.last_name.is_empty() {
        claims.insert("family_name".into(), user.last_name.clone().into());
    }
    claims.insert("preferred_username".into(), user.username.clone().into());
    if !user.email.is_empty() {
        claims.insert("email".into(), user.email.clone().into());
    }
    Account {
        subject: user.id.to_string(),
        username: user.username.clone(),
        is_active: user.is_active,
        claims,
    }
}

/// The subject a row of the provider's user table stands for.
pub fn subject_of_row(ctx: &Ctx<'_>, user: &User) -> String {
    match ctx.users {
        None => user.id.to_string(),
        Some(_) => user.username.clone(),
    }
}

/// The account behind a row of the provider's user table (as read with a token): the row
/// itself for the provider's own users, else the source's answer for the linked subject.
pub async fn account_of_row(ctx: &Ctx<'_>, user: &User) -> Result<Option<Account>, StoreError> {
    match ctx.users {
        None => Ok(Some(account_of_user(user))),
        Some(source) => source.find_by_subject(&user.username).await,
    }
}

/// The account of the user row `id`, or `None` when the row or the user is gone.
pub async fn account_by_id(ctx: &Ctx<'_>, id: Id) -> Result<Option<Account>, StoreError> {
    match ctx.store.get_user(id).await? {
        Some(row) => account_of_row(ctx, &row).await,
        None => Ok(None),
    }
}

/// The provider's user row for `subject`: for its own users the row whose id it is, for a
/// [`UserSource`] the link row, created on first use (race-safe: a concurrent creation's
/// conflict is answered by reading the winner's row).
pub async fn local_id_for_subject(ctx: &Ctx<'_>, subject: &str) -> Result<Option<Id>, StoreError> {
    let Some(_) = ctx.users else {
        return Ok(subject.parse::<Id>().ok());
    };
    if subject.is_empty() || subject.len() > 255 {
        return Ok(None);
    }
    if let Some(row) = ctx.store.find_user_by_username(subject).await? {
        return Ok(Some(row.id));
    }
    match ctx.store.create_user(link_row(subject), ctx.now).await {
        Ok(row) => Ok(Some(row.id)),
        Err(StoreError::Conflict(_)) => Ok(ctx
            .store
            .find_user_by_username(subject)
            .await?
            .map(|r| r.id)),
        Err(e) => Err(e),
    }
}

/// A link row: the subject as username, no usable password, never staff.
fn link_row(subject: &str) -> NewUser {
    NewUser {
        username: subject.to_string(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password: "!".into(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
    }
}

/// Is the owner of a token (its user row as read with it) allowed to use it now?
pub async fn row_allowed(ctx: &Ctx<'_>, user: Option<&User>) -> Result<bool, StoreError> {
    let Some(user) = user else {
        return Ok(false);
    };
    if ctx.users.is_none() {
        return Ok(user.is_active);
    }
    Ok(account_of_row(ctx, user)
        .await?
        .is_some_and(|a| a.is_active))
}

/// When a login through a [`UserSource`] succeeded: its link row (the login time is not
/// recorded, the source owns that).
pub async fn link_account(ctx: &Ctx<'_>, account: &Account) -> Result<Option<User>, StoreError> {
    match local_id_for_subject(ctx, &account.subject).await? {
        Some(id) => ctx.store.get_user(id).await,
        None => Ok(None),
    }
}

/// The owner of a token, as read with it: `Ok(Some(None))` when the token has no user
/// (`client_credentials`), `Ok(Some(Some(account)))` when its user may use it, `Ok(None)`
/// when the user is gone or inactive.
pub async fn token_owner(
    ctx: &Ctx<'_>,
    user_id: Option<Id>,
    row: Option<&User>,
) -> Result<Option<Option<Account>>, StoreError> {
    if user_id.is_none() {
        return Ok(Some(None));
    }
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(account_of_row(ctx, row)
        .await?
        .filter(|a| a.is_active)
        .map(Some))
}
