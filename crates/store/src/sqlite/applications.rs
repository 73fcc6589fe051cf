//! `ApplicationStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::Run;
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::ApplicationRow;
use crate::sql::applications::*;
use crate::time_codec::to_db;

#[async_trait]
impl ApplicationStore for SqliteStore {
    async fn create_application(
        &self,
        a: NewApplication,
        now: OffsetDateTime,
    ) -> Result<Application, StoreError> {
        self.write(move |c| {
            c.one::<ApplicationRow>(
                INSERT_APPLICATION,
                &[
                    &a.client_id,
                    &a.user_id,
                    &a.redirect_uris,
                    &a.post_logout_redirect_uris,
                    &a.client_type.as_str(),
                    &a.authorization_grant_type.as_str(),
                    &a.client_secret,
                    &a.hash_client_secret,
                    &a.name,
                    &a.skip_authorization,
                    &a.algorithm.as_str(),
                    &a.allowed_origins,
                    &to_db(now),
                ],
            )
        })
        .await?
        .try_into()
    }

    async fn get_application(&self, id: Id) -> Result<Option<Application>, StoreError> {
        self.read(move |c| c.opt::<ApplicationRow>(SELECT_APPLICATION, &[&id]))
            .await?
            .map(Application::try_from)
            .transpose()
    }

    async fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        if unstorable(client_id) {
            return Ok(None);
        }
        let client_id = client_id.to_string();
        self.read(move |c| c.opt::<ApplicationRow>(SELECT_APPLICATION_BY_CLIENT_ID, &[&client_id]))
            .await?
            .map(Application::try_from)
            .transpose()
    }

    async fn list_applications_for_user(
        &self,
        user_id: Id,
    ) -> Result<Vec<Application>, StoreError> {
        self.scan(move |c| c.all::<ApplicationRow>(LIST_APPLICATIONS_FOR_USER, &[&user_id]))
            .await?
            .into_iter()
            .map(Application::try_from)
            .collect()
    }

    async fn update_application(
        &self,
        a: &Application,
        now: OffsetDateTime,
    ) -> Result<Option<Application>, StoreError> {
        let a = a.clone();
        self.write(move |c| {
            c.opt::<ApplicationRow>(
                UPDATE_APPLICATION,
                &[
                    &a.id,
                    &a.client_id,
                    &a.user_id,
                    &a.redirect_uris,
                    &a.post_logout_redirect_uris,
                    &a.client_type.as_str(),
                    &a.authorization_grant_type.as_str(),
                    &a.client_secret,
                    &a.hash_client_secret,
                    &a.name,
                    &a.skip_authorization,
                    &a.algorithm.as_str(),
                    &a.allowed_origins,
                    &to_db(now),
                ],
            )
        })
        .await?
        .map(Application::try_from)
        .transpose()
    }

    async fn delete_application(&self, id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(DELETE_APPLICATION, &[&id]))
            .await
            .map(|n| n > 0)
    }
}
