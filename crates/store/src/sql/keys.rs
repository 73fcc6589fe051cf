//! Stored secrets (the session key) and ID token signing keys: SQL text, and the glue that
//! runs it for each backend.

/// First writer wins: a racing process's candidate is dropped, and both read the winner.
pub(crate) const INSERT_SECRET_IF_MISSING: &str =
    "INSERT INTO oauth_toolkit_secret (name, value, created) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO NOTHING";

pub(crate) const SELECT_SECRET: &str = "SELECT value FROM oauth_toolkit_secret WHERE name = $1";

pub(crate) const LIST_SIGNING_KEYS: &str =
    "SELECT id, kid, algorithm, private_key, created FROM oauth_toolkit_signingkey \
     ORDER BY id DESC";

pub(crate) const INSERT_SIGNING_KEY: &str =
    "INSERT INTO oauth_toolkit_signingkey (kid, algorithm, private_key, created) \
     VALUES ($1, $2, $3, $4) RETURNING id, kid, algorithm, private_key, created";

/// At most one `initial` key: of racing processes, one inserts it.
pub(crate) const INSERT_INITIAL_SIGNING_KEY: &str =
    "INSERT INTO oauth_toolkit_signingkey (kid, algorithm, private_key, label, created) \
     VALUES ($1, $2, $3, 'initial', $4) ON CONFLICT DO NOTHING";

pub(crate) const DELETE_SIGNING_KEY: &str = "DELETE FROM oauth_toolkit_signingkey WHERE kid = $1";

macro_rules! impl_key_stores {
    ($store:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use oauth_toolkit_core::models::*;
            use oauth_toolkit_core::store::*;
            use time::OffsetDateTime;

            use crate::error::map_err;
            use crate::rows::SigningKeyRow;
            use crate::sql::keys::*;
            use crate::stats::counted;
            use crate::time_codec::to_db;

            #[async_trait]
            impl SecretStore for $store {
                async fn get_or_create_secret(
                    &self,
                    name: &str,
                    candidate: &str,
                ) -> Result<String, StoreError> {
                    sqlx::query(INSERT_SECRET_IF_MISSING)
                        .bind(name)
                        .bind(candidate)
                        .bind(to_db(OffsetDateTime::now_utc()))
                        .execute(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    sqlx::query_scalar::<_, String>(SELECT_SECRET)
                        .bind(name)
                        .fetch_one(counted(&self.write))
                        .await
                        .map_err(map_err)
                }
            }

            #[async_trait]
            impl SigningKeyStore for $store {
                async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
                    let rows = sqlx::query_as::<_, SigningKeyRow>(LIST_SIGNING_KEYS)
                        .fetch_all(counted(&self.read))
                        .await
                        .map_err(map_err)?;
                    Ok(rows.into_iter().map(SigningKey::from).collect())
                }

                async fn add_signing_key(
                    &self,
                    k: NewSigningKey,
                    now: OffsetDateTime,
                ) -> Result<SigningKey, StoreError> {
                    sqlx::query_as::<_, SigningKeyRow>(INSERT_SIGNING_KEY)
                        .bind(k.kid)
                        .bind(k.algorithm)
                        .bind(k.private_key)
                        .bind(to_db(now))
                        .fetch_one(counted(&self.write))
                        .await
                        .map(SigningKey::from)
                        .map_err(map_err)
                }

                async fn create_initial_signing_key(
                    &self,
                    k: NewSigningKey,
                    now: OffsetDateTime,
                ) -> Result<Vec<SigningKey>, StoreError> {
                    sqlx::query(INSERT_INITIAL_SIGNING_KEY)
                        .bind(k.kid)
                        .bind(k.algorithm)
                        .bind(k.private_key)
                        .bind(to_db(now))
                        .execute(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    let rows = sqlx::query_as::<_, SigningKeyRow>(LIST_SIGNING_KEYS)
                        .fetch_all(counted(&self.write))
                        .await
                        .map_err(map_err)?;
                    Ok(rows.into_iter().map(SigningKey::from).collect())
                }

                async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
                    sqlx::query(DELETE_SIGNING_KEY)
                        .bind(kid)
                        .execute(counted(&self.write))
                        .await
                        .map(|r| r.rows_affected() > 0)
                        .map_err(map_err)
                }
            }
        };
    };
}

pub(crate) use impl_key_stores;
