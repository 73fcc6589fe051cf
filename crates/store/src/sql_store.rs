//! The storage traits implemented once, as SQL text shared by both backends.
//!
//! `impl_sql_store!` expands the same method bodies for `SqliteStore` and `PgStore`: sqlx's
//! drivers are distinct types, and a macro keeps one copy of every query without the
//! trait-bound maze of a generic `Database` implementation. Placeholders are `$N`, which
//! both SQLite and PostgreSQL accept. Writes go through `self.write` (a single connection on
//! SQLite, so writers never fight over the lock), reads through `self.read`.

macro_rules! impl_sql_store {
    ($store:ident, $backend:literal) => {
        pub(crate) mod queries {
        use super::$store;
        use async_trait::async_trait;
        use oauth_toolkit_core::clear_expired::{ClearExpiredPlan, ClearStep};
        use oauth_toolkit_core::models::*;
        use oauth_toolkit_core::store::*;
        use time::OffsetDateTime;
        use uuid::Uuid;

        use crate::error::{map_err, unstorable};
        use crate::stats::counted;
        use crate::rows::*;
        use crate::time_codec::to_db;

        fn family(f: Option<Uuid>) -> Option<String> {
            f.map(|u| u.hyphenated().to_string())
        }

        /// One INSERT of an access token, on a pool or inside a transaction.
        pub(crate) async fn insert_access_token<'e, E>(
            executor: E,
            t: NewAccessToken,
            now: OffsetDateTime,
        ) -> Result<AccessToken, StoreError>
        where
            E: sqlx::Executor<'e, Database = <$store as crate::sql_store::HasDb>::Db>,
        {
            sqlx::query_as::<_, AccessTokenRow>(
                "INSERT INTO oauth2_provider_accesstoken (user_id, source_refresh_token_id, token, \
                 token_checksum, id_token_id, application_id, expires, scope, token_family, \
                 created, updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *",
            )
            .bind(t.user_id)
            .bind(t.source_refresh_token_id)
            .bind(t.token)
            .bind(t.token_checksum)
            .bind(t.id_token_id)
            .bind(t.application_id)
            .bind(to_db(t.expires))
            .bind(t.scope)
            .bind(family(t.token_family))
            .bind(to_db(now))
            .fetch_one(counted(executor))
            .await
            .map_err(map_err)?
            .try_into()
        }

        /// One INSERT of a refresh token, on a pool or inside a transaction.
        pub(crate) async fn insert_refresh_token<'e, E>(
            executor: E,
            t: NewRefreshToken,
            access_token_id: Option<Id>,
            now: OffsetDateTime,
        ) -> Result<RefreshToken, StoreError>
        where
            E: sqlx::Executor<'e, Database = <$store as crate::sql_store::HasDb>::Db>,
        {
            sqlx::query_as::<_, RefreshTokenRow>(
                "INSERT INTO oauth2_provider_refreshtoken (user_id, token, token_checksum, \
                 application_id, access_token_id, token_family, created, updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *",
            )
            .bind(t.user_id)
            .bind(t.token)
            .bind(t.token_checksum)
            .bind(t.application_id)
            .bind(access_token_id)
            .bind(family(t.token_family))
            .bind(to_db(now))
            .fetch_one(counted(executor))
            .await
            .map_err(map_err)?
            .try_into()
        }

        /// One INSERT of an ID token record, on a pool or inside a transaction.
        pub(crate) async fn insert_id_token<'e, E>(
            executor: E,
            t: NewIdToken,
            now: OffsetDateTime,
        ) -> Result<IdToken, StoreError>
        where
            E: sqlx::Executor<'e, Database = <$store as crate::sql_store::HasDb>::Db>,
        {
            sqlx::query_as::<_, IdTokenRow>(
                "INSERT INTO oauth2_provider_idtoken (user_id, application_id, jti, expires, scope, \
                 created, updated, auth_time, sid, claims) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING *",
            )
            .bind(t.user_id)
            .bind(t.application_id)
            .bind(t.jti.hyphenated().to_string())
            .bind(to_db(t.expires))
            .bind(t.scope)
            .bind(to_db(now))
            .bind(t.auth_time.map(to_db))
            .bind(t.sid)
            .bind(t.claims)
            .fetch_one(counted(executor))
            .await
            .map_err(map_err)?
            .try_into()
        }

        /// Write an access token (and its refresh token) now, on its own. An access token
        /// alone (client_credentials) is one statement, atomic by itself: no BEGIN/COMMIT.
        pub(crate) async fn issue_now(
            pool: &sqlx::Pool<<$store as crate::sql_store::HasDb>::Db>,
            pair: NewTokenPair,
            now: OffsetDateTime,
        ) -> Result<IssuedTokens, StoreError> {
            let Some(refresh) = pair.refresh else {
                let at = insert_access_token(pool, pair.access, now).await?;
                return Ok((at, None));
            };
            let mut tx = counted(pool).begin().await.map_err(map_err)?;
            let at = insert_access_token(&mut *tx, pair.access, now).await?;
            let rt = insert_refresh_token(&mut *tx, refresh, Some(at.id), now).await?;
            counted(tx).commit().await.map_err(map_err)?;
            Ok((at, Some(rt)))
        }

        #[async_trait]
        impl UserStore for $store {
            async fn create_user(&self, u: NewUser, now: OffsetDateTime) -> Result<User, StoreError> {
                sqlx::query_as::<_, UserRow>(
                    "INSERT INTO oauth_toolkit_user (username, email, first_name, last_name, \
                     password, is_active, is_staff, is_superuser, date_joined) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                )
                .bind(u.username)
                .bind(u.email)
                .bind(u.first_name)
                .bind(u.last_name)
                .bind(u.password)
                .bind(u.is_active)
                .bind(u.is_staff)
                .bind(u.is_superuser)
                .bind(to_db(now))
                .fetch_one(counted(&self.write))
                .await
                .map(User::from)
                .map_err(map_err)
            }

            async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError> {
                sqlx::query_as::<_, UserRow>("SELECT * FROM oauth_toolkit_user WHERE id = $1")
                    .bind(id)
                    .fetch_optional(counted(&self.read))
                    .await
                    .map(|r| r.map(User::from))
                    .map_err(map_err)
            }

            async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
                if unstorable(username) {
                    return Ok(None);
                }
                sqlx::query_as::<_, UserRow>("SELECT * FROM oauth_toolkit_user WHERE username = $1")
                    .bind(username)
                    .fetch_optional(counted(&self.read))
                    .await
                    .map(|r| r.map(User::from))
                    .map_err(map_err)
            }

            async fn set_user_password(&self, id: Id, password_hash: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE oauth_toolkit_user SET password = $2 WHERE id = $1")
                    .bind(id)
                    .bind(password_hash)
                    .execute(counted(&self.write))
                    .await
                    .map(|_| ())
                    .map_err(map_err)
            }

            async fn record_login(&self, id: Id, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE oauth_toolkit_user SET last_login = $2 WHERE id = $1")
                    .bind(id)
                    .bind(to_db(now))
                    .execute(counted(&self.write))
                    .await
                    .map(|_| ())
                    .map_err(map_err)
            }

            async fn update_user(&self, u: &User) -> Result<Option<User>, StoreError> {
                sqlx::query_as::<_, UserRow>(
                    "UPDATE oauth_toolkit_user SET email = $2, is_active = $3, is_staff = $4, \
                     password = $5 WHERE id = $1 RETURNING *",
                )
                .bind(u.id)
                .bind(&u.email)
                .bind(u.is_active)
                .bind(u.is_staff)
                .bind(&u.password)
                .fetch_optional(counted(&self.write))
                .await
                .map(|r| r.map(User::from))
                .map_err(map_err)
            }
        }

        #[async_trait]
        impl ApplicationStore for $store {
            async fn create_application(
                &self,
                a: NewApplication,
                now: OffsetDateTime,
            ) -> Result<Application, StoreError> {
                let row = sqlx::query_as::<_, ApplicationRow>(
                    "INSERT INTO oauth2_provider_application (client_id, user_id, redirect_uris, \
                     post_logout_redirect_uris, client_type, authorization_grant_type, client_secret, \
                     hash_client_secret, name, skip_authorization, algorithm, allowed_origins, \
                     created, updated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING *",
                )
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
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM oauth2_provider_application WHERE id = $1",
                )
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
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM oauth2_provider_application WHERE client_id = $1",
                )
                .bind(client_id)
                .fetch_optional(counted(&self.read))
                .await
                .map_err(map_err)?
                .map(Application::try_from)
                .transpose()
            }

            async fn list_applications_for_user(&self, user_id: Id) -> Result<Vec<Application>, StoreError> {
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM oauth2_provider_application WHERE user_id = $1 ORDER BY id",
                )
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
                sqlx::query_as::<_, ApplicationRow>(
                    "UPDATE oauth2_provider_application SET client_id = $2, user_id = $3, \
                     redirect_uris = $4, post_logout_redirect_uris = $5, client_type = $6, \
                     authorization_grant_type = $7, client_secret = $8, hash_client_secret = $9, \
                     name = $10, skip_authorization = $11, algorithm = $12, allowed_origins = $13, \
                     updated = $14 WHERE id = $1 RETURNING *",
                )
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
                sqlx::query("DELETE FROM oauth2_provider_application WHERE id = $1")
                    .bind(id)
                    .execute(counted(&self.write))
                    .await
                    .map(|r| r.rows_affected() > 0)
                    .map_err(map_err)
            }
        }

        #[async_trait]
        impl GrantStore for $store {
            async fn create_grant(&self, g: NewGrant, now: OffsetDateTime) -> Result<Grant, StoreError> {
                let checksum = oauth_toolkit_core::token_checksum::token_checksum(&g.code);
                sqlx::query_as::<_, GrantRow>(
                    "INSERT INTO oauth2_provider_grant (user_id, code_checksum, application_id, \
                     expires, redirect_uri, scope, code_challenge, code_challenge_method, nonce, \
                     claims, token_family, created, updated, auth_time, sid) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14) RETURNING *",
                )
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
                .fetch_one(counted(&self.write))
                .await
                .map_err(map_err)?
                .try_into()
            }

            async fn find_grant(&self, code_checksum: &str) -> Result<Option<Grant>, StoreError> {
                if unstorable(code_checksum) {
                    return Ok(None);
                }
                sqlx::query_as::<_, GrantRow>("SELECT * FROM oauth2_provider_grant WHERE code_checksum = $1")
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
                let taken = sqlx::query_as::<_, GrantRow>(
                    "UPDATE oauth2_provider_grant SET consumed = $2, updated = $2 \
                     WHERE code_checksum = $1 AND consumed IS NULL RETURNING *",
                )
                .bind(code_checksum)
                .bind(to_db(now))
                .fetch_optional(counted(&self.write))
                .await
                .map_err(map_err)?;
                if let Some(row) = taken {
                    return Ok(Consumed::Now(row.try_into()?));
                }
                let existing = sqlx::query_as::<_, GrantRow>(
                    "SELECT * FROM oauth2_provider_grant WHERE code_checksum = $1",
                )
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
                sqlx::query("DELETE FROM oauth2_provider_grant WHERE id = $1")
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
                // The single-use gate, and the row lock that makes a racing redemption wait
                // for this transaction's outcome (PostgreSQL re-checks `consumed` after it).
                let taken = sqlx::query_scalar::<_, i64>(
                    "UPDATE oauth2_provider_grant SET consumed = $3, updated = $3 \
                     WHERE id = $1 AND application_id = $2 AND consumed IS NULL RETURNING id",
                )
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
                        let row = insert_id_token(&mut *tx, t, now).await?;
                        access.id_token_id = Some(row.id);
                        Some(row)
                    }
                    None => None,
                };
                let at = insert_access_token(&mut *tx, access, now).await?;
                let rt = match pair.refresh {
                    Some(r) => Some(insert_refresh_token(&mut *tx, r, Some(at.id), now).await?),
                    None => None,
                };
                counted(tx).commit().await.map_err(map_err)?;
                Ok(Redemption::Issued(Box::new(((at, rt), id_row))))
            }
        }

        #[async_trait]
        impl TokenStore for $store {
            async fn issue_tokens(
                &self,
                pair: NewTokenPair,
                now: OffsetDateTime,
            ) -> Result<IssuedTokens, StoreError> {
                // SQLite commits concurrent issuances together (group_commit.rs);
                // PostgreSQL writes each at once (`issue_now`).
                self.issue_token_pair(pair, now).await
            }

            async fn rotate_refresh_token(
                &self,
                old_refresh_id: Id,
                pair: NewTokenPair,
                now: OffsetDateTime,
            ) -> Result<Rotation, StoreError> {
                let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                // The conditional UPDATE is the single-use gate: one of any racing callers wins.
                let claimed = sqlx::query_scalar::<_, Option<i64>>(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
                     WHERE id = $1 AND revoked IS NULL RETURNING access_token_id",
                )
                .bind(old_refresh_id)
                .bind(to_db(now))
                .fetch_optional(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                let Some(old_access) = claimed else {
                    tx.rollback().await.map_err(map_err)?;
                    let existing = sqlx::query_as::<_, RefreshTokenRow>(
                        "SELECT * FROM oauth2_provider_refreshtoken WHERE id = $1",
                    )
                    .bind(old_refresh_id)
                    .fetch_optional(counted(&self.write))
                    .await
                    .map_err(map_err)?;
                    return Ok(match existing {
                        Some(_) => Rotation::AlreadyRevoked,
                        None => Rotation::Missing,
                    });
                };
                if let Some(old_access) = old_access {
                    sqlx::query("DELETE FROM oauth2_provider_accesstoken WHERE id = $1")
                        .bind(old_access)
                        .execute(counted(&mut *tx))
                        .await
                        .map_err(map_err)?;
                }
                let mut access = pair.access;
                access.source_refresh_token_id = Some(old_refresh_id);
                let at = insert_access_token(&mut *tx, access, now).await?;
                let Some(refresh) = pair.refresh else {
                    return Err(StoreError::Backend("rotation without a new refresh token".into()));
                };
                let rt = insert_refresh_token(&mut *tx, refresh, Some(at.id), now).await?;
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
                now: OffsetDateTime,
            ) -> Result<Option<AccessToken>, StoreError> {
                sqlx::query_as::<_, AccessTokenRow>(
                    "UPDATE oauth2_provider_accesstoken SET token = $2, token_checksum = $3, \
                     expires = $4, scope = $5, updated = $6 WHERE id = $1 RETURNING *",
                )
                .bind(access_token_id)
                .bind(token)
                .bind(token_checksum)
                .bind(to_db(expires))
                .bind(scope)
                .bind(to_db(now))
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
                sqlx::query_as::<_, AccessTokenRow>(
                    "SELECT * FROM oauth2_provider_accesstoken WHERE source_refresh_token_id = $1",
                )
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
                sqlx::query_as::<_, RefreshTokenRow>(
                    "SELECT * FROM oauth2_provider_refreshtoken WHERE access_token_id = $1",
                )
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
                sqlx::query_as::<_, AccessTokenRow>(
                    "SELECT * FROM oauth2_provider_accesstoken \
                     WHERE user_id = $1 AND application_id = $2 AND expires > $3",
                )
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
                insert_access_token(&self.write, t, now).await
            }

            async fn get_access_token(&self, id: Id) -> Result<Option<AccessToken>, StoreError> {
                sqlx::query_as::<_, AccessTokenRow>("SELECT * FROM oauth2_provider_accesstoken WHERE id = $1")
                    .bind(id)
                    .fetch_optional(counted(&self.read))
                    .await
                    .map_err(map_err)?
                    .map(AccessToken::try_from)
                    .transpose()
            }

            async fn find_access_token(&self, checksum: &str) -> Result<Option<AccessToken>, StoreError> {
                if unstorable(checksum) {
                    return Ok(None);
                }
                sqlx::query_as::<_, AccessTokenRow>(
                    "SELECT * FROM oauth2_provider_accesstoken WHERE token_checksum = $1",
                )
                .bind(checksum)
                .fetch_optional(counted(&self.read))
                .await
                .map_err(map_err)?
                .map(AccessToken::try_from)
                .transpose()
            }

            async fn list_access_tokens_for_user(&self, user_id: Id) -> Result<Vec<AccessToken>, StoreError> {
                sqlx::query_as::<_, AccessTokenRow>(
                    "SELECT * FROM oauth2_provider_accesstoken WHERE user_id = $1 \
                     ORDER BY created DESC, id DESC",
                )
                .bind(user_id)
                .fetch_all(counted(&self.read))
                .await
                .map_err(map_err)?
                .into_iter()
                .map(AccessToken::try_from)
                .collect()
            }

            async fn delete_access_token(&self, id: Id) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM oauth2_provider_accesstoken WHERE id = $1")
                    .bind(id)
                    .execute(counted(&self.write))
                    .await
                    .map(|r| r.rows_affected() > 0)
                    .map_err(map_err)
            }

            async fn revoke_access_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError> {
                let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                sqlx::query(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
                     WHERE access_token_id = $1 AND revoked IS NULL",
                )
                .bind(id)
                .bind(to_db(now))
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                // ON DELETE SET NULL unbinds the refresh token.
                let deleted = sqlx::query("DELETE FROM oauth2_provider_accesstoken WHERE id = $1")
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
                insert_refresh_token(&self.write, t, access_token_id, now).await
            }

            async fn get_refresh_token(&self, id: Id) -> Result<Option<RefreshToken>, StoreError> {
                sqlx::query_as::<_, RefreshTokenRow>("SELECT * FROM oauth2_provider_refreshtoken WHERE id = $1")
                    .bind(id)
                    .fetch_optional(counted(&self.read))
                    .await
                    .map_err(map_err)?
                    .map(RefreshToken::try_from)
                    .transpose()
            }

            async fn find_refresh_token(&self, checksum: &str) -> Result<Option<RefreshToken>, StoreError> {
                if unstorable(checksum) {
                    return Ok(None);
                }
                sqlx::query_as::<_, RefreshTokenRow>(
                    "SELECT * FROM oauth2_provider_refreshtoken WHERE token_checksum = $1",
                )
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
                sqlx::query(
                    "UPDATE oauth2_provider_refreshtoken SET access_token_id = $2, updated = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(access_token_id)
                .bind(to_db(now))
                .execute(counted(&self.write))
                .await
                .map(|_| ())
                .map_err(map_err)
            }

            async fn revoke_refresh_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError> {
                let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                // The conditional UPDATE is the lock: a second revoker finds `revoked` set.
                let access_token = sqlx::query_scalar::<_, Option<i64>>(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
                     WHERE id = $1 AND revoked IS NULL RETURNING access_token_id",
                )
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
                    sqlx::query("DELETE FROM oauth2_provider_accesstoken WHERE id = $1")
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
                let taken = sqlx::query_as::<_, RefreshTokenRow>(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
                     WHERE id = $1 AND revoked IS NULL RETURNING *",
                )
                .bind(id)
                .bind(to_db(now))
                .fetch_optional(counted(&self.write))
                .await
                .map_err(map_err)?;
                if let Some(row) = taken {
                    return Ok(Consumed::Now(row.try_into()?));
                }
                let existing = sqlx::query_as::<_, RefreshTokenRow>(
                    "SELECT * FROM oauth2_provider_refreshtoken WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(counted(&self.write))
                .await
                .map_err(map_err)?;
                Ok(match existing {
                    Some(row) => Consumed::Already(row.try_into()?),
                    None => Consumed::Missing,
                })
            }

            async fn revoke_token_family(&self, f: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
                let f = f.hyphenated().to_string();
                let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                // The ID token records of the family's access tokens (their JWTs cannot be
                // recalled, but the records count as consent and name the session).
                sqlx::query(
                    "DELETE FROM oauth2_provider_idtoken WHERE id IN \
                     (SELECT id_token_id FROM oauth2_provider_accesstoken \
                      WHERE id_token_id IS NOT NULL AND (token_family = $1 OR id IN \
                       (SELECT access_token_id FROM oauth2_provider_refreshtoken \
                        WHERE token_family = $1 AND access_token_id IS NOT NULL)))",
                )
                .bind(&f)
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                sqlx::query(
                    "DELETE FROM oauth2_provider_accesstoken WHERE token_family = $1 OR id IN \
                     (SELECT access_token_id FROM oauth2_provider_refreshtoken \
                      WHERE token_family = $1 AND access_token_id IS NOT NULL)",
                )
                .bind(&f)
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                let revoked = sqlx::query(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $2, updated = $2 \
                     WHERE token_family = $1 AND revoked IS NULL",
                )
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

        #[async_trait]
        impl IdTokenStore for $store {
            async fn create_id_token(&self, t: NewIdToken, now: OffsetDateTime) -> Result<IdToken, StoreError> {
                insert_id_token(&self.write, t, now).await
            }

            async fn find_id_token_by_jti(&self, jti: Uuid) -> Result<Option<IdToken>, StoreError> {
                sqlx::query_as::<_, IdTokenRow>("SELECT * FROM oauth2_provider_idtoken WHERE jti = $1")
                    .bind(jti.hyphenated().to_string())
                    .fetch_optional(counted(&self.read))
                    .await
                    .map_err(map_err)?
                    .map(IdToken::try_from)
                    .transpose()
            }

            async fn list_live_id_tokens(
                &self,
                user_id: Id,
                application_id: Id,
                now: OffsetDateTime,
            ) -> Result<Vec<IdToken>, StoreError> {
                sqlx::query_as::<_, IdTokenRow>(
                    "SELECT * FROM oauth2_provider_idtoken \
                     WHERE user_id = $1 AND application_id = $2 AND expires > $3",
                )
                .bind(user_id)
                .bind(application_id)
                .bind(to_db(now))
                .fetch_all(counted(&self.read))
                .await
                .map_err(map_err)?
                .into_iter()
                .map(IdToken::try_from)
                .collect()
            }

            async fn get_id_token(&self, id: Id) -> Result<Option<IdToken>, StoreError> {
                sqlx::query_as::<_, IdTokenRow>("SELECT * FROM oauth2_provider_idtoken WHERE id = $1")
                    .bind(id)
                    .fetch_optional(counted(&self.read))
                    .await
                    .map_err(map_err)?
                    .map(IdToken::try_from)
                    .transpose()
            }

            async fn delete_user_tokens_for_application(
                &self,
                user_id: Id,
                application_id: Id,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let mut tx = counted(&self.write).begin().await.map_err(map_err)?;
                sqlx::query(
                    "UPDATE oauth2_provider_refreshtoken SET revoked = $3, updated = $3, \
                     access_token_id = NULL \
                     WHERE user_id = $1 AND application_id = $2 AND revoked IS NULL",
                )
                .bind(user_id)
                .bind(application_id)
                .bind(to_db(now))
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                let deleted = sqlx::query(
                    "DELETE FROM oauth2_provider_accesstoken WHERE user_id = $1 AND application_id = $2",
                )
                .bind(user_id)
                .bind(application_id)
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?
                .rows_affected();
                sqlx::query(
                    "DELETE FROM oauth2_provider_idtoken WHERE user_id = $1 AND application_id = $2",
                )
                .bind(user_id)
                .bind(application_id)
                .execute(counted(&mut *tx))
                .await
                .map_err(map_err)?;
                counted(tx).commit().await.map_err(map_err)?;
                Ok(deleted)
            }

            async fn delete_id_token(&self, id: Id) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM oauth2_provider_idtoken WHERE id = $1")
                    .bind(id)
                    .execute(counted(&self.write))
                    .await
                    .map(|r| r.rows_affected() > 0)
                    .map_err(map_err)
            }
        }

        #[async_trait]
        impl DeviceGrantStore for $store {
            async fn create_device_grant(
                &self,
                g: NewDeviceGrant,
                now: OffsetDateTime,
            ) -> Result<DeviceGrant, StoreError> {
                let checksum = oauth_toolkit_core::token_checksum::token_checksum(&g.device_code);
                sqlx::query_as::<_, DeviceGrantRow>(
                    "INSERT INTO oauth2_provider_devicegrant (device_code_checksum, user_code, scope, \
                     \"interval\", expires, status, client_id, created) \
                     VALUES ($1, $2, $3, $4, $5, 'authorization-pending', $6, $7) RETURNING *",
                )
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

            async fn find_device_grant(&self, checksum: &str) -> Result<Option<DeviceGrant>, StoreError> {
                if unstorable(checksum) {
                    return Ok(None);
                }
                sqlx::query_as::<_, DeviceGrantRow>(
                    "SELECT * FROM oauth2_provider_devicegrant WHERE device_code_checksum = $1",
                )
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
                sqlx::query_as::<_, DeviceGrantRow>(
                    "SELECT * FROM oauth2_provider_devicegrant WHERE user_code = $1",
                )
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
                sqlx::query(
                    "UPDATE oauth2_provider_devicegrant SET status = $3, user_id = COALESCE($4, user_id) \
                     WHERE id = $1 AND status = $2",
                )
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
                sqlx::query_as::<_, DeviceGrantRow>(
                    "DELETE FROM oauth2_provider_devicegrant \
                     WHERE device_code_checksum = $1 AND status = 'authorized' RETURNING *",
                )
                .bind(checksum)
                .fetch_optional(counted(&self.write))
                .await
                .map_err(map_err)?
                .map(DeviceGrant::try_from)
                .transpose()
            }

            async fn bind_device_grant(&self, id: Id, user_id: Id) -> Result<bool, StoreError> {
                sqlx::query(
                    "UPDATE oauth2_provider_devicegrant SET user_id = $2 \
                     WHERE id = $1 AND status = 'authorization-pending' \
                     AND (user_id IS NULL OR user_id = $2)",
                )
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
                // The gate is one conditional UPDATE: of racing polls exactly one passes.
                let accepted = sqlx::query(
                    "UPDATE oauth2_provider_devicegrant SET last_checked = $2 \
                     WHERE id = $1 AND (last_checked IS NULL \
                     OR last_checked <= $2 - \"interval\" * 1000000)",
                )
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
                let interval: Option<i64> = sqlx::query_scalar(
                    "UPDATE oauth2_provider_devicegrant SET last_checked = $2, \
                     \"interval\" = CASE WHEN \"interval\" + 5 <= $3 THEN \"interval\" + 5 \
                     ELSE \"interval\" END \
                     WHERE id = $1 RETURNING \"interval\"",
                )
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

        #[async_trait]
        impl SecretStore for $store {
            async fn get_or_create_secret(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_toolkit_secret (name, value, created) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(candidate)
                .bind(to_db(OffsetDateTime::now_utc()))
                .execute(counted(&self.write))
                .await
                .map_err(map_err)?;
                sqlx::query_scalar::<_, String>("SELECT value FROM oauth_toolkit_secret WHERE name = $1")
                    .bind(name)
                    .fetch_one(counted(&self.write))
                    .await
                    .map_err(map_err)
            }
        }

        #[async_trait]
        impl SigningKeyStore for $store {
            async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
                let rows = sqlx::query_as::<_, SigningKeyRow>(
                    "SELECT id, kid, algorithm, private_key, created FROM oauth_toolkit_signingkey \
                     ORDER BY id DESC",
                )
                .fetch_all(counted(&self.read))
                .await
                .map_err(map_err)?;
                Ok(rows.into_iter().map(SigningKey::from).collect())
            }

            async fn add_signing_key(&self, k: NewSigningKey, now: OffsetDateTime) -> Result<SigningKey, StoreError> {
                sqlx::query_as::<_, SigningKeyRow>(
                    "INSERT INTO oauth_toolkit_signingkey (kid, algorithm, private_key, created) \
                     VALUES ($1, $2, $3, $4) RETURNING id, kid, algorithm, private_key, created",
                )
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
                sqlx::query(
                    "INSERT INTO oauth_toolkit_signingkey (kid, algorithm, private_key, label, created) \
                     VALUES ($1, $2, $3, 'initial', $4) ON CONFLICT DO NOTHING",
                )
                .bind(k.kid)
                .bind(k.algorithm)
                .bind(k.private_key)
                .bind(to_db(now))
                .execute(counted(&self.write))
                .await
                .map_err(map_err)?;
                let rows = sqlx::query_as::<_, SigningKeyRow>(
                    "SELECT id, kid, algorithm, private_key, created FROM oauth_toolkit_signingkey \
                     ORDER BY id DESC",
                )
                .fetch_all(counted(&self.write))
                .await
                .map_err(map_err)?;
                Ok(rows.into_iter().map(SigningKey::from).collect())
            }

            async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM oauth_toolkit_signingkey WHERE kid = $1")
                    .bind(kid)
                    .execute(counted(&self.write))
                    .await
                    .map(|r| r.rows_affected() > 0)
                    .map_err(map_err)
            }
        }

        #[async_trait]
        impl CleanupStore for $store {
            fn single_writer(&self) -> bool {
                $backend == "sqlite"
            }

            async fn delete_expired_batch(
                &self,
                step: ClearStep,
                plan: &ClearExpiredPlan,
                after_id: Id,
                limit: u64,
            ) -> Result<(u64, Option<Id>), StoreError> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let now = to_db(plan.now);
                // Per step: the table, the condition a row must meet (`{t}` stands for the row's
                // table or alias; `$1` is the cutoff), and the cutoff.
                let (table, condition, cutoff) = match step {
                    ClearStep::RevokedRefreshTokens => (
                        "oauth2_provider_refreshtoken",
                        "{t}.revoked IS NOT NULL AND {t}.revoked <= $1",
                        plan.refresh_revoked_before.map(to_db),
                    ),
                    ClearStep::OrphanRefreshTokens => (
                        // No age cutoff: orphans go whatever their age (DOT 3.4.1). `$1` is
                        // bound anyway so that every step takes the same parameters.
                        "oauth2_provider_refreshtoken",
                        "{t}.revoked IS NULL AND {t}.access_token_id IS NULL AND $1 = $1",
                        Some(now),
                    ),
                    ClearStep::ExpiredRefreshTokens => (
                        "oauth2_provider_refreshtoken",
                        "{t}.revoked IS NULL AND EXISTS (SELECT 1 FROM oauth2_provider_accesstoken a \
                         WHERE a.id = {t}.access_token_id AND a.expires <= $1)",
                        plan.refresh_expire_at.map(to_db),
                    ),
                    ClearStep::AccessTokens => (
                        "oauth2_provider_accesstoken",
                        "{t}.expires < $1 AND NOT EXISTS (SELECT 1 FROM oauth2_provider_refreshtoken r \
                         WHERE r.access_token_id = {t}.id)",
                        Some(now),
                    ),
                    ClearStep::IdTokens => (
                        "oauth2_provider_idtoken",
                        "{t}.expires < $1 AND NOT EXISTS (SELECT 1 FROM oauth2_provider_accesstoken a \
                         WHERE a.id_token_id = {t}.id)",
                        Some(now),
                    ),
                    ClearStep::Grants => ("oauth2_provider_grant", "{t}.expires < $1", Some(now)),
                    ClearStep::DeviceGrants => {
                        ("oauth2_provider_devicegrant", "{t}.expires < $1", Some(now))
                    }
                    ClearStep::Sessions => ("oauth_toolkit_session", "{t}.expires < $1", Some(now)),
                    ClearStep::ThrottleWindows => {
                        ("oauth_toolkit_throttle", "{t}.window_end <= $1", Some(now))
                    }
                };
                // A keyset walk in id order: the subquery finds the id of the `limit`-th match
                // above the cursor, and the DELETE takes the matches in that id range through
                // the primary key (an `id IN (subquery)` makes PostgreSQL scan the table).
                let sql = format!(
                    "DELETE FROM {table} WHERE {table}.id > $2 AND {table}.id <= \
                     (SELECT MAX(s.id) FROM (SELECT x.id FROM {table} x WHERE {inner} \
                      AND x.id > $2 ORDER BY x.id LIMIT $3) s) \
                     AND {outer} RETURNING id",
                    inner = condition.replace("{t}", "x"),
                    outer = condition.replace("{t}", table),
                );
                let Some(cutoff) = cutoff else {
                    return Ok((0, None));
                };
                let ids: Vec<i64> = sqlx::query_scalar(&sql)
                    .bind(cutoff)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(counted(&self.write))
                    .await
                    .map_err(map_err)?;
                Ok((ids.len() as u64, ids.into_iter().max()))
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query_scalar::<_, i32>("SELECT 1")
                    .fetch_one(counted(&self.read))
                    .await
                    .map(|_| ())
                    .map_err(map_err)
            }

            fn backend_name(&self) -> &'static str {
                $backend
            }

            async fn find_access_token_with_owners(
                &self,
                checksum: &str,
            ) -> Result<Option<AccessTokenWithOwners>, StoreError> {
                if unstorable(checksum) {
                    return Ok(None);
                }
                sqlx::query_as::<_, AccessTokenWithOwnersRow>(
                    "SELECT t.*, \
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
                     WHERE t.token_checksum = $1",
                )
                .bind(checksum)
                .fetch_optional(counted(&self.read))
                .await
                .map_err(map_err)?
                .map(AccessTokenWithOwners::try_from)
                .transpose()
            }
        }
        }
    };
}

pub(crate) use impl_sql_store;

/// The sqlx database type behind each store (for the macro's transaction helpers).
pub(crate) trait HasDb {
    type Db: sqlx::Database;
}

impl HasDb for crate::SqliteStore {
    type Db = sqlx::Sqlite;
}

impl HasDb for crate::PgStore {
    type Db = sqlx::Postgres;
}
