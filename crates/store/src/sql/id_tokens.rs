//! ID token records (consent and sessions of OpenID Connect): SQL text, and the glue that
//! runs it for each backend.

pub(crate) const INSERT_ID_TOKEN: &str =
    "INSERT INTO oauth2_provider_idtoken (user_id, application_id, jti, expires, scope, \
     created, updated, auth_time, sid, claims) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING *";

pub(crate) const SELECT_ID_TOKEN_BY_JTI: &str =
    "SELECT * FROM oauth2_provider_idtoken WHERE jti = $1";

pub(crate) const LIST_LIVE_ID_TOKENS: &str = "SELECT * FROM oauth2_provider_idtoken \
     WHERE user_id = $1 AND application_id = $2 AND expires > $3";

pub(crate) const SELECT_ID_TOKEN: &str = "SELECT * FROM oauth2_provider_idtoken WHERE id = $1";

pub(crate) const REVOKE_USER_REFRESH_TOKENS_FOR_APPLICATION: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $3, updated = $3, \
     access_token_id = NULL \
     WHERE user_id = $1 AND application_id = $2 AND revoked IS NULL";

pub(crate) const DELETE_USER_ACCESS_TOKENS_FOR_APPLICATION: &str =
    "DELETE FROM oauth2_provider_accesstoken WHERE user_id = $1 AND application_id = $2";

pub(crate) const DELETE_USER_ID_TOKENS_FOR_APPLICATION: &str =
    "DELETE FROM oauth2_provider_idtoken WHERE user_id = $1 AND application_id = $2";

pub(crate) const DELETE_ID_TOKEN: &str = "DELETE FROM oauth2_provider_idtoken WHERE id = $1";

/// `insert_id_token` (on a pool or inside a transaction) and `IdTokenStore` for `$store`.
macro_rules! impl_id_token_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;
            use uuid::Uuid;

            use crate::error::map_err;
            use crate::rows::IdTokenRow;
            use crate::sql::id_tokens::*;
            use crate::sql::SqlBackend;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            impl $store {
                /// One INSERT of an ID token record.
                pub(crate) async fn insert_id_token<'e, E>(
                    executor: E,
                    t: NewIdToken,
                    now: OffsetDateTime,
                ) -> Result<IdToken, StoreError>
                where
                    E: sqlx::Executor<'e, Database = <Self as SqlBackend>::Db>,
                {
                    sqlx::query_as::<_, IdTokenRow>(INSERT_ID_TOKEN)
                        .bind(t.user_id)
                        .bind(t.application_id)
                        .bind(t.jti.hyphenated().to_string())
                        .bind(to_db(t.expires))
                        .bind(t.scope)
                        .bind(to_db(now))
                        .bind(t.auth_time.map(to_db))
                        .bind(t.sid)
                        .bind(t.claims)
                        .fetch_one(counted(executor))
                        .await
                        .map_err(map_err)?
                        .try_into()
                }
            }

            #[async_trait]
            impl IdTokenStore for $store {
                async fn create_id_token(
                    &self,
                    t: NewIdToken,
                    now: OffsetDateTime,
                ) -> Result<IdToken, StoreError> {
                    Self::insert_id_token(&self.write, t, now).await
                }

                async fn find_id_token_by_jti(
                    &self,
                    jti: Uuid,
                ) -> Result<Option<IdToken>, StoreError> {
                    sqlx::query_as::<_, IdTokenRow>(SELECT_ID_TOKEN_BY_JTI)
                        .bind(jti.hyphenated().to_string())
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(IdToken::try_from)
                        .transpose()
                }

                async fn list_live_id_tokens(
                    &self,
                    user_id: Id,
                    application_id: Id,
                    now: OffsetDateTime,
                ) -> Result<Vec<IdToken>, StoreError> {
                    sqlx::query_as::<_, IdTokenRow>(LIST_LIVE_ID_TOKENS)
                        .bind(user_id)
                        .bind(application_id)
                        .bind(to_db(now))
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(IdToken::try_from)
                        .collect()
                }

                async fn get_id_token(&self, id: Id) -> Result<Option<IdToken>, StoreError> {
                    sqlx::query_as::<_, IdTokenRow>(SELECT_ID_TOKEN)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(IdToken::try_from)
                        .transpose()
                }

                async fn delete_user_tokens_for_application(
                    &self,
                    user_id: Id,
                    application_id: Id,
                    now: OffsetDateTime,
                ) -> Result<u64, StoreError> {
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    sqlx::query(REVOKE_USER_REFRESH_TOKENS_FOR_APPLICATION)
                        .bind(user_id)
                        .bind(application_id)
                        .bind(to_db(now))
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    let deleted = sqlx::query(DELETE_USER_ACCESS_TOKENS_FOR_APPLICATION)
                        .bind(user_id)
                        .bind(application_id)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    sqlx::query(DELETE_USER_ID_TOKENS_FOR_APPLICATION)
                        .bind(user_id)
                        .bind(application_id)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(deleted)
                }

                async fn delete_id_token(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_ID_TOKEN)
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }
            }
        };
    };
}

pub(crate) use impl_id_token_store;
