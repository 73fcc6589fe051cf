//! Authorization codes (grants) and their redemption: SQL text, and the glue that runs it
//! for each backend.

pub(crate) const INSERT_GRANT: &str =
    "INSERT INTO oauth2_provider_grant (user_id, code_checksum, application_id, \
     expires, redirect_uri, scope, code_challenge, code_challenge_method, nonce, \
     claims, token_family, created, updated, auth_time, sid, resource) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15) RETURNING *";

pub(crate) const SELECT_GRANT_BY_CODE: &str =
    "SELECT * FROM oauth2_provider_grant WHERE code_checksum = $1";

/// Marks the code used, once: no row back means used before, or unknown.
pub(crate) const CONSUME_GRANT: &str =
    "UPDATE oauth2_provider_grant SET consumed = $2, updated = $2 \
     WHERE code_checksum = $1 AND consumed IS NULL RETURNING *";

pub(crate) const DELETE_GRANT: &str = "DELETE FROM oauth2_provider_grant WHERE id = $1";

/// The single-use gate of a redemption, and the row lock that makes a racing redemption wait
/// for this transaction's outcome (PostgreSQL re-checks `consumed` after it).
pub(crate) const TAKE_GRANT_FOR_REDEMPTION: &str =
    "UPDATE oauth2_provider_grant SET consumed = $3, updated = $3 \
     WHERE id = $1 AND application_id = $2 AND consumed IS NULL RETURNING id";

macro_rules! impl_grant_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::{map_err, unstorable};
            use crate::rows::GrantRow;
            use crate::sql::grants::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl GrantStore for $store {
                async fn create_grant(
                    &self,
                    g: NewGrant,
                    now: OffsetDateTime,
                ) -> Result<Grant, StoreError> {
                    let checksum = oauth_toolkit_core::token_checksum::token_checksum(&g.code);
                    sqlx::query_as::<_, GrantRow>(INSERT_GRANT)
                        .bind(g.user_id)
                        .bind(checksum)
                        .bind(g.application_id)
                        .bind(to_db(g.expires))
                        .bind(g.redirect_uri)
                        .bind(g.scope)
                        .bind(g.code_challenge)
                        .bind(g.code_challenge_method.map(|m| m.as_str()).unwrap_or(""))
                        .bind(g.nonce)
                        .bind(g.claims)
                        .bind(g.token_family.hyphenated().to_string())
                        .bind(to_db(now))
                        .bind(g.auth_time.map(to_db))
                        .bind(g.sid)
                        .bind(g.resource)
                        .fetch_one(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .try_into()
                }

                async fn find_grant(
                    &self,
                    code_checksum: &str,
                ) -> Result<Option<Grant>, StoreError> {
                    if unstorable(code_checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, GrantRow>(SELECT_GRANT_BY_CODE)
                        .bind(code_checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(Grant::try_from)
                        .transpose()
                }

                async fn consume_grant(
                    &self,
                    code_checksum: &str,
                    now: OffsetDateTime,
                ) -> Result<Consumed<Grant>, StoreError> {
                    if unstorable(code_checksum) {
                        return Ok(Consumed::Missing);
                    }
                    let taken = sqlx::query_as::<_, GrantRow>(CONSUME_GRANT)
                        .bind(code_checksum)
                        .bind(to_db(now))
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    if let Some(row) = taken {
                        return Ok(Consumed::Now(row.try_into()?));
                    }
                    let existing = sqlx::query_as::<_, GrantRow>(SELECT_GRANT_BY_CODE)
                        .bind(code_checksum)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok(match existing {
                        Some(row) => Consumed::Already(row.try_into()?),
                        None => Consumed::Missing,
                    })
                }

                async fn delete_grant(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_GRANT)
                        .bind(id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn redeem_grant(
                    &self,
                    grant_id: Id,
                    application_id: Id,
                    id_token: Option<NewIdToken>,
                    pair: NewTokenPair,
                    now: OffsetDateTime,
                ) -> Result<Redemption, StoreError> {
                    let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                    let taken = sqlx::query_scalar::<_, i64>(TAKE_GRANT_FOR_REDEMPTION)
                        .bind(grant_id)
                        .bind(application_id)
                        .bind(to_db(now))
                        .fetch_optional(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                    if taken.is_none() {
                        tx.rollback().await.map_err(map_err)?;
                        return Ok(Redemption::NotRedeemable);
                    }
                    let mut access = pair.access;
                    let id_row = match id_token {
                        Some(t) => {
                            let row = Self::insert_id_token(&mut *tx, t, now).await?;
                            access.id_token_id = Some(row.id);
                            Some(row)
                        }
                        None => None,
                    };
                    let at = Self::insert_access_token(&mut *tx, access, now).await?;
                    let rt = match pair.refresh {
                        Some(r) => {
                            Some(Self::insert_refresh_token(&mut *tx, r, Some(at.id), now).await?)
                        }
                        None => None,
                    };
                    counted(tx).commit().await.map_err(map_err)?;
                    Ok(Redemption::Issued(Box::new(((at, rt), id_row))))
                }
            }
        };
    };
}

pub(crate) use impl_grant_store;
