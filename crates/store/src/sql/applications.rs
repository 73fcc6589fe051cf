//! Applications (OAuth clients): SQL text, and the glue that runs it for each backend.

pub(crate) const INSERT_APPLICATION: &str =
    "INSERT INTO oauth2_provider_application (client_id, user_id, redirect_uris, \
     post_logout_redirect_uris, client_type, authorization_grant_type, client_secret, \
     hash_client_secret, name, skip_authorization, algorithm, allowed_origins, \
     created, updated) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING *";

pub(crate) const SELECT_APPLICATION: &str =
    "SELECT * FROM oauth2_provider_application WHERE id = $1";

pub(crate) const SELECT_APPLICATION_BY_CLIENT_ID: &str =
    "SELECT * FROM oauth2_provider_application WHERE client_id = $1";

pub(crate) const LIST_APPLICATIONS_FOR_USER: &str =
    "SELECT * FROM oauth2_provider_application WHERE user_id = $1 ORDER BY id";

pub(crate) const UPDATE_APPLICATION: &str =
    "UPDATE oauth2_provider_application SET client_id = $2, user_id = $3, \
     redirect_uris = $4, post_logout_redirect_uris = $5, client_type = $6, \
     authorization_grant_type = $7, client_secret = $8, hash_client_secret = $9, \
     name = $10, skip_authorization = $11, algorithm = $12, allowed_origins = $13, \
     updated = $14 WHERE id = $1 RETURNING *";

pub(crate) const DELETE_APPLICATION: &str = "DELETE FROM oauth2_provider_application WHERE id = $1";

macro_rules! impl_application_store {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::{map_err, unstorable};
            use crate::rows::ApplicationRow;
            use crate::sql::applications::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl ApplicationStore for $store {
                async fn create_application(
                    &self,
                    a: NewApplication,
                    now: OffsetDateTime,
                ) -> Result<Application, StoreError> {
                    let row = sqlx::query_as::<_, ApplicationRow>(INSERT_APPLICATION)
                        .bind(a.client_id)
                        .bind(a.user_id)
                        .bind(a.redirect_uris)
                        .bind(a.post_logout_redirect_uris)
                        .bind(a.client_type.as_str())
                        .bind(a.authorization_grant_type.as_str())
                        .bind(a.client_secret)
                        .bind(a.hash_client_secret)
                        .bind(a.name)
                        .bind(a.skip_authorization)
                        .bind(a.algorithm.as_str())
                        .bind(a.allowed_origins)
                        .bind(to_db(now))
                        .fetch_one(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    row.try_into()
                }

                async fn get_application(&self, id: Id) -> Result<Option<Application>, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(SELECT_APPLICATION)
                        .bind(id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
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
                    sqlx::query_as::<_, ApplicationRow>(SELECT_APPLICATION_BY_CLIENT_ID)
                        .bind(client_id)
                        .fetch_optional(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .map(Application::try_from)
                        .transpose()
                }

                async fn list_applications_for_user(
                    &self,
                    user_id: Id,
                ) -> Result<Vec<Application>, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(LIST_APPLICATIONS_FOR_USER)
                        .bind(user_id)
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(Application::try_from)
                        .collect()
                }

                async fn update_application(
                    &self,
                    a: &Application,
                    now: OffsetDateTime,
                ) -> Result<Option<Application>, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(UPDATE_APPLICATION)
                        .bind(a.id)
                        .bind(&a.client_id)
                        .bind(a.user_id)
                        .bind(&a.redirect_uris)
                        .bind(&a.post_logout_redirect_uris)
                        .bind(a.client_type.as_str())
                        .bind(a.authorization_grant_type.as_str())
                        .bind(&a.client_secret)
                        .bind(a.hash_client_secret)
                        .bind(&a.name)
                        .bind(a.skip_authorization)
                        .bind(a.algorithm.as_str())
                        .bind(&a.allowed_origins)
                        .bind(to_db(now))
                        .fetch_optional(counted(&self.write))
                        .await
                        .map_err(map_err)?
                        .map(Application::try_from)
                        .transpose()
                }

                async fn delete_application(&self, id: Id) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_APPLICATION)
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

pub(crate) use impl_application_store;
