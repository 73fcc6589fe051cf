//! `IdTokenStore` on SQLite, and the ID token INSERT that a redemption runs in its transaction.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use rusqlite::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::connection::Run;
use super::SqliteStore;
use crate::rows::IdTokenRow;
use crate::sql::id_tokens::*;
use crate::time_codec::to_db;

/// One INSERT of an ID token record, on the writer's connection (alone, or inside the
/// transaction of a redemption).
pub(super) fn insert_id_token(
    c: &Connection,
    t: NewIdToken,
    now: OffsetDateTime,
) -> Result<IdToken, StoreError> {
    c.one::<IdTokenRow>(
        INSERT_ID_TOKEN,
        &[
            &t.user_id,
            &t.application_id,
            &t.jti.hyphenated().to_string(),
            &to_db(t.expires),
            &t.scope,
            &to_db(now),
            &t.auth_time.map(to_db),
            &t.sid,
            &t.claims,
        ],
    )?
    .try_into()
}

#[async_trait]
impl IdTokenStore for SqliteStore {
    async fn create_id_token(
        &self,
        t: NewIdToken,
        now: OffsetDateTime,
    ) -> Result<IdToken, StoreError> {
        self.write(move |c| insert_id_token(c, t, now)).await
    }

    async fn find_id_token_by_jti(&self, jti: Uuid) -> Result<Option<IdToken>, StoreError> {
        let jti = jti.hyphenated().to_string();
        self.read(move |c| c.opt::<IdTokenRow>(SELECT_ID_TOKEN_BY_JTI, &[&jti]))
            .await?
            .map(IdToken::try_from)
            .transpose()
    }

    async fn list_live_id_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<IdToken>, StoreError> {
        self.scan(move |c| {
            c.all::<IdTokenRow>(
                LIST_LIVE_ID_TOKENS,
                &[&user_id, &application_id, &to_db(now)],
            )
        })
        .await?
        .into_iter()
        .map(IdToken::try_from)
        .collect()
    }

    async fn get_id_token(&self, id: Id) -> Result<Option<IdToken>, StoreError> {
        self.read(move |c| c.opt::<IdTokenRow>(SELECT_ID_TOKEN, &[&id]))
            .await?
            .map(IdToken::try_from)
            .transpose()
    }

    async fn delete_user_tokens_for_application(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let deleted = self
            .write_all(move |c| {
                c.exec(
                    REVOKE_USER_REFRESH_TOKENS_FOR_APPLICATION,
                    &[&user_id, &application_id, &to_db(now)],
                )?;
                let deleted = c.exec(
                    DELETE_USER_ACCESS_TOKENS_FOR_APPLICATION,
                    &[&user_id, &application_id],
                )?;
                c.exec(
                    DELETE_USER_ID_TOKENS_FOR_APPLICATION,
                    &[&user_id, &application_id],
                )?;
                Ok(deleted)
            })
            .await?;
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }

    async fn delete_id_token(&self, id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(DELETE_ID_TOKEN, &[&id]))
            .await
            .map(|n| n > 0)
    }
}
