//! Device authorization grants (RFC 8628): SQL text, and the glue that runs it for each
//! backend.

pub(crate) const INSERT_DEVICE_GRANT: &str =
    "INSERT INTO oauth2_provider_devicegrant (device_code_checksum, user_code, scope, \
     \"interval\", expires, status, client_id, created) \
     VALUES ($1, $2, $3, $4, $5, 'authorization-pending', $6, $7) RETURNING *";

pub(crate) const SELECT_DEVICE_GRANT_BY_CHECKSUM: &str =
    "SELECT * FROM oauth2_provider_devicegrant WHERE device_code_checksum = $1";

pub(crate) const SELECT_DEVICE_GRANT_BY_USER_CODE: &str =
    "SELECT * FROM oauth2_provider_devicegrant WHERE user_code = $1";

pub(crate) const TRANSITION_DEVICE_GRANT: &str =
    "UPDATE oauth2_provider_devicegrant SET status = $3, user_id = COALESCE($4, user_id) \
     WHERE id = $1 AND status = $2";

pub(crate) const TAKE_AUTHORIZED_DEVICE_GRANT: &str = "DELETE FROM oauth2_provider_devicegrant \
     WHERE device_code_checksum = $1 AND status = 'authorized' RETURNING *";

pub(crate) const BIND_DEVICE_GRANT: &str = "UPDATE oauth2_provider_devicegrant SET user_id = $2 \
     WHERE id = $1 AND status = 'authorization-pending' \
     AND (user_id IS NULL OR user_id = $2)";

/// The poll gate, one conditional UPDATE: of racing polls exactly one passes.
pub(crate) const ACCEPT_DEVICE_POLL: &str =
    "UPDATE oauth2_provider_devicegrant SET last_checked = $2 \
     WHERE id = $1 AND (last_checked IS NULL \
     OR last_checked <= $2 - \"interval\" * 1000000)";

/// A poll too early: the client must slow down by 5 s, up to the maximum.
pub(crate) const SLOW_DOWN_DEVICE_POLL: &str =
    "UPDATE oauth2_provider_devicegrant SET last_checked = $2, \
     \"interval\" = CASE WHEN \"interval\" + 5 <= $3 THEN \"interval\" + 5 \
     ELSE \"interval\" END \
     WHERE id = $1 RETURNING \"interval\"";

macro_rules! impl_device_grant_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::{map_err, unstorable};
            use crate::rows::DeviceGrantRow;
            use crate::sql::device_grants::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl DeviceGrantStore for $store {
                async fn create_device_grant(
                    &self,
                    g: NewDeviceGrant,
                    now: OffsetDateTime,
                ) -> Result<DeviceGrant, StoreError> {
                    let checksum =
                        oauth_toolkit_core::token_checksum::token_checksum(&g.device_code);
                    sqlx::query_as::<_, DeviceGrantRow>(INSERT_DEVICE_GRANT)
                        .bind(checksum)
                        .bind(g.user_code)
                        .bind(g.scope)
                        .bind(g.interval)
                        .bind(to_db(g.expires))
                        .bind(g.client_id)
                        .bind(to_db(now))
                        .fetch_one(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .try_into()
                }

                async fn find_device_grant(
                    &self,
                    checksum: &str,
                ) -> Result<Option<DeviceGrant>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, DeviceGrantRow>(SELECT_DEVICE_GRANT_BY_CHECKSUM)
                        .bind(checksum)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(DeviceGrant::try_from)
                        .transpose()
                }

                async fn find_device_grant_by_user_code(
                    &self,
                    user_code: &str,
                ) -> Result<Option<DeviceGrant>, StoreError> {
                    if unstorable(user_code) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, DeviceGrantRow>(SELECT_DEVICE_GRANT_BY_USER_CODE)
                        .bind(user_code)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(DeviceGrant::try_from)
                        .transpose()
                }

                async fn transition_device_grant(
                    &self,
                    id: Id,
                    from: DeviceGrantStatus,
                    to: DeviceGrantStatus,
                    user_id: Option<Id>,
                ) -> Result<bool, StoreError> {
                    sqlx::query(TRANSITION_DEVICE_GRANT)
                        .bind(id)
                        .bind(from.as_str())
                        .bind(to.as_str())
                        .bind(user_id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn take_authorized_device_grant(
                    &self,
                    checksum: &str,
                ) -> Result<Option<DeviceGrant>, StoreError> {
                    if unstorable(checksum) {
                        return Ok(None);
                    }
                    sqlx::query_as::<_, DeviceGrantRow>(TAKE_AUTHORIZED_DEVICE_GRANT)
                        .bind(checksum)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .map(DeviceGrant::try_from)
                        .transpose()
                }

                async fn bind_device_grant(&self, id: Id, user_id: Id) -> Result<bool, StoreError> {
                    sqlx::query(BIND_DEVICE_GRANT)
                        .bind(id)
                        .bind(user_id)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }

                async fn poll_device_grant(
                    &self,
                    id: Id,
                    now: OffsetDateTime,
                    max_interval: i64,
                ) -> Result<DevicePoll, StoreError> {
                    let accepted = sqlx::query(ACCEPT_DEVICE_POLL)
                        .bind(id)
                        .bind(to_db(now))
                        .execute(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .rows_affected()
                        > 0;
                    if accepted {
                        return Ok(DevicePoll::Accepted);
                    }
                    let interval: Option<i64> = sqlx::query_scalar(SLOW_DOWN_DEVICE_POLL)
                        .bind(id)
                        .bind(to_db(now))
                        .bind(max_interval)
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok(match interval {
                        Some(interval) => DevicePoll::SlowDown { interval },
                        None => DevicePoll::Missing,
                    })
                }
            }
        };
    };
}

pub(crate) use impl_device_grant_store;
