//! `UserStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::Run;
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::UserRow;
use crate::sql::users::*;
use crate::time_codec::to_db;

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, u: NewUser, now: OffsetDateTime) -> Result<User, StoreError> {
        self.write(move |c| {
            c.one::<UserRow>(
                INSERT_USER,
                &[
                    &u.username,
                    &u.email,
                    &u.first_name,
                    &u.last_name,
                    &u.password,
                    &u.is_active,
                    &u.is_staff,
                    &u.is_superuser,
                    &to_db(now),
                ],
            )
        })
        .await
        .map(User::from)
    }

    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError> {
        self.read(move |c| c.opt::<UserRow>(SELECT_USER, &[&id]))
            .await
            .map(|r| r.map(User::from))
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        if unstorable(username) {
            return Ok(None);
        }
        let username = username.to_string();
        self.read(move |c| c.opt::<UserRow>(SELECT_USER_BY_USERNAME, &[&username]))
            .await
            .map(|r| r.map(User::from))
    }

    async fn set_user_password(&self, id: Id, password_hash: &str) -> Result<(), StoreError> {
        let password_hash = password_hash.to_string();
        self.write(move |c| c.exec(SET_USER_PASSWORD, &[&id, &password_hash]))
            .await
            .map(|_| ())
    }

    async fn record_login(&self, id: Id, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write(move |c| c.exec(RECORD_LOGIN, &[&id, &to_db(now)]))
            .await
            .map(|_| ())
    }

    async fn update_user(&self, u: &User) -> Result<Option<User>, StoreError> {
        let u = u.clone();
        self.write(move |c| {
            c.opt::<UserRow>(
                UPDATE_USER,
                &[&u.id, &u.email, &u.is_active, &u.is_staff, &u.password],
            )
        })
        .await
        .map(|r| r.map(User::from))
    }
}
