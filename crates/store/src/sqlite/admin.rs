//! `AdminStore` on SQLite: pages on a read connection (a blocking thread), point reads on
//! this thread, and the bulk revocation as one job of the writer (one transaction).

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use rusqlite::types::{ToSql, ToSqlOutput};
use time::OffsetDateTime;

use super::connection::{FromSqliteRow, Run};
use super::SqliteStore;
use crate::rows::*;
use crate::sql::admin::*;
use crate::time_codec::to_db;

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(s) => s.to_sql(),
            Arg::Bool(v) => v.to_sql(),
        }
    }
}

impl SqliteStore {
    /// The rows of one admin page.
    async fn admin_rows<R>(&self, list: AdminList, q: &AdminQuery) -> Result<Vec<R>, StoreError>
    where
        R: FromSqliteRow + Send + 'static,
    {
        let Some(page) = admin_page(list, q, Dialect::Sqlite) else {
            return Ok(Vec::new());
        };
        self.scan(move |c| {
            let params: Vec<&dyn ToSql> = page.args.iter().map(|a| a as &dyn ToSql).collect();
            c.all::<R>(&page.sql, &params)
        })
        .await
    }
}

/// Rows changed, as the counts report them.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn admin_applications(&self, q: &AdminQuery) -> Result<Vec<Application>, StoreError> {
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

    async fn admin_access_tokens(&self, q: &AdminQuery) -> Result<Vec<AccessToken>, StoreError> {
        self.admin_rows::<AccessTokenRow>(AdminList::AccessTokens, q)
            .await?
            .into_iter()
            .map(AccessToken::try_from)
            .collect()
    }

    async fn admin_refresh_tokens(&self, q: &AdminQuery) -> Result<Vec<RefreshToken>, StoreError> {
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

    async fn admin_id_tokens(&self, q: &AdminQuery) -> Result<Vec<IdToken>, StoreError> {
        self.admin_rows::<IdTokenRow>(AdminList::IdTokens, q)
            .await?
            .into_iter()
            .map(IdToken::try_from)
            .collect()
    }

    async fn admin_device_grants(&self, q: &AdminQuery) -> Result<Vec<DeviceGrant>, StoreError> {
        self.admin_rows::<DeviceGrantRow>(AdminList::DeviceGrants, q)
            .await?
            .into_iter()
            .map(DeviceGrant::try_from)
            .collect()
    }

    async fn admin_signing_keys(&self, q: &AdminQuery) -> Result<Vec<SigningKey>, StoreError> {
        Ok(self
            .admin_rows::<SigningKeyRow>(AdminList::SigningKeys, q)
            .await?
            .into_iter()
            .map(SigningKey::from)
            .collect())
    }

    async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError> {
        self.read(move |c| c.opt::<GrantRow>(SELECT_GRANT, &[&id]))
            .await?
            .map(Grant::try_from)
            .transpose()
    }

    async fn get_device_grant(&self, id: Id) -> Result<Option<DeviceGrant>, StoreError> {
        self.read(move |c| c.opt::<DeviceGrantRow>(SELECT_DEVICE_GRANT, &[&id]))
            .await?
            .map(DeviceGrant::try_from)
            .transpose()
    }

    async fn get_signing_key(&self, id: Id) -> Result<Option<SigningKey>, StoreError> {
        Ok(self
            .read(move |c| c.opt::<SigningKeyRow>(SELECT_SIGNING_KEY, &[&id]))
            .await?
            .map(SigningKey::from))
    }

    async fn delete_device_grant(&self, id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(DELETE_DEVICE_GRANT, &[&id]))
            .await
            .map(|n| n > 0)
    }

    async fn delete_user(&self, id: Id) -> Result<bool, StoreError> {
        // The cascades run inside this statement (foreign keys are on for every connection).
        self.write(move |c| c.exec(DELETE_USER, &[&id]))
            .await
            .map(|n| n > 0)
    }

    async fn revoke_user_tokens(
        &self,
        user_id: Id,
        application_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<RevokedCounts, StoreError> {
        let s = revoke_statements(application_id.is_some());
        // Values are bound by name: a statement without `$2`/`$3` leaves them unbound.
        self.write_all(move |c| {
            let refresh_tokens =
                c.exec(s.refresh_tokens, &[&user_id, &to_db(now), &application_id])?;
            let of_user: [&dyn ToSql; 2] = [&user_id, &application_id];
            // Access tokens before ID tokens: deleting an ID token deletes its access token.
            let access_tokens = c.exec(s.access_tokens, &of_user)?;
            let id_tokens = c.exec(s.id_tokens, &of_user)?;
            let grants = c.exec(s.grants, &of_user)?;
            let device_grants = c.exec(s.device_grants, &of_user)?;
            Ok(RevokedCounts {
                access_tokens: count(access_tokens),
                refresh_tokens: count(refresh_tokens),
                grants: count(grants),
                id_tokens: count(id_tokens),
                device_grants: count(device_grants),
            })
        })
        .await
    }
}
