//! Users: SQL text, and the glue that runs it for each backend.

pub(crate) const INSERT_USER: &str =
    "INSERT INTO oauth_toolkit_user (username, email, first_name, last_name, \
     password, is_active, is_staff, is_superuser, date_joined) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *";

pub(crate) const SELECT_USER: &str = "SELECT * FROM oauth_toolkit_user WHERE id = $1";

pub(crate) const SELECT_USER_BY_USERNAME: &str =
    "SELECT * FROM oauth_toolkit_user WHERE username = $1";

pub(crate) const SET_USER_PASSWORD: &str =
    "UPDATE oauth_toolkit_user SET password = $2 WHERE id = $1";

pub(crate) const RECORD_LOGIN: &str = "UPDATE oauth_toolkit_user SET last_login = $2 WHERE id = $1";

pub(crate) const UPDATE_USER: &str =
    "UPDATE oauth_toolkit_user SET email = $2, is_active = $3, is_staff = $4, \
     password = $5 WHERE id = $1 RETURNING *";

macro_rules! impl_user_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::{map_err, unstorable};
            use crate::rows::UserRow;
            use crate::sql::users::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl UserStore for $store {
                async fn create_user(
                    &self,
                    u: NewUser,
                    now: OffsetDateTime,
                ) -> Result<User, StoreError> {
                    sqlx::query_as::<_, UserRow>(INSERT_USER)
                        .bind(u.username)
                        .bind(u.email)
                        .bind(u.first_name)
                        .bind(u.last_name)
                        .bind(u.password)
                        .bind(u.is_active)
                        .bind(u.is_staff)
                        .bind(u.is_superuser)
                        .bind(to_db(now))
                        .fetch_one(counted(&self.write))
                        .await
                        .map(User::from)
                        .map_err(map_err)
                }

                async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError> {
                    sqlx::query_as::<_, UserRow>(SELECT_USER)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map(|r| r.map(User::from))
                        .map_err(map_err)
                }

                async fn find_user_by_username(
                    &self,
                    username: &str,
                ) -> Result<Option<User>, StoreError> {
                    if unstorable(username) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, UserRow>(SELECT_USER_BY_USERNAME)
                        .bind(username)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map(|r| r.map(User::from))
                        .map_err(map_err)
                }

                async fn set_user_password(
                    &self,
                    id: Id,
                    password_hash: &str,
                ) -> Result<(), StoreError> {
                    sqlx::query(SET_USER_PASSWORD)
                        .bind(id)
                        .bind(password_hash)
                        .execute(counted(&self.write))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }

                async fn record_login(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                ) -> Result<(), StoreError> {
                    sqlx::query(RECORD_LOGIN)
                        .bind(id)
                        .bind(to_db(now))
                        .execute(counted(&self.write))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }

                async fn update_user(&self, u: &User) -> Result<Option<User>, StoreError> {
                    sqlx::query_as::<_, UserRow>(UPDATE_USER)
                        .bind(u.id)
                        .bind(&u.email)
                        .bind(u.is_active)
                        .bind(u.is_staff)
                        .bind(&u.password)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map(|r| r.map(User::from))
                        .map_err(map_err)
                }
            }
        };
    };
}

pub(crate) use impl_user_store;
