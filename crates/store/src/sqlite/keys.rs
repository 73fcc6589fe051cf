//! `SecretStore` and `SigningKeyStore` on SQLite.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use time::OffsetDateTime;

use super::connection::Run;
use super::SqliteStore;
use crate::rows::SigningKeyRow;
use crate::sql::keys::*;
use crate::time_codec::to_db;

#[async_trait]
impl SecretStore for SqliteStore {
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &str,
    ) -> Result<String, StoreError> {
        let name = name.to_string();
        let candidate = candidate.to_string();
        let created = to_db(OffsetDateTime::now_utc());
        let insert_name = name.clone();
        self.write(move |c| {
            c.exec(
                INSERT_SECRET_IF_MISSING,
                &[&insert_name, &candidate, &created],
            )
        })
        .await?;
        self.read(move |c| {
            c.scalar::<String>(SELECT_SECRET, &[&name])?
                .ok_or_else(|| StoreError::Backend("the statement returned no row".into()))
        })
        .await
    }
}

#[async_trait]
impl SigningKeyStore for SqliteStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows = self
            .read(|c| c.all::<SigningKeyRow>(LIST_SIGNING_KEYS, &[]))
            .await?;
        Ok(rows.into_iter().map(SigningKey::from).collect())
    }

    async fn add_signing_key(
        &self,
        k: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<SigningKey, StoreError> {
        self.write(move |c| {
            c.one::<SigningKeyRow>(
                INSERT_SIGNING_KEY,
                &[&k.kid, &k.algorithm, &k.private_key, &to_db(now)],
            )
        })
        .await
        .map(SigningKey::from)
    }

    async fn create_initial_signing_key(
        &self,
        k: NewSigningKey,
        now: OffsetDateTime,
    ) -> Result<Vec<SigningKey>, StoreError> {
        self.write(move |c| {
            c.exec(
                INSERT_INITIAL_SIGNING_KEY,
                &[&k.kid, &k.algorithm, &k.private_key, &to_db(now)],
            )
        })
        .await?;
        let rows = self
            .read(|c| c.all::<SigningKeyRow>(LIST_SIGNING_KEYS, &[]))
            .await?;
        Ok(rows.into_iter().map(SigningKey::from).collect())
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let kid = kid.to_string();
        self.write(move |c| c.exec(DELETE_SIGNING_KEY, &[&kid]))
            .await
            .map(|n| n > 0)
    }
}
