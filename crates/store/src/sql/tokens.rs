//! Access and refresh tokens: SQL text (shared by both backends) and PostgreSQL's glue. The
//! INSERTs' glue is in `token_writes.rs`.

use uuid::Uuid;

pub(crate) const INSERT_ACCESS_TOKEN: &str =
    "INSERT INTO oauth2_provider_accesstoken (user_id, source_refresh_token_id, token, \
     token_checksum, id_token_id, application_id, expires, scope, token_family, \
     resource, created, updated) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *";

pub(crate) const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO oauth2_provider_refreshtoken (user_id, token, token_checksum, \
     application_id, access_token_id, token_family, resource, created, updated) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *";

/// The single-use gate of a refresh token: of racing callers one gets its row back (with the
/// access token to drop), the others none.
pub(crate) const REVOKE_REFRESH_TOKEN_ONCE: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
     WHERE id = $1 AND revoked IS NULL RETURNING access_token_id";

/// The same gate returning the whole row.
pub(crate) const CLAIM_REFRESH_TOKEN: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
     WHERE id = $1 AND revoked IS NULL RETURNING *";

pub(crate) const SELECT_REFRESH_TOKEN: &str =
    "SELECT * FROM oauth2_provider_refreshtoken WHERE id = $1";

pub(crate) const SELECT_REFRESH_TOKEN_BY_CHECKSUM: &str =
    "SELECT * FROM oauth2_provider_refreshtoken WHERE token_checksum = $1";

pub(crate) const SELECT_REFRESH_TOKEN_BY_ACCESS_TOKEN: &str =
    "SELECT * FROM oauth2_provider_refreshtoken WHERE access_token_id = $1";

pub(crate) const SET_REFRESH_TOKEN_ACCESS_TOKEN: &str =
    "UPDATE oauth2_provider_refreshtoken SET access_token_id = $2, updated = $3 WHERE id = $1";

pub(crate) const REVOKE_REFRESH_TOKENS_OF_ACCESS_TOKEN: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
     WHERE access_token_id = $1 AND revoked IS NULL";

pub(crate) const REPLACE_ACCESS_TOKEN: &str =
    "UPDATE oauth2_provider_accesstoken SET token = $2, token_checksum = $3, \
     expires = $4, scope = $5, updated = $6, resource = $7 WHERE id = $1 RETURNING *";

pub(crate) const SELECT_ACCESS_TOKEN: &str =
    "SELECT * FROM oauth2_provider_accesstoken WHERE id = $1";

pub(crate) const SELECT_ACCESS_TOKEN_BY_CHECKSUM: &str =
    "SELECT * FROM oauth2_provider_accesstoken WHERE token_checksum = $1";

pub(crate) const SELECT_ACCESS_TOKEN_BY_SOURCE: &str =
    "SELECT * FROM oauth2_provider_accesstoken WHERE source_refresh_token_id = $1";

pub(crate) const LIST_LIVE_ACCESS_TOKENS: &str = "SELECT * FROM oauth2_provider_accesstoken \
     WHERE user_id = $1 AND application_id = $2 AND expires > $3";

pub(crate) const LIST_ACCESS_TOKENS_FOR_USER: &str =
    "SELECT * FROM oauth2_provider_accesstoken WHERE user_id = $1 \
     ORDER BY created DESC, id DESC";

pub(crate) const DELETE_ACCESS_TOKEN: &str =
    "DELETE FROM oauth2_provider_accesstoken WHERE id = $1";

/// The ID token records of a family's access tokens (their JWTs cannot be recalled, but the
/// records count as consent and name the session).
pub(crate) const DELETE_FAMILY_ID_TOKENS: &str = "DELETE FROM oauth2_provider_idtoken WHERE id IN \
     (SELECT id_token_id FROM oauth2_provider_accesstoken \
      WHERE id_token_id IS NOT NULL AND (token_family = $1 OR id IN \
       (SELECT access_token_id FROM oauth2_provider_refreshtoken \
        WHERE token_family = $1 AND access_token_id IS NOT NULL)))";

pub(crate) const DELETE_FAMILY_ACCESS_TOKENS: &str =
    "DELETE FROM oauth2_provider_accesstoken WHERE token_family = $1 OR id IN \
     (SELECT access_token_id FROM oauth2_provider_refreshtoken \
      WHERE token_family = $1 AND access_token_id IS NOT NULL)";

pub(crate) const REVOKE_FAMILY_REFRESH_TOKENS: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
     WHERE token_family = $1 AND revoked IS NULL";

/// Introspection and bearer validation in one read: the token with its application and user.
pub(crate) const SELECT_ACCESS_TOKEN_WITH_OWNERS: &str = "SELECT t.*, \
     a.id AS a_id, a.client_id AS a_client_id, a.user_id AS a_user_id, \
     a.redirect_uris AS a_redirect_uris, \
     a.post_logout_redirect_uris AS a_post_logout_redirect_uris, \
     a.client_type AS a_client_type, \
     a.authorization_grant_type AS a_authorization_grant_type, \
     a.client_secret AS a_client_secret, a.hash_client_secret AS a_hash_client_secret, \
     a.name AS a_name, a.skip_authorization AS a_skip_authorization, \
     a.algorithm AS a_algorithm, a.allowed_origins AS a_allowed_origins, \
     a.created AS a_created, a.updated AS a_updated, \
     u.id AS u_id, u.username AS u_username, u.email AS u_email, \
     u.first_name AS u_first_name, u.last_name AS u_last_name, \
     u.password AS u_password, u.is_active AS u_is_active, \
     u.is_staff AS u_is_staff, u.is_superuser AS u_is_superuser, \
     u.date_joined AS u_date_joined, u.last_login AS u_last_login \
     FROM oauth2_provider_accesstoken t \
     LEFT JOIN oauth2_provider_application a ON a.id = t.application_id \
     LEFT JOIN oauth_toolkit_user u ON u.id = t.user_id \
     WHERE t.token_checksum = $1";

/// The first step of a refresh: the refresh token with its access token and user, in one read.
pub(crate) const SELECT_REFRESH_TOKEN_WITH_OWNERS: &str = "SELECT r.*, \
     a.id AS a_id, a.user_id AS a_user_id, \
     a.source_refresh_token_id AS a_source_refresh_token_id, a.token AS a_token, \
     a.token_checksum AS a_token_checksum, a.id_token_id AS a_id_token_id, \
     a.application_id AS a_application_id, a.expires AS a_expires, a.scope AS a_scope, \
     a.token_family AS a_token_family, a.created AS a_created, a.updated AS a_updated, \
     a.resource AS a_resource, \
     u.id AS u_id, u.username AS u_username, u.email AS u_email, \
     u.first_name AS u_first_name, u.last_name AS u_last_name, \
     u.password AS u_password, u.is_active AS u_is_active, \
     u.is_staff AS u_is_staff, u.is_superuser AS u_is_superuser, \
     u.date_joined AS u_date_joined, u.last_login AS u_last_login \
     FROM oauth2_provider_refreshtoken r \
     LEFT JOIN oauth2_provider_accesstoken a ON a.id = r.access_token_id \
     LEFT JOIN oauth_toolkit_user u ON u.id = r.user_id \
     WHERE r.token_checksum = $1";

/// The single-use gate of rotation: revoke and unbind the refresh token only if it is still
/// live and still bound to the access token that was read (`$3`). Of racing callers one
/// gets its id back, the others nothing.
pub(crate) const CLAIM_REFRESH_TOKEN_FOR_ROTATION: &str =
    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2, access_token_id = NULL \
     WHERE id = $1 AND revoked IS NULL AND access_token_id = $3 RETURNING id";

/// Rotation gives the old access token's row the new token: the old value stops working in
/// the same statement that writes the new one.
pub(crate) const TAKE_OVER_ACCESS_TOKEN: &str =
    "UPDATE oauth2_provider_accesstoken SET token = $2, token_checksum = $3, \
     id_token_id = $4, expires = $5, scope = $6, source_refresh_token_id = $7, \
     created = $8, updated = $8, resource = $9 WHERE id = $1 RETURNING *";

/// A token family as stored: hyphenated text.
pub(crate) fn family(f: Option<Uuid>) -> Option<String> {
    f.map(|u| u.hyphenated().to_string())
}

/// `TokenStore` for `$store`.
macro_rules! impl_token_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;
            use uuid::Uuid;

            use crate::error::{map_err, unstorable};
            use crate::rows::{AccessTokenRow, RefreshTokenRow};
            use crate::sql::tokens::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl TokenStore for $store {
                async fn issue_tokens(
                    &self,
                    pair: NewTokenPair,
                    now: OffsetDateTime,
                ) -> Result<IssuedTokens, StoreError> {
                    // PostgreSQL flushes concurrent commits together by itself.
                    Self::issue_now(&self.write, pair, now).await
                }

                async fn rotate_refresh_token(
                    &self,
                    old_refresh_id: Id,
                    old_access_id: Id,
                    pair: NewTokenPair,
                    now: OffsetDateTime,
                ) -> Result<Rotation, StoreError> {
                    let Some(refresh) = pair.refresh else {
                        return Err(StoreError::Backend(
                            "rotation without a new refresh token".into(),
                        ));
                    };
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    // The conditional UPDATE is the single-use gate (a racing rotation waits
                    // for this row and then finds `revoked` set).
                    let claimed = sqlx::query_scalar::<_, i64>(CLAIM_REFRESH_TOKEN_FOR_ROTATION)
                        .bind(old_refresh_id)
                        .bind(to_db(now))
                        .bind(old_access_id)
                        .fetch_optional(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    if claimed.is_none() {
                        tx.rollback().await.map_err(map_err)?;
                        let existing = sqlx::query_as::<_, RefreshTokenRow>(SELECT_REFRESH_TOKEN)
                            .bind(old_refresh_id)
                            .fetch_optional(counted(&self.write))
                            .await
                            .map_err(map_err)?
                            .map(RefreshToken::try_from)
                            .transpose()?;
                        return Ok(match existing {
                            Some(rt) if rt.is_revoked() => Rotation::AlreadyRevoked,
                            _ => Rotation::Missing,
                        });
                    }
                    let a = pair.access;
                    let taken = sqlx::query_as::<_, AccessTokenRow>(TAKE_OVER_ACCESS_TOKEN)
                        .bind(old_access_id)
                        .bind(a.token)
                        .bind(a.token_checksum)
                        .bind(a.id_token_id)
                        .bind(to_db(a.expires))
                        .bind(a.scope)
                        .bind(old_refresh_id)
                        .bind(to_db(now))
                        .bind(a.resource)
                        .fetch_optional(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    let Some(at) = taken else {
                        // Cannot happen while the claim holds the refresh token's row.
                        tx.rollback().await.map_err(map_err)?;
                        return Ok(Rotation::Missing);
                    };
                    let at = AccessToken::try_from(at)?;
                    let rt = match Self::insert_refresh_token(&mut *tx, refresh, Some(at.id), now)
                        .await
                    {
                        Ok(rt) => rt,
                        Err(StoreError::MissingReference(_)) => {
                            tx.rollback().await.map_err(map_err)?;
                            return Ok(Rotation::Missing);
                        }
                        Err(e) => return Err(e),
                    };
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(Rotation::Rotated(Box::new((at, rt))))
                }

                async fn replace_access_token(
                    &self,
                    access_token_id: Id,
                    token: &str,
                    token_checksum: &str,
                    expires: OffsetDateTime,
                    scope: &str,
                    resource: &str,
                    now: OffsetDateTime,
                ) -> Result<Option<AccessToken>, StoreError> {
                    sqlx::query_as::<_, AccessTokenRow>(REPLACE_ACCESS_TOKEN)
                        .bind(access_token_id)
                        .bind(token)
                        .bind(token_checksum)
                        .bind(to_db(expires))
                        .bind(scope)
                        .bind(to_db(now))
                        .bind(resource)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .map(AccessToken::try_from)
                        .transpose()
                }

                async fn find_access_token_by_source(
                    &self,
                    refresh_token_id: Id,
                ) -> Result<Option<AccessToken>, StoreError> {
                    sqlx::query_as::<_, AccessTokenRow>(SELECT_ACCESS_TOKEN_BY_SOURCE)
                        .bind(refresh_token_id)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .map(AccessToken::try_from)
                        .transpose()
                }

                async fn find_refresh_token_by_access_token(
                    &self,
                    access_token_id: Id,
                ) -> Result<Option<RefreshToken>, StoreError> {
                    sqlx::query_as::<_, RefreshTokenRow>(SELECT_REFRESH_TOKEN_BY_ACCESS_TOKEN)
                        .bind(access_token_id)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .map(RefreshToken::try_from)
                        .transpose()
                }

                async fn list_live_access_tokens(
                    &self,
                    user_id: Id,
                    application_id: Id,
                    now: OffsetDateTime,
                ) -> Result<Vec<AccessToken>, StoreError> {
                    sqlx::query_as::<_, AccessTokenRow>(LIST_LIVE_ACCESS_TOKENS)
                        .bind(user_id)
                        .bind(application_id)
                        .bind(to_db(now))
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(AccessToken::try_from)
                        .collect()
                }

                async fn create_access_token(
                    &self,
                    t: NewAccessToken,
                    now: OffsetDateTime,
                ) -> Result<AccessToken, StoreError> {
                    Self::insert_access_token(&self.write, t, now).await
                }

                async fn get_access_token(
                    &self,
                    id: Id,
                ) -> Result<Option<AccessToken>, StoreError> {
                    sqlx::query_as::<_, AccessTokenRow>(SELECT_ACCESS_TOKEN)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(AccessToken::try_from)
                        .transpose()
                }

                async fn find_access_token(
                    &self,
                    checksum: &str,
                ) -> Result<Option<AccessToken>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, AccessTokenRow>(SELECT_ACCESS_TOKEN_BY_CHECKSUM)
                        .bind(checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(AccessToken::try_from)
                        .transpose()
                }

                async fn list_access_tokens_for_user(
                    &self,
                    user_id: Id,
                ) -> Result<Vec<AccessToken>, StoreError> {
                    sqlx::query_as::<_, AccessTokenRow>(LIST_ACCESS_TOKENS_FOR_USER)
                        .bind(user_id)
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(AccessToken::try_from)
                        .collect()
                }

                async fn delete_access_token(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_ACCESS_TOKEN)
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn revoke_access_token(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    sqlx::query(REVOKE_REFRESH_TOKENS_OF_ACCESS_TOKEN)
                        .bind(id)
                        .bind(to_db(now))
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    // ON DELETE SET NULL unbinds the refresh token.
                    let deleted = sqlx::query(DELETE_ACCESS_TOKEN)
                        .bind(id)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(deleted > 0)
                }

                async fn create_refresh_token(
                    &self,
                    t: NewRefreshToken,
                    now: OffsetDateTime,
                ) -> Result<RefreshToken, StoreError> {
                    let access_token_id = t.access_token_id;
                    Self::insert_refresh_token(&self.write, t, access_token_id, now).await
                }

                async fn get_refresh_token(
                    &self,
                    id: Id,
                ) -> Result<Option<RefreshToken>, StoreError> {
                    sqlx::query_as::<_, RefreshTokenRow>(SELECT_REFRESH_TOKEN)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(RefreshToken::try_from)
                        .transpose()
                }

                async fn find_refresh_token(
                    &self,
                    checksum: &str,
                ) -> Result<Option<RefreshToken>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, RefreshTokenRow>(SELECT_REFRESH_TOKEN_BY_CHECKSUM)
                        .bind(checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(RefreshToken::try_from)
                        .transpose()
                }

                async fn set_refresh_token_access_token(
                    &self,
                    id: Id,
                    access_token_id: Option<Id>,
                    now: OffsetDateTime,
                ) -> Result<(), StoreError> {
                    sqlx::query(SET_REFRESH_TOKEN_ACCESS_TOKEN)
                        .bind(id)
                        .bind(access_token_id)
                        .bind(to_db(now))
                        .execute(counted(&self.write))
                        .await
                        .map(|_| ())
                        .map_err(map_err)
                }

                async fn revoke_refresh_token(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    // The conditional UPDATE is the lock: a second revoker finds `revoked` set.
                    let access_token =
                        sqlx::query_scalar::<_, Option<i64>>(REVOKE_REFRESH_TOKEN_ONCE)
                            .bind(id)
                            .bind(to_db(now))
                            .fetch_optional(counted(&mut *tx))
                            .await
                            .map_err(map_err)?;
                    let Some(access_token) = access_token else {
                        counted(tx).commit().await.map_err(map_err)?;
                        return Ok(false);
                    };
                    if let Some(at) = access_token {
                        sqlx::query(DELETE_ACCESS_TOKEN)
                            .bind(at)
                            .execute(counted(&mut *tx))
                            .await
                            .map_err(map_err)?;
                    }
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(true)
                }

                async fn claim_refresh_token(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                ) -> Result<Consumed<RefreshToken>, StoreError> {
                    let taken = sqlx::query_as::<_, RefreshTokenRow>(CLAIM_REFRESH_TOKEN)
                        .bind(id)
                        .bind(to_db(now))
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    if let Some(row) = taken {
                        return Ok(Consumed::Now(row.try_into()?));
                    }
                    let existing = sqlx::query_as::<_, RefreshTokenRow>(SELECT_REFRESH_TOKEN)
                        .bind(id)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok(match existing {
                        Some(row) => Consumed::Already(row.try_into()?),
                        None => Consumed::Missing,
                    })
                }

                async fn revoke_token_family(
                    &self,
                    f: Uuid,
                    now: OffsetDateTime,
                ) -> Result<u64, StoreError> {
                    let f = f.hyphenated().to_string();
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    sqlx::query(DELETE_FAMILY_ID_TOKENS)
                        .bind(&f)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    sqlx::query(DELETE_FAMILY_ACCESS_TOKENS)
                        .bind(&f)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    let revoked = sqlx::query(REVOKE_FAMILY_REFRESH_TOKENS)
                        .bind(&f)
                        .bind(to_db(now))
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?
                        .rows_affected();
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(revoked)
                }
            }
        };
    };
}

pub(crate) use impl_token_store;
