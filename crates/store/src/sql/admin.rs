//! The staff admin (`AdminStore`): keyset pages built from the filters that are set, point
//! reads by id, and the bulk revocation; SQL text (shared by both backends) and PostgreSQL's
//! glue.
//!
//! A page is `SELECT * FROM t WHERE <set filters> [AND id < $before] ORDER BY id DESC LIMIT
//! $n`: a condition is written only for a filter that is set (never `($1 IS NULL OR c = $1)`,
//! through which SQLite's planner cannot use an index), so the text varies only with which
//! filters are set and the prepared-statement caches keep working. Without a filter on an
//! indexed column both backends walk the primary key backwards and stop after `n` rows, so
//! a page costs the same on the millionth row as on the first.

mod pages;

pub(crate) use pages::*;

pub(crate) const SELECT_GRANT: &str = "SELECT * FROM oauth2_provider_grant WHERE id = $1";

pub(crate) const SELECT_DEVICE_GRANT: &str =
    "SELECT * FROM oauth2_provider_devicegrant WHERE id = $1";

pub(crate) const SELECT_SIGNING_KEY: &str = "SELECT * FROM oauth_toolkit_signingkey WHERE id = $1";

pub(crate) const DELETE_DEVICE_GRANT: &str =
    "DELETE FROM oauth2_provider_devicegrant WHERE id = $1";

/// Every table that references a user does so `ON DELETE CASCADE` (applications, and with
/// them their tokens, grants and ID tokens; tokens, grants, ID tokens, device grants and
/// sessions of the user), so one statement deletes it all.
pub(crate) const DELETE_USER: &str = "DELETE FROM oauth_toolkit_user WHERE id = $1";

/// Two statements of `revoke_user_tokens`: for every application, and for one (the text
/// with the application's condition appended).
macro_rules! all_and_one_application {
    ($(#[$doc:meta])* $all:ident, $one:ident, $base:literal, $of_application:literal) => {
        $(#[$doc])*
        pub(crate) const $all: &str = $base;
        $(#[$doc])*
        pub(crate) const $one: &str = concat!($base, $of_application);
    };
}

all_and_one_application!(
    /// `$1` user, `$2` now, `$3` application. Unbinds the access token, as the revocation
    /// of one application's tokens does (the access token is deleted next).
    REVOKE_USER_REFRESH_TOKENS,
    REVOKE_USER_REFRESH_TOKENS_OF_APPLICATION,
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2, \
     access_token_id = NULL WHERE user_id = $1 AND revoked IS NULL",
    " AND application_id = $3"
);

all_and_one_application!(
    /// `$1` user, `$2` application.
    DELETE_USER_ACCESS_TOKENS,
    DELETE_USER_ACCESS_TOKENS_OF_APPLICATION,
    "DELETE FROM oauth2_provider_accesstoken WHERE user_id = $1",
    " AND application_id = $2"
);

all_and_one_application!(
    /// `$1` user, `$2` application.
    DELETE_USER_ID_TOKENS,
    DELETE_USER_ID_TOKENS_OF_APPLICATION,
    "DELETE FROM oauth2_provider_idtoken WHERE user_id = $1",
    " AND application_id = $2"
);

all_and_one_application!(
    /// `$1` user, `$2` application.
    DELETE_USER_UNCONSUMED_GRANTS,
    DELETE_USER_UNCONSUMED_GRANTS_OF_APPLICATION,
    "DELETE FROM oauth2_provider_grant WHERE user_id = $1 AND consumed IS NULL",
    " AND application_id = $2"
);

all_and_one_application!(
    /// `$1` user, `$2` application (device grants name it by client id).
    DENY_USER_DEVICE_GRANTS,
    DENY_USER_DEVICE_GRANTS_OF_APPLICATION,
    "UPDATE oauth2_provider_devicegrant SET status = 'denied' \
     WHERE user_id = $1 AND status IN ('authorization-pending', 'authorized')",
    " AND client_id = (SELECT client_id FROM oauth2_provider_application WHERE id = $2)"
);

/// The statements of `revoke_user_tokens`, in the order they run: for every application of
/// the user, or for one.
pub(crate) struct RevokeStatements {
    pub(crate) refresh_tokens: &'static str,
    pub(crate) access_tokens: &'static str,
    pub(crate) id_tokens: &'static str,
    pub(crate) grants: &'static str,
    pub(crate) device_grants: &'static str,
}

pub(crate) fn revoke_statements(of_application: bool) -> RevokeStatements {
    if of_application {
        RevokeStatements {
            refresh_tokens: REVOKE_USER_REFRESH_TOKENS_OF_APPLICATION,
            access_tokens: DELETE_USER_ACCESS_TOKENS_OF_APPLICATION,
            id_tokens: DELETE_USER_ID_TOKENS_OF_APPLICATION,
            grants: DELETE_USER_UNCONSUMED_GRANTS_OF_APPLICATION,
            device_grants: DENY_USER_DEVICE_GRANTS_OF_APPLICATION,
        }
    } else {
        RevokeStatements {
            refresh_tokens: REVOKE_USER_REFRESH_TOKENS,
            access_tokens: DELETE_USER_ACCESS_TOKENS,
            id_tokens: DELETE_USER_ID_TOKENS,
            grants: DELETE_USER_UNCONSUMED_GRANTS,
            device_grants: DENY_USER_DEVICE_GRANTS,
        }
    }
}

/// `AdminStore` for `$store`.
macro_rules! impl_admin_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::map_err;
            use crate::rows::*;
            use crate::sql::admin::*;
            use crate::sql::SqlBackend;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            type Row = <<$store as SqlBackend>::Db as sqlx::Database>::Row;

            impl $store {
                /// The rows of one admin page, on the read pool.
                async fn admin_rows<R>(
                    &self,
                    list: AdminList,
                    q: &AdminQuery,
                ) -> Result<Vec<R>, StoreError>
                where
                    R: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin,
                {
                    let Some(page) = admin_page(list, q, Dialect::Postgres) else {
                        return Ok(Vec::new());
                    };
                    let mut query = sqlx::query_as::<_, R>(&page.sql);
                    for arg in &page.args {
                        query = match arg {
                            Arg::Int(v) => query.bind(*v),
                            Arg::Text(s) => query.bind(s.as_str()),
                            Arg::Bool(v) => query.bind(*v),
                        };
                    }
                    query.fetch_all(counted(&self.read)).await.map_err(map_err)
                }
            }

            #[async_trait]
            impl AdminStore for $store {
                async fn admin_applications(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<Application>, StoreError> {
                    self.admin_rows::<ApplicationRow>(AdminList::Applications, q)
                        .await?
                        .into_iter()
                        .map(Application::try_from)
                        .collect()
                }

                async fn admin_users(&self, q: &AdminQuery) -> Result<Vec<User>, StoreError> {
                    Ok(self
                        .admin_rows::<UserRow>(AdminList::Users, q)
                        .await?
                        .into_iter()
                        .map(User::from)
                        .collect())
                }

                async fn admin_access_tokens(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<AccessToken>, StoreError> {
                    self.admin_rows::<AccessTokenRow>(AdminList::AccessTokens, q)
                        .await?
                        .into_iter()
                        .map(AccessToken::try_from)
                        .collect()
                }

                async fn admin_refresh_tokens(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<RefreshToken>, StoreError> {
                    self.admin_rows::<RefreshTokenRow>(AdminList::RefreshTokens, q)
                        .await?
                        .into_iter()
                        .map(RefreshToken::try_from)
                        .collect()
                }

                async fn admin_grants(&self, q: &AdminQuery) -> Result<Vec<Grant>, StoreError> {
                    self.admin_rows::<GrantRow>(AdminList::Grants, q)
                        .await?
                        .into_iter()
                        .map(Grant::try_from)
                        .collect()
                }

                async fn admin_id_tokens(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<IdToken>, StoreError> {
                    self.admin_rows::<IdTokenRow>(AdminList::IdTokens, q)
                        .await?
                        .into_iter()
                        .map(IdToken::try_from)
                        .collect()
                }

                async fn admin_device_grants(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<DeviceGrant>, StoreError> {
                    self.admin_rows::<DeviceGrantRow>(AdminList::DeviceGrants, q)
                        .await?
                        .into_iter()
                        .map(DeviceGrant::try_from)
                        .collect()
                }

                async fn admin_signing_keys(
                    &self,
                    q: &AdminQuery,
                ) -> Result<Vec<SigningKey>, StoreError> {
                    Ok(self
                        .admin_rows::<SigningKeyRow>(AdminList::SigningKeys, q)
                        .await?
                        .into_iter()
                        .map(SigningKey::from)
                        .collect())
                }

                async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError> {
                    sqlx::query_as::<_, GrantRow>(SELECT_GRANT)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(Grant::try_from)
                        .transpose()
                }

                async fn get_device_grant(
                    &self,
                    id: Id,
                ) -> Result<Option<DeviceGrant>, StoreError> {
                    sqlx::query_as::<_, DeviceGrantRow>(SELECT_DEVICE_GRANT)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(DeviceGrant::try_from)
                        .transpose()
                }

                async fn get_signing_key(&self, id: Id) -> Result<Option<SigningKey>, StoreError> {
                    sqlx::query_as::<_, SigningKeyRow>(SELECT_SIGNING_KEY)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map(|r| r.map(SigningKey::from))
                        .map_err(map_err)
                }

                async fn delete_device_grant(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_DEVICE_GRANT)
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn delete_user(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_USER)
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn revoke_user_tokens(
                    &self,
                    user_id: Id,
                    application_id: Option<Id>,
                    now: OffsetDateTime,
                ) -> Result<RevokedCounts, StoreError> {
                    let s = revoke_statements(application_id.is_some());
                    // `$1` the user, then (when given) the application.
                    let of_user = |sql: &'static str| {
                        let query = sqlx::query(sql).bind(user_id);
                        match application_id {
                            Some(a) => query.bind(a),
                            None => query,
                        }
                    };
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    let mut revoke = sqlx::query(s.refresh_tokens).bind(user_id).bind(to_db(now));
                    if let Some(a) = application_id {
                        revoke = revoke.bind(a);
                    }
                    let refresh_tokens = revoke
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    let access_tokens = of_user(s.access_tokens)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    let id_tokens = of_user(s.id_tokens)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    let grants = of_user(s.grants)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    let device_grants = of_user(s.device_grants)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(RevokedCounts {
                        access_tokens,
                        refresh_tokens,
                        grants,
                        id_tokens,
                        device_grants,
                    })
                }
            }
        };
    };
}

pub(crate) use impl_admin_store;
