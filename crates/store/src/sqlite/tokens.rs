//! `TokenStore` on SQLite: issuance and rotation go to the writer, whose batches commit
//! concurrent issuances together.

use async_trait::async_trait;
use oauth_toolkit_core::models::*;
use oauth_toolkit_core::store::*;
use rusqlite::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::connection::Run;
use super::SqliteStore;
use crate::error::unstorable;
use crate::rows::{AccessTokenRow, RefreshTokenRow};
use crate::sql::tokens::*;
use crate::time_codec::to_db;

/// One INSERT of an access token.
pub(crate) fn insert_access_token(
    c: &Connection,
    t: NewAccessToken,
    now: OffsetDateTime,
) -> Result<AccessToken, StoreError> {
    c.one::<AccessTokenRow>(
        INSERT_ACCESS_TOKEN,
        &[
            &t.user_id,
            &t.source_refresh_token_id,
            &t.token,
            &t.token_checksum,
            &t.id_token_id,
            &t.application_id,
            &to_db(t.expires),
            &t.scope,
            &family(t.token_family),
            &t.resource,
            &to_db(now),
        ],
    )?
    .try_into()
}

/// One INSERT of a refresh token.
pub(crate) fn insert_refresh_token(
    c: &Connection,
    t: NewRefreshToken,
    access_token_id: Option<Id>,
    now: OffsetDateTime,
) -> Result<RefreshToken, StoreError> {
    c.one::<RefreshTokenRow>(
        INSERT_REFRESH_TOKEN,
        &[
            &t.user_id,
            &t.token,
            &t.token_checksum,
            &t.application_id,
            &access_token_id,
            &family(t.token_family),
            &t.resource,
            &to_db(now),
        ],
    )?
    .try_into()
}

fn issue(
    c: &Connection,
    pair: NewTokenPair,
    now: OffsetDateTime,
) -> Result<IssuedTokens, StoreError> {
    let at = insert_access_token(c, pair.access, now)?;
    let rt = match pair.refresh {
        Some(refresh) => Some(insert_refresh_token(c, refresh, Some(at.id), now)?),
        None => None,
    };
    Ok((at, rt))
}

fn rotate(
    c: &Connection,
    old_refresh_id: Id,
    old_access_id: Id,
    pair: NewTokenPair,
    now: OffsetDateTime,
) -> Result<Rotation, StoreError> {
    let Some(refresh) = pair.refresh else {
        return Err(StoreError::Backend(
            "rotation without a new refresh token".into(),
        ));
    };
    // The conditional UPDATE is the single-use gate: a second rotation finds `revoked` set.
    let claimed = c.scalar::<Id>(
        CLAIM_REFRESH_TOKEN_FOR_ROTATION,
        &[&old_refresh_id, &to_db(now), &old_access_id],
    )?;
    if claimed.is_none() {
        let existing = c
            .opt::<RefreshTokenRow>(SELECT_REFRESH_TOKEN, &[&old_refresh_id])?
            .map(RefreshToken::try_from)
            .transpose()?;
        return Ok(match existing {
            Some(rt) if rt.is_revoked() => Rotation::AlreadyRevoked,
            _ => Rotation::Missing,
        });
    }
    let a = pair.access;
    let Some(at) = c.opt::<AccessTokenRow>(
        TAKE_OVER_ACCESS_TOKEN,
        &[
            &old_access_id,
            &a.token,
            &a.token_checksum,
            &a.id_token_id,
            &to_db(a.expires),
            &a.scope,
            &old_refresh_id,
            &to_db(now),
            &a.resource,
        ],
    )?
    else {
        // Cannot happen while the claim holds (deleting the access token would have unbound
        // the refresh token); undone by the writer if it does.
        return Err(StoreError::MissingReference(
            "the refresh token's access token".into(),
        ));
    };
    let at = AccessToken::try_from(at)?;
    let rt = insert_refresh_token(c, refresh, Some(at.id), now)?;
    Ok(Rotation::Rotated(Box::new((at, rt))))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn issue_tokens(
        &self,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, StoreError> {
        if pair.refresh.is_none() {
            self.write(move |c| issue(c, pair, now)).await
        } else {
            self.write_all(move |c| issue(c, pair, now)).await
        }
    }

    async fn rotate_refresh_token(
        &self,
        old_refresh_id: Id,
        old_access_id: Id,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError> {
        match self
            .write_all(move |c| rotate(c, old_refresh_id, old_access_id, pair, now))
            .await
        {
            // A row it needed went away (undone as a whole): the token is gone.
            Err(StoreError::MissingReference(_)) => Ok(Rotation::Missing),
            other => other,
        }
    }

    async fn replace_access_token(
        &self,
        access_token_id: Id,
        token: &str,
        token_checksum: &str,
        expires: OffsetDateTime,
        scope: &str,
        resource: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AccessToken>, StoreError> {
        let (token, token_checksum, scope, resource) = (
            token.to_string(),
            token_checksum.to_string(),
            scope.to_string(),
            resource.to_string(),
        );
        self.write(move |c| {
            c.opt::<AccessTokenRow>(
                REPLACE_ACCESS_TOKEN,
                &[
                    &access_token_id,
                    &token,
                    &token_checksum,
                    &to_db(expires),
                    &scope,
                    &to_db(now),
                    &resource,
                ],
            )
        })
        .await?
        .map(AccessToken::try_from)
        .transpose()
    }

    async fn find_access_token_by_source(
        &self,
        refresh_token_id: Id,
    ) -> Result<Option<AccessToken>, StoreError> {
        self.read(move |c| {
            c.opt::<AccessTokenRow>(SELECT_ACCESS_TOKEN_BY_SOURCE, &[&refresh_token_id])
        })
        .await?
        .map(AccessToken::try_from)
        .transpose()
    }

    async fn find_refresh_token_by_access_token(
        &self,
        access_token_id: Id,
    ) -> Result<Option<RefreshToken>, StoreError> {
        self.read(move |c| {
            c.opt::<RefreshTokenRow>(SELECT_REFRESH_TOKEN_BY_ACCESS_TOKEN, &[&access_token_id])
        })
        .await?
        .map(RefreshToken::try_from)
        .transpose()
    }

    async fn list_live_access_tokens(
        &self,
        user_id: Id,
        application_id: Id,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessToken>, StoreError> {
        self.scan(move |c| {
            c.all::<AccessTokenRow>(
                LIST_LIVE_ACCESS_TOKENS,
                &[&user_id, &application_id, &to_db(now)],
            )
        })
        .await?
        .into_iter()
        .map(AccessToken::try_from)
        .collect()
    }

    async fn create_access_token(
        &self,
        t: NewAccessToken,
        now: OffsetDateTime,
    ) -> Result<AccessToken, StoreError> {
        self.write(move |c| insert_access_token(c, t, now)).await
    }

    async fn get_access_token(&self, id: Id) -> Result<Option<AccessToken>, StoreError> {
        self.read(move |c| c.opt::<AccessTokenRow>(SELECT_ACCESS_TOKEN, &[&id]))
            .await?
            .map(AccessToken::try_from)
            .transpose()
    }

    async fn find_access_token(&self, checksum: &str) -> Result<Option<AccessToken>, StoreError> {
        if unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.read(move |c| c.opt::<AccessTokenRow>(SELECT_ACCESS_TOKEN_BY_CHECKSUM, &[&checksum]))
            .await?
            .map(AccessToken::try_from)
            .transpose()
    }

    async fn list_access_tokens_for_user(
        &self,
        user_id: Id,
    ) -> Result<Vec<AccessToken>, StoreError> {
        self.scan(move |c| c.all::<AccessTokenRow>(LIST_ACCESS_TOKENS_FOR_USER, &[&user_id]))
            .await?
            .into_iter()
            .map(AccessToken::try_from)
            .collect()
    }

    async fn delete_access_token(&self, id: Id) -> Result<bool, StoreError> {
        self.write(move |c| c.exec(DELETE_ACCESS_TOKEN, &[&id]))
            .await
            .map(|n| n > 0)
    }

    async fn revoke_access_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write_all(move |c| {
            c.exec(REVOKE_REFRESH_TOKENS_OF_ACCESS_TOKEN, &[&id, &to_db(now)])?;
            // ON DELETE SET NULL unbinds the refresh token.
            c.exec(DELETE_ACCESS_TOKEN, &[&id])
        })
        .await
        .map(|n| n > 0)
    }

    async fn create_refresh_token(
        &self,
        t: NewRefreshToken,
        now: OffsetDateTime,
    ) -> Result<RefreshToken, StoreError> {
        let access_token_id = t.access_token_id;
        self.write(move |c| insert_refresh_token(c, t, access_token_id, now))
            .await
    }

    async fn get_refresh_token(&self, id: Id) -> Result<Option<RefreshToken>, StoreError> {
        self.read(move |c| c.opt::<RefreshTokenRow>(SELECT_REFRESH_TOKEN, &[&id]))
            .await?
            .map(RefreshToken::try_from)
            .transpose()
    }

    async fn find_refresh_token(&self, checksum: &str) -> Result<Option<RefreshToken>, StoreError> {
        if unstorable(checksum) {
            return Ok(None);
        }
        let checksum = checksum.to_string();
        self.read(move |c| c.opt::<RefreshTokenRow>(SELECT_REFRESH_TOKEN_BY_CHECKSUM, &[&checksum]))
            .await?
            .map(RefreshToken::try_from)
            .transpose()
    }

    async fn set_refresh_token_access_token(
        &self,
        id: Id,
        access_token_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(move |c| {
            c.exec(
                SET_REFRESH_TOKEN_ACCESS_TOKEN,
                &[&id, &access_token_id, &to_db(now)],
            )
        })
        .await
        .map(|_| ())
    }

    async fn revoke_refresh_token(&self, id: Id, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write_all(move |c| {
            // The conditional UPDATE is the lock: a second revoker finds `revoked` set.
            // The outer `None`: no row claimed; the inner one: a token bound to none.
            let Some(access_token) =
                c.scalar::<Option<Id>>(REVOKE_REFRESH_TOKEN_ONCE, &[&id, &to_db(now)])?
            else {
                return Ok(false);
            };
            if let Some(at) = access_token {
                c.exec(DELETE_ACCESS_TOKEN, &[&at])?;
            }
            Ok(true)
        })
        .await
    }

    async fn claim_refresh_token(
        &self,
        id: Id,
        now: OffsetDateTime,
    ) -> Result<Consumed<RefreshToken>, StoreError> {
        let (taken, existing) = self
            .write(move |c| {
                let taken = c.opt::<RefreshTokenRow>(CLAIM_REFRESH_TOKEN, &[&id, &to_db(now)])?;
                if taken.is_some() {
                    return Ok((taken, None));
                }
                Ok((
                    None,
                    c.opt::<RefreshTokenRow>(SELECT_REFRESH_TOKEN, &[&id])?,
                ))
            })
            .await?;
        if let Some(row) = taken {
            return Ok(Consumed::Now(row.try_into()?));
        }
        Ok(match existing {
            Some(row) => Consumed::Already(row.try_into()?),
            None => Consumed::Missing,
        })
    }

    async fn revoke_token_family(&self, f: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
        let f = f.hyphenated().to_string();
        self.write_all(move |c| {
            c.exec(DELETE_FAMILY_ID_TOKENS, &[&f])?;
            c.exec(DELETE_FAMILY_ACCESS_TOKENS, &[&f])?;
            c.exec(REVOKE_FAMILY_REFRESH_TOKENS, &[&f, &to_db(now)])
        })
        .await
        .map(|n| n as u64)
    }
}
