//! Registered clients.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::models::*;

/// The registered applications (clients).
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Register an application; [`StoreError::Conflict`] when the client id is taken.
    async fn create_application(
        &self,
        app: NewApplication,
        now: OffsetDateTime,
    ) -> Result<Application, StoreError>;
    /// The application with this row id.
    async fn get_application(&self, id: Id) -> Result<Option<Application>, StoreError>;
    /// The application with this client id.
    async fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError>;
    /// The applications owned by this user.
    async fn list_applications_for_user(&self, user_id: Id)
        -> Result<Vec<Application>, StoreError>;
    /// Save every editable field of `app` (matched by id); returns the stored row.
    async fn update_application(
        &self,
        app: &Application,
        now: OffsetDateTime,
    ) -> Result<Option<Application>, StoreError>;
    /// Delete an application and (by cascade) its grants and tokens.
    async fn delete_application(&self, id: Id) -> Result<bool, StoreError>;
}
