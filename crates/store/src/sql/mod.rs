//! The SQL of every storage concern, and its sqlx glue for PostgreSQL.
//!
//! Each file is one storage concern (users, applications, grants, tokens, ID tokens, device
//! grants, keys and secrets, sessions and throttles, cleanup) and holds that concern's SQL as
//! named `const`s, readable as they are, followed by a small `macro_rules!` that binds the
//! parameters, runs each const on the right pool or transaction, and maps rows and errors.
//! `impl_sql_store!` expands them all for `PgStore`. SQLite runs the same constants through
//! rusqlite (`sqlite/`, one file per concern).
//!
//! Why macros and not generic functions over `sqlx::Database`: sqlx's drivers are distinct
//! types, and a generic body needs a bound for every bound parameter type, row type and
//! executor (higher-ranked `Executor`, `Encode`, `Decode`, `FromRow`), which `async_trait`'s
//! `Send` futures then often fail to prove. The glue keeps one copy of each query and
//! expands to exactly what a hand-written impl per backend would be.
//!
//! Placeholders are `$N`, which both SQLite and PostgreSQL accept. Writes go through
//! `self.write` (a single connection on SQLite, so writers never fight over the lock), reads
//! through `self.read`. Every statement passes its executor through `stats::counted`.

pub(crate) mod admin;
pub(crate) mod applications;
pub(crate) mod cleanup;
pub(crate) mod device_grants;
pub(crate) mod grants;
pub(crate) mod id_tokens;
pub(crate) mod keys;
pub(crate) mod operations;
pub(crate) mod sessions;
pub(crate) mod token_writes;
pub(crate) mod tokens;
pub(crate) mod users;

pub(crate) const PING: &str = "SELECT 1";

/// What the glue needs to know of each store.
pub(crate) trait SqlBackend {
    /// The sqlx database type (for executors and pools in signatures).
    type Db: sqlx::Database;
    /// `Store::backend_name`.
    const NAME: &'static str;
    /// `CleanupStore::single_writer`: one writer for the whole database.
    const SINGLE_WRITER: bool;
}

impl SqlBackend for crate::PgStore {
    type Db = sqlx::Postgres;
    const NAME: &'static str = "postgres";
    const SINGLE_WRITER: bool = false;
}

/// Every storage trait for `$store` (a type implementing [`SqlBackend`] with `read` and
/// `write` pools).
macro_rules! impl_sql_store {
    ($store:ty) => {
        crate::sql::users::impl_user_store!($store);
        crate::sql::applications::impl_application_store!($store);
        crate::sql::grants::impl_grant_store!($store);
        crate::sql::token_writes::impl_token_writes!($store);
        crate::sql::tokens::impl_token_store!($store);
        crate::sql::id_tokens::impl_id_token_store!($store);
        crate::sql::device_grants::impl_device_grant_store!($store);
        crate::sql::keys::impl_key_stores!($store);
        crate::sql::sessions::impl_session_stores!($store);
        crate::sql::cleanup::impl_cleanup_store!($store);
        crate::sql::admin::impl_admin_store!($store);
        crate::sql::operations::impl_operations_store!($store);

        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;

            use crate::error::{map_err, unstorable};
            use crate::rows::{AccessTokenWithOwnersRow, RefreshTokenWithOwnersRow};
            use crate::sql::tokens::{
                SELECT_ACCESS_TOKEN_WITH_OWNERS, SELECT_REFRESH_TOKEN_WITH_OWNERS,
            };
            use crate::sql::{SqlBackend, PING};
            use crate::stats::counted;

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query_scalar::<_, i32>(PING)
                        .fetch_one(counted(&self.read))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }

                fn backend_name(&self) -> &'static str {
                    <Self as SqlBackend>::NAME
                }

                fn admin(&self) -> Option<&dyn AdminStore> {
                    Some(self)
                }

                fn operations(&self) -> Option<&dyn OperationsStore> {
                    Some(self)
                }

                async fn find_refresh_token_with_owners(
                    &self,
                    checksum: &str,
                ) -> Result<Option<RefreshTokenWithOwners>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, RefreshTokenWithOwnersRow>(SELECT_REFRESH_TOKEN_WITH_OWNERS)
                        .bind(checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(RefreshTokenWithOwners::try_from)
                        .transpose()
                }

                async fn find_access_token_with_owners(
                    &self,
                    checksum: &str,
                ) -> Result<Option<AccessTokenWithOwners>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, AccessTokenWithOwnersRow>(SELECT_ACCESS_TOKEN_WITH_OWNERS)
                        .bind(checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(AccessTokenWithOwners::try_from)
                        .transpose()
                }
            }
        };
    };
}

pub(crate) use impl_sql_store;
