//! `DeviceGrantStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::Run;
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::DeviceGrantRow;
use crate::sql::device_grants::*;
use crate::time_codec::to_db;

#[async_trait]
impl DeviceGrantStore for SqliteStore {
    async fn create_device_grant(
        &self,
        g: NewDeviceGrant,
        now: OffsetDateTime,
    ) -> Result<DeviceGrant, StoreError> {
        let checksum = oauth_toolkit_core::token_checksum::token_checksum(&g.device_code);
        self.write(move |c| {
            c.one::<DeviceGrantRow>(
                INSERT_DEVICE_GRANT,
                &[
                    &checksum,
                    &g.user_code,
                    &g.scope,
                    &g.interval,
                    &to_db(g.expires),
                    &g.client_id,
                    &to_db(now),
                ],
            )
        })
        .await?
        .try_into()
    }

    async fn find_device_grant(&self, checksum: &str) -> Result<Option<DeviceGrant>, StoreError> {
        if unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.read(move |c| c.opt::<DeviceGrantRow>(SELECT_DEVICE_GRANT_BY_CHECKSUM, &[&checksum]))
            .await?
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
        let user_code = user_code.to_string();
        self.read(move |c| c.opt::<DeviceGrantRow>(SELECT_DEVICE_GRANT_BY_USER_CODE, &[&user_code]))
            .await?
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
        self.write(move |c| {
            c.exec(
                TRANSITION_DEVICE_GRANT,
                &[&id, &from.as_str(), &to.as_str(), &user_id],
            )
        })
        .await
        .map(|n| n > 0)
    }

    async fn take_authorized_device_grant(
        &self,
        checksum: &str,
    ) -> Result<Option<DeviceGrant>, StoreError> {
        if unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.write(move |c| c.opt::<DeviceGrantRow>(TAKE_AUTHORIZED_DEVICE_GRANT, &[&checksum]))
            .await?
            .map(DeviceGrant::try_from)
            .transpose()
    }

    async fn bind_device_grant(&self, id: Id, user_id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(BIND_DEVICE_GRANT, &[&id, &user_id]))
            .await
            .map(|n| n > 0)
    }

    async fn poll_device_grant(
        &self,
        id: Id,
        now: OffsetDateTime,
        max_interval: i64,
    ) -> Result<DevicePoll, StoreError> {
        let accepted = self
            .write(move |c| c.exec(ACCEPT_DEVICE_POLL, &[&id, &to_db(now)]))
            .await?
            > 0;
        if accepted {
            return Ok(DevicePoll::Accepted);
        }
        let interval = self
            .write(move |c| {
                c.scalar::<i64>(SLOW_DOWN_DEVICE_POLL, &[&id, &to_db(now), &max_interval])
            })
            .await?;
        Ok(match interval {
            Some(interval) => DevicePoll::SlowDown { interval },
            None => DevicePoll::Missing,
        })
    }
}
