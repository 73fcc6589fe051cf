//! The token INSERTs of PostgreSQL as associated functions of the store, so that a grant's
//! redemption writes its tokens inside its own transaction.

/// The token INSERTs as associated functions of `$store`, on a pool or inside a transaction.
macro_rules! impl_token_writes {
    ($store:ty) => {
        const _: () = {
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::map_err;
            use crate::rows::{AccessTokenRow, RefreshTokenRow};
            use crate::sql::tokens::*;
            use crate::sql::SqlBackend;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            impl $store {
                /// One INSERT of an access token.
                pub(crate) async fn insert_access_token<'e, E>(
                    executor: E,
                    t: NewAccessToken,
                    now: OffsetDateTime,
                ) -> Result<AccessToken, StoreError>
                where
                    E: sqlx::Executor<'e, Database = <Self as SqlBackend>::Db>,
                {
                    sqlx::query_as::<_, AccessTokenRow>(INSERT_ACCESS_TOKEN)
                        .bind(t.user_id)
                        .bind(t.source_refresh_token_id)
                        .bind(t.token)
                        .bind(t.token_checksum)
                        .bind(t.id_token_id)
                        .bind(t.application_id)
                        .bind(to_db(t.expires))
                        .bind(t.scope)
                        .bind(family(t.token_family))
                        .bind(t.resource)
                        .bind(to_db(now))
                        .fetch_one(counted(executor))
                        .await
                        .map_err(map_err)?
                        .try_into()
                }

                /// One INSERT of a refresh token.
                pub(crate) async fn insert_refresh_token<'e, E>(
                    executor: E,
                    t: NewRefreshToken,
                    access_token_id: Option<Id>,
                    now: OffsetDateTime,
                ) -> Result<RefreshToken, StoreError>
                where
                    E: sqlx::Executor<'e, Database = <Self as SqlBackend>::Db>,
                {
                    sqlx::query_as::<_, RefreshTokenRow>(INSERT_REFRESH_TOKEN)
                        .bind(t.user_id)
                        .bind(t.token)
                        .bind(t.token_checksum)
                        .bind(t.application_id)
                        .bind(access_token_id)
                        .bind(family(t.token_family))
                        .bind(t.resource)
                        .bind(to_db(now))
                        .fetch_one(counted(executor))
                        .await
                        .map_err(map_err)?
                        .try_into()
                }

                /// Write an access token (and its refresh token) now, on its own. An access
                /// token alone (client_credentials) is one statement, atomic by itself: no
                /// BEGIN/COMMIT.
                pub(crate) async fn issue_now(
                    pool: &sqlx::Pool<<Self as SqlBackend>::Db>,
                    pair: NewTokenPair,
                    now: OffsetDateTime,
                ) -> Result<IssuedTokens, StoreError> {
                    let Some(refresh) = pair.refresh else {
                        let at = Self::insert_access_token(pool, pair.access, now).await?;
                        return Ok((at, None));
                    };
                    let mut tx = counted(pool).begin().await.map_err(map_err)?;
                    let at = Self::insert_access_token(&mut *tx, pair.access, now).await?;
                    let rt =
                        Self::insert_refresh_token(&mut *tx, refresh, Some(at.id), now).await?;
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok((at, Some(rt)))
                }
            }
        };
    };
}

pub(crate) use impl_token_writes;
